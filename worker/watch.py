"""Wait for one prompt over ComfyUI's websocket: deadline, reconnect after an HTTP probe, /history fallback."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import websocket

from engine.comfy.history import check_history_status
from engine.errors import ComfyFailed, ComfyUnreachable, JobTimeout, WorkerError

from .comfyui import ComfyClient

log = logging.getLogger("worker.watch")

EventCallback = Callable[[str, Mapping[str, Any]], None]


@dataclass
class Completion:
    """A finished prompt: its /history entry and when it started/finished (time.monotonic)."""

    entry: dict
    started_at: float | None
    finished_at: float


class PromptWatcher:
    """One job's websocket: connect before queueing, then wait() for the prompt to finish."""

    def __init__(self, client: ComfyClient, client_id: str, *, poll_interval: float = 2.0,
                 interrupt_grace: float = 10.0, on_event: EventCallback | None = None,
                 on_idle: Callable[[], None] | None = None,
                 connect: Callable[..., websocket.WebSocket] = websocket.create_connection):
        self.client = client
        self.client_id = client_id
        self.poll_interval = poll_interval
        self.interrupt_grace = interrupt_grace
        self.on_event = on_event
        self.on_idle = on_idle
        self._connect = connect
        self.ws: websocket.WebSocket | None = None
        self.reconnects = 0
        self.last_node: str | None = None
        self.started_at: float | None = None

    def connect(self) -> None:
        """Open the websocket for this client id; ComfyUnreachable if ComfyUI does not answer."""
        try:
            self.ws = self._connect(self.client.ws_url(self.client_id), timeout=self.client.timeout,
                                    enable_multithread=False)
        except (websocket.WebSocketException, OSError) as err:
            self.ws = None
            raise ComfyUnreachable(f"ComfyUI is not reachable at {self.client.base_url}: websocket: {err}") from None

    def close(self) -> None:
        """Close the websocket (safe to call twice)."""
        if self.ws is not None:
            try:
                self.ws.close(timeout=0.2)
            except (websocket.WebSocketException, OSError):
                pass
            self.ws = None

    def __enter__(self) -> "PromptWatcher":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_drop(self, reason: object) -> None:
        """The websocket broke: if ComfyUI's HTTP is dead, fail at once; otherwise reconnect (or poll)."""
        self.close()
        log.warning("websocket to ComfyUI dropped (%s); probing %s", reason, self.client.base_url)
        try:
            self.client.system_stats()
        except ComfyUnreachable as err:
            raise ComfyUnreachable(f"ComfyUI at {self.client.base_url} died during the job "
                                   f"(websocket dropped, then: {str(err).rsplit(': ', 1)[-1]})") from None
        self.reconnects += 1
        try:
            self.connect()
        except ComfyUnreachable:
            log.warning("websocket reconnect failed; following the job through /history only")

    def _check_known(self, prompt_id: str) -> None:
        """After a drop: a prompt neither queued nor in history was lost (ComfyUI restarted under us)."""
        if not self.client.in_queue(prompt_id) and self.client.history(prompt_id) is None:
            raise ComfyFailed(f"ComfyUI at {self.client.base_url} lost the job (it restarted during the job)",
                              refresh_worker=True)

    def _finished(self, prompt_id: str) -> Completion | None:
        """Check /history (covers completions missed while disconnected); raise if the prompt failed."""
        entry = self.client.history(prompt_id)
        if entry is None:
            return None
        check_history_status(entry)
        return Completion(entry, self.started_at, time.monotonic())

    def _handle(self, prompt_id: str, frame: str) -> bool:
        """Process one text frame; True when it is this prompt's completion (executing with node null)."""
        try:
            message = json.loads(frame)
        except ValueError:
            return False
        event, data = message.get("type"), message.get("data") or {}
        if not isinstance(data, dict) or data.get("prompt_id") != prompt_id:
            return False
        if event == "execution_start":
            self.started_at = time.monotonic()
        if event == "executing":
            if data.get("node") is None:
                return True
            self.last_node = str(data["node"])
        if self.on_event is not None:
            self.on_event(event, data)
        return False

    def _timeout(self, prompt_id: str, timeout_s: float, describe: Callable[[str], str]) -> JobTimeout:
        """Deadline passed: interrupt and unqueue the prompt, wait briefly for ComfyUI to let go of it."""
        where = f" (ComfyUI was at {describe(self.last_node)})" if self.last_node else ""
        message = f"the job ran past its {timeout_s:g} s deadline (JOB_TIMEOUT_S){where}; it was interrupted"
        self.client.take_back(prompt_id)
        stop_by = time.monotonic() + self.interrupt_grace
        while time.monotonic() < stop_by:
            if not self.client.in_queue(prompt_id):
                return JobTimeout(message)
            time.sleep(min(0.1, self.interrupt_grace))
        return JobTimeout(f"{message}, but ComfyUI did not stop within {self.interrupt_grace:g} s "
                          "(INTERRUPT_GRACE_S); this worker will be replaced", refresh_worker=True)

    def wait(self, prompt_id: str, deadline: float, *, timeout_s: float,
             describe: Callable[[str], str] = lambda node: f"node {node}") -> Completion:
        """Block until the prompt finishes (Completion) or fails (ComfyFailed / JobTimeout / ComfyUnreachable).

        An unexpected exception (a bug, not a ComfyUI outcome) takes the prompt back before propagating,
        so it neither keeps the GPU busy nor writes files after the job's cleanup.
        """
        try:
            return self._wait(prompt_id, deadline, timeout_s, describe)
        except WorkerError:
            raise
        except Exception:
            try:
                self.client.take_back(prompt_id)
            except WorkerError as err:
                log.warning("could not take back prompt %s: %s", prompt_id, err)
            raise

    def _wait(self, prompt_id: str, deadline: float, timeout_s: float, describe: Callable[[str], str]) -> Completion:
        """The wait loop behind wait()."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timeout(prompt_id, timeout_s, describe)
            if self.ws is None:
                time.sleep(min(self.poll_interval, remaining))
                done = self._finished(prompt_id)
                if done is not None:
                    return done
                self._on_drop("not connected")
                self._check_known(prompt_id)
                continue
            self.ws.settimeout(min(self.poll_interval, remaining))
            try:
                opcode, payload = self.ws.recv_data()
            except websocket.WebSocketTimeoutException:
                if self.on_idle is not None:
                    self.on_idle()
                done = self._finished(prompt_id)
                if done is not None:
                    return done
                continue
            except (websocket.WebSocketException, OSError) as err:
                self._on_drop(err or type(err).__name__)
                done = self._finished(prompt_id)
                if done is not None:
                    return done
                self._check_known(prompt_id)
                continue
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self._on_drop("closed by ComfyUI")
                done = self._finished(prompt_id)
                if done is not None:
                    return done
                self._check_known(prompt_id)
                continue
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue
            if self._handle(prompt_id, payload.decode("utf-8", "replace")):
                done = self._finished(prompt_id)
                if done is not None:
                    return done
