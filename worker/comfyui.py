"""ComfyUI's HTTP API over urllib: one method per endpoint (the job's and the preflight's), connection
failures as ComfyUnreachable."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable, Mapping

from engine.comfy.node_errors import ParametersFor, format_rejection
from engine.errors import ComfyFailed, ComfyRejected, ComfyUnreachable

# ComfyUI runs beside the worker: never send its traffic through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_CHUNK = 1 << 20
OBJECT_INFO_TIMEOUT_S = 120.0
"""ComfyUI builds /object_info on first request (every node class): allow it time on a cold start."""


class ComfyClient:
    """Client for one ComfyUI server (base URL like http://127.0.0.1:8188)."""

    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _open(self, method: str, path: str, body: bytes | None = None,
              headers: Mapping[str, str] | None = None, timeout: float | None = None):
        """Send one request; HTTP error statuses come back as responses, dead servers as ComfyUnreachable."""
        request = urllib.request.Request(self.base_url + path, data=body, method=method,
                                         headers=dict(headers or {}))
        try:
            return _OPENER.open(request, timeout=self.timeout if timeout is None else timeout)
        except urllib.error.HTTPError as err:
            return err
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            reason = getattr(err, "reason", None) or err
            raise ComfyUnreachable(f"ComfyUI is not reachable at {self.base_url}: {reason}") from None

    def _call(self, method: str, path: str, payload: Any = None, *, body: bytes | None = None,
              headers: Mapping[str, str] | None = None, timeout: float | None = None) -> tuple[int, Any]:
        """Request and read the whole answer: (status, parsed JSON or text)."""
        if payload is not None:
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json"}
        try:
            with self._open(method, path, body, headers, timeout) as response:
                status, raw = response.status, response.read()
        except (OSError, http.client.HTTPException) as err:
            raise ComfyUnreachable(f"ComfyUI is not reachable at {self.base_url}: {err}") from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def _expect_ok(self, what: str, status: int, answer: Any) -> Any:
        """Fail with a clear message when an endpoint that should answer 200 did not."""
        if status != 200:
            text = " ".join(str(answer).split())[:300]
            raise ComfyFailed(f"ComfyUI {what} failed (HTTP {status}): {text}")
        return answer

    def system_stats(self, timeout: float | None = None) -> dict:
        """GET /system_stats: the liveness probe (raises ComfyUnreachable when dead)."""
        return self._expect_ok("system_stats", *self._call("GET", "/system_stats", timeout=timeout))

    def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        """POST /upload/image; returns the reference ComfyUI answered ('name' or 'subfolder/name')."""
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode(),
            data,
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\ninput'
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\nfalse'
            f"\r\n--{boundary}--\r\n".encode(),
        ]
        status, answer = self._call("POST", "/upload/image", body=b"".join(parts),
                                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        answer = self._expect_ok("image upload", status, answer)
        if not isinstance(answer, dict) or not answer.get("name"):
            raise ComfyFailed(f"ComfyUI image upload answered without a file name: {answer!r}")
        subfolder = answer.get("subfolder") or ""
        return f"{subfolder}/{answer['name']}" if subfolder else answer["name"]

    def queue_prompt(self, graph: Mapping[str, Any], client_id: str, prompt_id: str,
                     parameters_for: ParametersFor | None = None) -> dict:
        """POST /prompt; a 400 or a 200 with node_errors raises ComfyRejected with one line per node."""
        status, answer = self._call("POST", "/prompt",
                                    {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id})
        if status == 200 and isinstance(answer, dict) and answer.get("node_errors"):
            # ComfyUI queued the valid outputs anyway: take the prompt back so it neither runs nor writes files.
            self.take_back(prompt_id)
        if status != 200 or not isinstance(answer, dict) or answer.get("node_errors"):
            raise ComfyRejected(format_rejection(status, answer, graph, parameters_for))
        return answer

    def history(self, prompt_id: str) -> dict | None:
        """GET /history/{id}: the prompt's entry once it finished, else None."""
        answer = self._expect_ok("history", *self._call("GET", f"/history/{urllib.parse.quote(prompt_id)}"))
        return (answer or {}).get(prompt_id)

    def in_queue(self, prompt_id: str) -> bool:
        """GET /queue: is the prompt still running or pending?"""
        answer = self._expect_ok("queue", *self._call("GET", "/queue")) or {}
        entries = (answer.get("queue_running") or []) + (answer.get("queue_pending") or [])
        return any(len(entry) > 1 and entry[1] == prompt_id for entry in entries)

    def interrupt(self, prompt_id: str) -> None:
        """POST /interrupt for this prompt only (takes effect at the next node boundary or step)."""
        self._expect_ok("interrupt", *self._call("POST", "/interrupt", {"prompt_id": prompt_id}))

    def delete_from_queue(self, prompt_ids: list[str]) -> None:
        """POST /queue {"delete": ids}: drop prompts that have not started."""
        self._expect_ok("queue delete", *self._call("POST", "/queue", {"delete": prompt_ids}))

    def take_back(self, prompt_id: str) -> None:
        """Stop one prompt whatever its state: drop it from the pending queue, interrupt it if it runs."""
        self.delete_from_queue([prompt_id])
        self.interrupt(prompt_id)

    def object_info(self) -> dict[str, Any]:
        """GET /object_info: every node class with its inputs, as this ComfyUI sees them."""
        status, answer = self._call("GET", "/object_info", timeout=OBJECT_INFO_TIMEOUT_S)
        answer = self._expect_ok("object_info", status, answer)
        if not isinstance(answer, dict):
            raise ComfyFailed(f"ComfyUI /object_info answered {type(answer).__name__}, not a node catalogue")
        return answer

    def model_files(self, folder: str) -> set[str] | None:
        """GET /models/{folder}: the files ComfyUI can load from it; None if ComfyUI has no such folder."""
        status, answer = self._call("GET", f"/models/{urllib.parse.quote(folder)}")
        if status == 404:
            return None
        answer = self._expect_ok(f"models/{folder}", status, answer)
        return {str(name) for name in answer or []}

    def view_to_file(self, filename: str, subfolder: str, folder_type: str, destination: str) -> int:
        """GET /view streamed into ``destination`` (for a ComfyUI on another machine); returns bytes written."""
        query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": folder_type})
        try:
            with self._open("GET", f"/view?{query}", timeout=self.timeout) as response:
                if response.status != 200:
                    raise ComfyFailed(f"ComfyUI has no output file {filename!r} (HTTP {response.status} from /view)")
                with open(destination, "wb") as out:
                    shutil.copyfileobj(response, out, _CHUNK)
                    return out.tell()
        except (socket.timeout, http.client.HTTPException, ConnectionError) as err:
            raise ComfyUnreachable(f"ComfyUI stopped answering while sending {filename!r}: {err}") from None

    def ws_url(self, client_id: str) -> str:
        """The websocket address for this client id (ws:// or wss:// matching the HTTP scheme)."""
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        return f"{scheme}://{self.base_url.split('://', 1)[1]}/ws?clientId={urllib.parse.quote(client_id)}"


def wait_ready(client: ComfyClient, timeout_s: float, *, poll_s: float = 0.5,
               still_starting: Callable[[], None] = lambda: None) -> bool:
    """Poll GET /system_stats until ComfyUI answers (True) or ``timeout_s`` passes (False).

    ``still_starting`` runs before each try and may raise to stop waiting (ComfyUI's process exited).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        still_starting()
        try:
            client.system_stats(timeout=2.0)
            return True
        except (ComfyUnreachable, ComfyFailed):
            if time.monotonic() > deadline:
                return False
            time.sleep(poll_s)
