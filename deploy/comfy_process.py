"""ComfyUI as the worker's child process: its command line, its log copied into ours, and how to stop it."""

from __future__ import annotations

import collections
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Sequence

from engine.errors import DeployError

from .config import StartConfig

log = logging.getLogger("start")

TAIL_LINES = 40


def comfy_command(config: StartConfig, url: str) -> list[str]:
    """ComfyUI's command line: loopback only, no browser, quiet unless asked, the model-paths file, no custom nodes."""
    port = urllib.parse.urlsplit(url).port or 8188
    command = [config.comfyui_python, str(config.comfyui_dir / "main.py"), "--listen", "127.0.0.1",
               "--port", str(port), "--disable-auto-launch", "--disable-all-custom-nodes",
               "--verbose", config.comfyui_log_level]
    if config.extra_model_paths.is_file():
        command += ["--extra-model-paths-config", str(config.extra_model_paths)]
    return command + list(config.comfyui_args)


class ComfyProcess:
    """ComfyUI as a child process; its output goes into the worker's log, the last lines kept for errors."""

    def __init__(self, command: Sequence[str], cwd: Path):
        self.command = list(command)
        self.cwd = cwd
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.process: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        """Launch ComfyUI in its own process group, with stdout and stderr copied to ours."""
        main = Path(self.command[1]) if len(self.command) > 1 else self.cwd / "main.py"
        if not main.is_file():
            raise DeployError(f"no ComfyUI at {self.cwd} ({main} is missing): set COMFYUI_DIR to a ComfyUI "
                              "checkout (the image has it at /comfyui)")
        log.info("starting ComfyUI: %s", shlex.join(self.command))
        try:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True, errors="replace",
                                            start_new_session=True)
        except OSError as err:
            raise DeployError(f"cannot start ComfyUI with {self.command[0]} ({err.strerror}): set COMFYUI_PYTHON "
                              "to the python of ComfyUI's environment") from None
        self._pump = threading.Thread(target=self._copy_output, name="comfyui-log", daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            sys.stdout.write(f"comfyui | {line}\n")
            sys.stdout.flush()

    def exit_code(self) -> int | None:
        """ComfyUI's exit code, or None while it runs."""
        return None if self.process is None else self.process.poll()

    def last_lines(self) -> str:
        """The tail of ComfyUI's log, indented, once its output has been read."""
        if self._pump is not None and self.exit_code() is not None:
            self._pump.join(timeout=2)
        return "\n".join(f"    {line}" for line in self.tail) or "    (no output)"

    def stop(self, grace_s: float = 10.0) -> None:
        """Terminate ComfyUI's process group, killing it after ``grace_s``."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def check_running(self) -> None:
        """Raise DeployError, with the tail of ComfyUI's log, if ComfyUI has exited."""
        code = self.exit_code()
        if code is not None:
            raise DeployError(f"ComfyUI exited with code {code} during start-up; last lines of its log:\n"
                              f"{self.last_lines()}")
