"""ComfyUI's HTTP API and websocket over aiohttp: one coroutine per endpoint (the job's and the
preflight's), connection failures as ComfyUnreachable.

Async so that every wait can be cancelled where it stands: a RunPod cancel or the job's deadline
(``asyncio.timeout`` around the job) interrupts an HTTP call or a websocket read at once, instead
of waiting for it to time out. aiohttp is already installed by the runpod SDK.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Mapping

import aiohttp

from engine.comfy.node_errors import ParametersFor, format_rejection
from engine.errors import ComfyFailed, ComfyRejected, ComfyUnreachable

_CHUNK = 1 << 20
OBJECT_INFO_TIMEOUT_S = 120.0
"""ComfyUI builds /object_info on first request (every node class): allow it time on a cold start."""


class ComfyClient:
    """Client for one ComfyUI server (base URL like http://127.0.0.1:8188) over one aiohttp session."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.timeout = timeout

    @classmethod
    @asynccontextmanager
    async def open(cls, base_url: str, timeout: float = 10.0) -> AsyncIterator["ComfyClient"]:
        """A client with its own session; ComfyUI runs beside the worker, so no proxy from the environment,
        and the system resolver (aiohttp's c-ares one costs 0.15 ms per session for an address it never looks up)."""
        connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
        async with aiohttp.ClientSession(trust_env=False, connector=connector) as session:
            yield cls(base_url, session, timeout)

    def _unreachable(self, err: BaseException, timeout: float | None = None) -> ComfyUnreachable:
        """The caller's line for a failed call: the OS's words for a refused connection, the limit for a timeout."""
        cause = getattr(err, "os_error", None)
        if isinstance(cause, OSError) and cause.errno:
            reason = f"[Errno {cause.errno}] {os.strerror(cause.errno)}"
        elif isinstance(err, asyncio.TimeoutError):
            reason = f"no answer within {timeout if timeout is not None else self.timeout:g} s (COMFYUI_HTTP_TIMEOUT_S)"
        else:
            reason = " ".join(str(err).split()) or type(err).__name__
        return ComfyUnreachable(f"ComfyUI is not reachable at {self.base_url}: {reason}")

    async def _call(self, method: str, path: str, payload: Any = None, *, data: Any = None,
                    timeout: float | None = None) -> tuple[int, Any]:
        """Request and read the whole answer: (status, parsed JSON or text); dead servers as ComfyUnreachable."""
        limit = aiohttp.ClientTimeout(total=self.timeout if timeout is None else timeout)
        try:
            async with self.session.request(method, self.base_url + path, json=payload, data=data,
                                            timeout=limit) as response:
                status, raw = response.status, await response.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            raise self._unreachable(err, timeout) from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    @staticmethod
    def _expect_ok(what: str, status: int, answer: Any) -> Any:
        """Fail with a clear message when an endpoint that should answer 200 did not."""
        if status != 200:
            text = " ".join(str(answer).split())[:300]
            raise ComfyFailed(f"ComfyUI {what} failed (HTTP {status}): {text}")
        return answer

    async def system_stats(self, timeout: float | None = None) -> dict:
        """GET /system_stats: the liveness probe (raises ComfyUnreachable when dead)."""
        return self._expect_ok("system_stats", *await self._call("GET", "/system_stats", timeout=timeout))

    async def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        """POST /upload/image; returns the reference ComfyUI answered ('name' or 'subfolder/name')."""
        form = aiohttp.FormData()
        form.add_field("image", data, filename=filename, content_type=content_type)
        form.add_field("type", "input")
        form.add_field("overwrite", "false")
        answer = self._expect_ok("image upload", *await self._call("POST", "/upload/image", data=form))
        if not isinstance(answer, dict) or not answer.get("name"):
            raise ComfyFailed(f"ComfyUI image upload answered without a file name: {answer!r}")
        subfolder = answer.get("subfolder") or ""
        return f"{subfolder}/{answer['name']}" if subfolder else answer["name"]

    async def queue_prompt(self, graph: Mapping[str, Any], client_id: str, prompt_id: str,
                           parameters_for: ParametersFor | None = None) -> dict:
        """POST /prompt; a 400 or a 200 with node_errors raises ComfyRejected with one line per node."""
        status, answer = await self._call("POST", "/prompt",
                                          {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id})
        if status == 200 and isinstance(answer, dict) and answer.get("node_errors"):
            # ComfyUI queued the valid outputs anyway: take the prompt back so it neither runs nor writes files.
            await self.cancel(prompt_id)
        if status != 200 or not isinstance(answer, dict) or answer.get("node_errors"):
            raise ComfyRejected(format_rejection(status, answer, graph, parameters_for))
        return answer

    async def history(self, prompt_id: str) -> dict | None:
        """GET /history/{id}: the prompt's entry once it finished, else None."""
        path = f"/history/{urllib.parse.quote(prompt_id)}"
        answer = self._expect_ok("history", *await self._call("GET", path))
        return (answer or {}).get(prompt_id)

    async def in_queue(self, prompt_id: str) -> bool:
        """GET /queue: is the prompt still running or pending?"""
        answer = self._expect_ok("queue", *await self._call("GET", "/queue")) or {}
        entries = (answer.get("queue_running") or []) + (answer.get("queue_pending") or [])
        return any(len(entry) > 1 and entry[1] == prompt_id for entry in entries)

    async def cancel(self, prompt_id: str, timeout: float | None = None) -> bool:
        """Stop one prompt whatever its state (POST /api/jobs/{id}/cancel): a pending one leaves the queue,
        a running one is interrupted at its next node or step, others are untouched. True if it acted."""
        path = f"/api/jobs/{urllib.parse.quote(prompt_id)}/cancel"
        answer = self._expect_ok("cancel", *await self._call("POST", path, timeout=timeout))
        return bool(isinstance(answer, dict) and answer.get("cancelled"))

    async def object_info(self) -> dict[str, Any]:
        """GET /object_info: every node class with its inputs, as this ComfyUI sees them."""
        status, answer = await self._call("GET", "/object_info", timeout=OBJECT_INFO_TIMEOUT_S)
        answer = self._expect_ok("object_info", status, answer)
        if not isinstance(answer, dict):
            raise ComfyFailed(f"ComfyUI /object_info answered {type(answer).__name__}, not a node catalogue")
        return answer

    async def model_files(self, folder: str) -> set[str] | None:
        """GET /models/{folder}: the files ComfyUI can load from it; None if ComfyUI has no such folder."""
        status, answer = await self._call("GET", f"/models/{urllib.parse.quote(folder)}")
        if status == 404:
            return None
        answer = self._expect_ok(f"models/{folder}", status, answer)
        return {str(name) for name in answer or []}

    async def view_to_file(self, filename: str, subfolder: str, folder_type: str, destination: str) -> int:
        """GET /view streamed into ``destination`` (for a ComfyUI on another machine); returns bytes written."""
        query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": folder_type})
        written = 0
        try:
            async with self.session.get(f"{self.base_url}/view?{query}") as response:
                if response.status != 200:
                    raise ComfyFailed(f"ComfyUI has no output file {filename!r} (HTTP {response.status} from /view)")
                with open(destination, "wb") as out:
                    async for chunk in response.content.iter_chunked(_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            raise ComfyUnreachable(f"ComfyUI stopped answering while sending {filename!r}: {err}") from None
        return written

    def ws_url(self, client_id: str) -> str:
        """The websocket address for this client id (ws:// or wss:// matching the HTTP scheme)."""
        scheme = "wss" if self.base_url.startswith("https") else "ws"
        return f"{scheme}://{self.base_url.split('://', 1)[1]}/ws?clientId={urllib.parse.quote(client_id)}"

    async def websocket(self, client_id: str) -> aiohttp.ClientWebSocketResponse:
        """Open the websocket for this client id; ComfyUnreachable if ComfyUI does not answer."""
        connect = self.session.ws_connect(self.ws_url(client_id), max_msg_size=0,
                                          timeout=aiohttp.ClientWSTimeout(ws_close=0.5))
        try:
            return await asyncio.wait_for(connect, self.timeout)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            raise self._unreachable(err) from None


def new_client_id() -> str:
    """A fresh websocket client id: ComfyUI sends a prompt's events only to the client that queued it."""
    return uuid.uuid4().hex


async def wait_ready(client: ComfyClient, timeout_s: float, *, poll_s: float = 0.5,
                     still_starting: Callable[[], None] = lambda: None) -> bool:
    """Poll GET /system_stats until ComfyUI answers (True) or ``timeout_s`` passes (False).

    ``still_starting`` runs before each try and may raise to stop waiting (ComfyUI's process exited).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        still_starting()
        try:
            await client.system_stats(timeout=2.0)
            return True
        except (ComfyUnreachable, ComfyFailed):
            if loop.time() > deadline:
                return False
            await asyncio.sleep(poll_s)
