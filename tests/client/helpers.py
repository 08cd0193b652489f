"""Running the client as a caller does (``python -m client`` in a subprocess, also under a pseudo-terminal),
and the worker as RunPod runs it (the SDK's job loop against the fake) or as a developer does (the local API)."""

from __future__ import annotations

import base64
import fcntl
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path
from typing import Any, Mapping

from tests.support import ROOT, free_port, wait_until  # noqa: F401  (re-exported for the client tests)

PY = sys.executable
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64
"""A small 'video' for scripted results (the client writes bytes, it does not decode them)."""
WAIT_S = 60.0
"""Upper bound for anything a test waits on: only a hang reaches it, and the test then fails."""


def clean_env(**extra: Any) -> dict[str, str]:
    """This process's environment without RunPod, ComfyUI or bucket settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "BUCKET_", "COMFYUI_"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def run_cli(*args: str, env: Mapping[str, str] | None = None, timeout: float = WAIT_S) -> subprocess.CompletedProcess:
    """``python -m client ARGS`` to its end, stdout and stderr captured (stderr is not a terminal: no bar)."""
    return subprocess.run([PY, "-m", "client", *args], cwd=ROOT, env=dict(env or clean_env()), capture_output=True,
                          text=True, timeout=timeout, check=False)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


class PtyRun:
    """``python -m client ARGS`` with stderr on a pseudo-terminal (100 columns), as in a caller's terminal.

    ``screen`` is everything written to the terminal so far; stdout is a pipe (the metadata JSON)."""

    def __init__(self, *args: str, env: Mapping[str, str]):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.proc = subprocess.Popen([PY, "-m", "client", *args], cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        self._master = master
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 4096)
            except OSError:  # EIO: the child closed the terminal's last descriptor
                return
            if not data:
                return
            self._chunks.append(data)

    @property
    def screen(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")

    def wait_for(self, text: str) -> None:
        wait_until(lambda: text in self.screen or self.proc.poll() is not None, f"{text!r} on the terminal")
        assert text in self.screen, f"the client ended ({self.proc.returncode}) without showing {text!r}:\n{self.screen}"

    def interrupt(self) -> None:
        """Ctrl-C: SIGINT to the client."""
        self.proc.send_signal(signal.SIGINT)

    def finish(self) -> tuple[int, str, str]:
        """(exit status, stdout, terminal text) once the client has ended."""
        stdout, _ = self.proc.communicate(timeout=WAIT_S)
        self._reader.join(WAIT_S)
        os.close(self._master)
        return self.proc.returncode, stdout.decode(), self.screen

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Process:
    """A worker process (``python handler.py ...``) with its log in a file; stopped on exit."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen([PY, "handler.py", *args], cwd=ROOT, env=dict(env), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:  # uvicorn waits for a request that is still running a job
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def comfy_env(url: str, input_dir: Path | str, output_dir: Path | str, **extra: Any) -> dict[str, str]:
    """The worker's settings for one ComfyUI, quick to notice trouble in tests."""
    return {"COMFYUI_URL": url, "COMFYUI_INPUT_DIR": str(input_dir), "COMFYUI_OUTPUT_DIR": str(output_dir),
            "JOB_TIMEOUT_S": "60", "HISTORY_POLL_S": "0.2", "PROGRESS_INTERVAL_S": "0.05",
            "COMFYUI_READY_TIMEOUT_S": "30", **{k: str(v) for k, v in extra.items()}}


SKIP_MACHINE_CHECKS = {"RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true", "RUNPOD_SKIP_GPU_CHECK": "true"}
"""The SDK's own start-up checks of the machine (memory, disk, internet, GPU): not this machine's business.
The worker's fitness check (ComfyUI answers) still runs."""


def sdk_worker(runpod, worker_settings: Mapping[str, str], log_path: Path) -> Process:
    """``python handler.py`` as on RunPod: the SDK's production job loop, taking jobs from the fake."""
    return Process([], clean_env(**worker_settings, **runpod.worker_env(), **SKIP_MACHINE_CHECKS), log_path)


def local_api(worker_settings: Mapping[str, str], log_path: Path) -> tuple[Process, str]:
    """``python handler.py --rp_serve_api`` on a free port, once it accepts connections; (process, its URL)."""
    port = free_port()
    process = Process(["--rp_serve_api", "--rp_api_host", "127.0.0.1", "--rp_api_port", str(port)],
                      clean_env(**worker_settings), log_path)

    def accepts() -> bool:
        assert process.alive(), f"the local API exited:\n{process.log()}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_until(accepts, "the local API to accept connections")
    return process, f"http://127.0.0.1:{port}"
