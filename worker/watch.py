"""Follow one prompt over ComfyUI's websocket until it ends: reconnect after an HTTP probe, /history fallback.

The watcher has no deadline of its own: the job runs it inside ``asyncio.timeout``, so the deadline
and a RunPod cancel stop it at whatever it is waiting for.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import aiohttp

from engine.comfy.history import check_history_status
from engine.errors import ComfyFailed, ComfyUnreachable

from .comfyui import ComfyClient

log = logging.getLogger("worker.watch")

EventCallback = Callable[[str, Mapping[str, Any]], None]
_CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


@dataclass
class Completion:
    """A finished prompt: its /history entry and when it started/finished (the event loop's clock)."""

    entry: dict
    started_at: float | None
    finished_at: float


class PromptWatcher:
    """One job's websocket: open it before queueing (``async with``), then ``await wait(prompt_id)``."""

    def __init__(self, client: ComfyClient, client_id: str, *, poll_interval: float = 2.0,
                 on_event: EventCallback | None = None, on_idle: Callable[[], None] | None = None):
        self.client = client
        self.client_id = client_id
        self.poll_interval = poll_interval
        self.on_event = on_event
        self.on_idle = on_idle
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.reconnects = 0
        self.dropped = False
        self.last_node: str | None = None
        self.started_at: float | None = None

    async def connect(self) -> None:
        """Open the websocket for this client id; ComfyUnreachable if ComfyUI does not answer."""
        self.ws = await self.client.websocket(self.client_id)

    async def close(self) -> None:
        """Close the websocket (safe to call twice)."""
        ws, self.ws = self.ws, None
        if ws is not None and not ws.closed:
            try:
                await asyncio.wait_for(ws.close(), 0.5)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                pass

    async def __aenter__(self) -> "PromptWatcher":
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _died(self, err: ComfyUnreachable, how: str) -> ComfyUnreachable:
        return ComfyUnreachable(f"ComfyUI at {self.client.base_url} died during the job "
                                f"({how}{str(err).rsplit(': ', 1)[-1]})")

    async def _after_drop(self, prompt_id: str, reason: object) -> Completion | None:
        """The websocket broke: probe ComfyUI's HTTP (dead: ComfyUnreachable at once); reconnect, or poll.

        Returns the completion if the prompt finished meanwhile; fails if ComfyUI lost the prompt.
        """
        await self.close()
        self.dropped = True
        log.warning("websocket to ComfyUI dropped (%s); probing %s", reason, self.client.base_url)
        await self.client.system_stats()
        self.reconnects += 1
        try:
            await self.connect()
        except ComfyUnreachable:
            log.warning("websocket reconnect failed; following the job through /history only")
        done = await self._finished(prompt_id)
        if done is None:
            await self._check_known(prompt_id)
        return done

    async def _check_known(self, prompt_id: str) -> None:
        """After a drop: a prompt neither queued nor in history was lost (ComfyUI restarted under us)."""
        if not await self.client.in_queue(prompt_id) and await self.client.history(prompt_id) is None:
            raise ComfyFailed(f"ComfyUI at {self.client.base_url} lost the job (it restarted during the job)",
                              refresh_worker=True)

    async def _finished(self, prompt_id: str) -> Completion | None:
        """Check /history (covers completions missed while disconnected); raise if the prompt failed."""
        entry = await self.client.history(prompt_id)
        if entry is None:
            return None
        check_history_status(entry)
        return Completion(entry, self.started_at, asyncio.get_running_loop().time())

    def _handle(self, prompt_id: str, frame: str) -> bool:
        """Process one text frame; True when it is this prompt's completion (executing with node null)."""
        try:
            message = json.loads(frame)
        except ValueError:
            return False
        if not isinstance(message, dict):
            return False
        event, data = message.get("type"), message.get("data") or {}
        if not isinstance(data, dict) or data.get("prompt_id") != prompt_id:
            return False
        if event == "execution_start":
            self.started_at = asyncio.get_running_loop().time()
        if event == "executing":
            if data.get("node") is None:
                return True
            self.last_node = str(data["node"])
        if self.on_event is not None:
            self.on_event(event, data)
        return False

    async def wait(self, prompt_id: str) -> Completion:
        """Until the prompt finishes (Completion) or fails (ComfyFailed / ComfyUnreachable)."""
        try:
            return await self._wait(prompt_id)
        except ComfyUnreachable as err:
            raise self._died(err, "websocket dropped, then: " if self.dropped else "") from None

    async def _wait(self, prompt_id: str) -> Completion:
        """The wait loop behind wait()."""
        while True:
            if self.ws is None:
                await asyncio.sleep(self.poll_interval)
                done = await self._finished(prompt_id) or await self._after_drop(prompt_id, "not connected")
                if done is not None:
                    return done
                continue
            try:
                message = await self.ws.receive(timeout=self.poll_interval)
            except asyncio.TimeoutError:
                if self.on_idle is not None:
                    self.on_idle()
                done = await self._finished(prompt_id)
                if done is not None:
                    return done
                continue
            if message.type in _CLOSED:
                done = await self._after_drop(prompt_id, message.extra or message.type.name.lower())
                if done is not None:
                    return done
            elif message.type == aiohttp.WSMsgType.TEXT and self._handle(prompt_id, message.data):
                done = await self._finished(prompt_id)
                if done is not None:
                    return done
