"""Helpers for tests against a real ComfyUI: a small HTTP client, a private ComfyUI process, files.

``ComfyHTTP`` talks to any ComfyUI (the shared test server or a private one). ``PrivateComfyUI``
starts its own ComfyUI process from an existing install, on a free loopback port with its own
base/input/output/temp/user directories, so tests may kill, freeze or restart it without touching a
server others use.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.support import free_port

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ComfyHTTP:
    """Just enough of ComfyUI's HTTP API for the tests (JSON in, JSON out)."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, payload: Any = None, *, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> tuple[int, Any]:
        if payload is not None:
            body, headers = json.dumps(payload).encode(), {"Content-Type": "application/json"}
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with _OPENER.open(req, timeout=timeout or self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def get(self, path: str, **kw: Any) -> Any:
        status, answer = self.request("GET", path, **kw)
        assert status == 200, f"GET {path}: HTTP {status}: {answer}"
        return answer

    def post(self, path: str, payload: Any, **kw: Any) -> Any:
        status, answer = self.request("POST", path, payload, **kw)
        assert status == 200, f"POST {path}: HTTP {status}: {answer}"
        return answer

    def alive(self, timeout: float = 2.0) -> bool:
        try:
            return self.request("GET", "/system_stats", timeout=timeout)[0] == 200
        except OSError:
            return False

    # prompts and the queue

    def post_prompt(self, graph: dict, prompt_id: str | None = None, client_id: str | None = None) -> tuple[int, Any]:
        """POST /prompt with our own prompt id: (status, answer)."""
        payload = {"prompt": graph, "prompt_id": prompt_id or str(uuid.uuid4())}
        if client_id:
            payload["client_id"] = client_id
        return self.request("POST", "/prompt", payload)

    def queue(self) -> tuple[list, list]:
        """(running, pending) entries of GET /queue: [number, prompt_id, graph, extra_data, outputs]."""
        answer = self.get("/queue") or {}
        return list(answer.get("queue_running") or []), list(answer.get("queue_pending") or [])

    def queued_ids(self) -> tuple[set[str], set[str]]:
        running, pending = self.queue()
        return {e[1] for e in running}, {e[1] for e in pending}

    def prompts_marked(self, marker: str) -> tuple[set[str], set[str]]:
        """(running, pending) prompt ids whose graph mentions ``marker`` (e.g. a job id in a file prefix)."""
        running, pending = self.queue()

        def marked(entries: list) -> set[str]:
            return {e[1] for e in entries if len(e) > 2 and marker in json.dumps(e[2])}
        return marked(running), marked(pending)

    def history(self, prompt_id: str) -> dict | None:
        return (self.get(f"/history/{urllib.parse.quote(prompt_id)}") or {}).get(prompt_id)

    def recent_history(self, max_items: int = 200) -> dict:
        return self.get(f"/history?max_items={max_items}") or {}

    def cancel(self, prompt_id: str) -> bool:
        """POST /api/jobs/{id}/cancel: dequeue if pending, interrupt if running; True if it did either."""
        return bool((self.post(f"/api/jobs/{prompt_id}/cancel", {}) or {}).get("cancelled"))

    def delete_history(self, prompt_ids: Iterable[str]) -> None:
        ids = list(prompt_ids)
        if ids:
            self.post("/history", {"delete": ids})

    def wait_gone(self, prompt_ids: Iterable[str], timeout: float) -> set[str]:
        """Wait until none of the prompts is running or pending; returns those still there at the end."""
        ids = set(prompt_ids)
        stop = time.monotonic() + timeout
        while True:
            running, pending = self.queued_ids()
            left = ids & (running | pending)
            if not left or time.monotonic() >= stop:
                return left
            time.sleep(0.1)

    def upload_image(self, data: bytes, name: str) -> str:
        """POST /upload/image (type input, no overwrite); the name ComfyUI stored it under."""
        boundary = uuid.uuid4().hex
        body = b"".join([
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'
            "Content-Type: image/png\r\n\r\n".encode(), data,
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ninput'
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\nfalse'
            f"\r\n--{boundary}--\r\n".encode(),
        ])
        status, answer = self.request("POST", "/upload/image", body=body,
                                      headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert status == 200 and isinstance(answer, dict), f"upload failed: HTTP {status}: {answer}"
        return f"{answer['subfolder']}/{answer['name']}" if answer.get("subfolder") else answer["name"]


def files_in(*directories: Path | str) -> set[str]:
    """The path of every file under the directories."""
    found = set()
    for directory in directories:
        root = Path(directory)
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if path.is_file() or path.is_symlink():
                found.add(str(path))
    return found


def comfy_python(comfy_dir: Path) -> Path:
    """The python that runs ComfyUI: COMFYUI_TEST_PYTHON, else <COMFYUI_TEST_DIR>/../venv/bin/python."""
    configured = os.environ.get("COMFYUI_TEST_PYTHON", "").strip()
    if configured:
        path = Path(configured)
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"COMFYUI_TEST_PYTHON={configured} is not an executable python")
        return path
    guess = comfy_dir.parent / "venv" / "bin" / "python"
    if os.access(guess, os.X_OK):
        return guess
    raise RuntimeError(f"no python to start a private ComfyUI from {comfy_dir}: set COMFYUI_TEST_PYTHON to the "
                       f"python of that install ({guess} does not exist)")


class PrivateComfyUI:
    """A ComfyUI process of the tests' own, from the install at ``comfy_dir`` (its main.py).

    It listens on its own free loopback port and keeps models, input, output, temp and user files in
    its own temporary directory, so it can be killed, frozen or restarted freely.
    """

    def __init__(self, comfy_dir: Path, python: Path, start_timeout: float = 120.0):
        self.comfy_dir = Path(comfy_dir)
        self.python = Path(python)
        self.start_timeout = start_timeout
        self.root = Path(tempfile.mkdtemp(prefix="private-comfyui-"))
        self.input_dir, self.output_dir = self.root / "input", self.root / "output"
        for name in ("input", "output", "temp", "user", "models", "custom_nodes"):
            (self.root / name).mkdir()
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.leftovers_expected = False
        """Set by a test after which files in its input/output are not the worker's fault (a frozen server)."""
        self.log_path = self.root / "comfyui.log"
        self.http = ComfyHTTP(self.url)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start on the same port as before and wait until /system_stats answers."""
        assert not self.running(), "private ComfyUI is already running"
        args = [str(self.python), str(self.comfy_dir / "main.py"), "--cpu", "--listen", "127.0.0.1",
                "--port", str(self.port), "--disable-auto-launch", "--disable-all-custom-nodes",
                "--base-directory", str(self.root), "--input-directory", str(self.input_dir),
                "--output-directory", str(self.output_dir), "--temp-directory", str(self.root / "temp"),
                "--user-directory", str(self.root / "user"), "--database-url", "sqlite:///:memory:"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, cwd=self.comfy_dir, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.starts += 1
        stop = time.monotonic() + self.start_timeout
        while not self.http.alive(timeout=2.0):
            if self.process.poll() is not None:
                raise RuntimeError(f"private ComfyUI exited with {self.process.returncode}; log:\n{self.log_tail()}")
            if time.monotonic() > stop:
                self.kill()
                raise RuntimeError(f"private ComfyUI did not answer within {self.start_timeout:g} s; "
                                   f"log:\n{self.log_tail()}")
            time.sleep(0.3)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def signal(self, sig: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, sig)

    def freeze(self) -> None:
        self.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL (after SIGCONT, in case it is frozen) and reap it."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.kill(self.process.pid, signal.SIGCONT)
            os.kill(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit in 10 s."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass

    def restart(self) -> None:
        self.stop()
        self.start()

    def ensure_running(self) -> None:
        """Start it if it is not running or no longer answers (a test killed or wedged it)."""
        if self.running() and self.http.alive(timeout=5.0):
            return
        self.kill()
        self.start()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)
