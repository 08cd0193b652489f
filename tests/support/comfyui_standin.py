"""A ComfyUI 0.27.0 stand-in for tests: real HTTP + websocket on loopback, scriptable per test.

Message order and shapes, error bodies and history entries follow /work/shared/comfyui/records.json.
Sampler nodes additionally send `progress` messages (and a binary preview frame) per step.
PreviewAny records its text like ComfyUI's (`{"text": [value]}` in `executed` and the history); a text
generator (TextGenerateLTX2Prompt) "writes" `standin_text` of its prompt, seed and max_length.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

SAMPLER_CLASSES = {"SamplerCustomAdvanced", "SamplerCustom", "KSampler", "KSamplerAdvanced"}
OUTPUT_KEYS = {"SaveVideo": "images", "VHS_VideoCombine": "gifs", "SaveWEBM": "images"}
TEXT_OUTPUT_CLASSES = {"PreviewAny"}
TEXT_GENERATOR_CLASSES = {"TextGenerate", "TextGenerateLTX2Prompt"}
MP4_HEADER = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"

SYSTEM_STATS = {
    "system": {"os": "linux", "comfyui_version": "0.27.0", "python_version": "3.11.7",
               "embedded_python": False, "argv": ["main.py", "--listen", "127.0.0.1"]},
    "devices": [{"name": "cpu", "type": "cpu", "index": None, "vram_total": 0, "vram_free": 0}],
}

# 400 body copied in shape from records.json `invalid_int_above_max`.
REJECT_400_BODY = {
    "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
              "details": "", "extra_info": {}},
    "node_errors": {"1": {"errors": [{
        "type": "value_bigger_than_max", "message": "Value 20000 bigger than max of 16384", "details": "width",
        "extra_info": {"input_name": "width",
                       "input_config": ["INT", {"default": 512, "min": 1, "max": 16384, "step": 1}],
                       "received_value": 20000}}],
        "dependent_outputs": ["3"], "class_type": "EmptyImage"}},
}
NOT_JSON_BODY = "500 Internal Server Error\n\nServer got itself in trouble"


@dataclass
class Scenario:
    """What the stand-in does with the next prompts.

    outcome: success | execution_error | interrupted | hang | die | restart (forgets the job, cuts websockets)
    reject: None | "400" | "node_errors" (HTTP 200 with node_errors); reject_body overrides the body.
    drop_ws_after_step: close the client's websocket after that many sampler steps;
    lose_completion: then finish while it is disconnected, else wait for it to reconnect first.
    """

    outcome: str = "success"
    reject: str | None = None
    reject_body: dict | None = None
    steps: int = 3
    step_delay: float = 0.0
    output_bytes: int = 2048
    write_output: bool = True
    error_node: str | None = None
    fail_after_steps: int = 1
    drop_ws_after_step: int | None = None
    lose_completion: bool = False
    ignore_interrupt: bool = False
    previews: bool = True


@dataclass
class Job:
    """One queued prompt as the stand-in tracks it."""

    number: int
    prompt_id: str
    graph: dict
    client_id: str
    scenario: Scenario
    interrupted: asyncio.Event = field(default_factory=asyncio.Event)
    posted_at: float = 0.0
    finished_at: float = 0.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _is_link(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def standin_text(graph: dict, value: object) -> str:
    """The string a graph input carries here: a literal, a primitive's value, or a generator's deterministic text."""
    if not _is_link(value):
        return str(value)
    node = graph[value[0]]
    inputs = node.get("inputs", {})
    if node.get("class_type") in TEXT_GENERATOR_CLASSES:
        return (f"Enhanced (seed {inputs.get('sampling_mode.seed')}, at most {inputs.get('max_length')} tokens): "
                f"{standin_text(graph, inputs.get('prompt', ''))}")
    return standin_text(graph, inputs.get("value", ""))


def _topological(graph: dict) -> list[str]:
    """Node ids in an order where every linked input runs first (ComfyUI runs outputs' dependencies)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(node_id: str) -> None:
        if node_id in seen or node_id not in graph:
            return
        seen.add(node_id)
        for value in graph[node_id].get("inputs", {}).values():
            if _is_link(value):
                visit(value[0])
        order.append(node_id)

    for node_id in graph:
        visit(node_id)
    return order


class ComfyStandIn:
    """Run with `with ComfyStandIn(input_dir, output_dir) as comfy:`; set `comfy.scenario` per test."""

    def __init__(self, input_dir: Path, output_dir: Path):
        self.input_dir = Path(input_dir)
        self.output_dir = Path(output_dir)
        self.scenario = Scenario()
        self.history: dict[str, dict] = {}
        self.prompts: list[dict] = []
        self.interrupts: list[dict] = []
        self.queue_deletes: list[list[str]] = []
        self.cancels: list[str] = []
        self.uploads: list[dict] = []
        self.ws_connects: list[str] = []
        self.exec_seconds: list[float] = []
        self.dead = False
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._reconnected: dict[str, asyncio.Event] = {}
        self._muted: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._steps_done = 0
        self._running: Job | None = None
        self._pending: list[Job] = []
        self._number = 0
        self._counters: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._exec_lock: asyncio.Lock | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "ComfyStandIn":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    fixed_port = 0
    """The port to listen on; 0 picks a free one (a subclass restarting on the same port sets it)."""

    def _app(self) -> web.Application:
        """The aiohttp application with ComfyUI's routes; subclasses add more."""
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/system_stats", self._system_stats)
        app.router.add_post("/prompt", self._prompt)
        app.router.add_get("/history/{prompt_id}", self._history)
        app.router.add_get("/queue", self._queue_get)
        app.router.add_post("/queue", self._queue_post)
        app.router.add_post("/interrupt", self._interrupt)
        app.router.add_post("/api/jobs/{prompt_id}/cancel", self._cancel)
        app.router.add_post("/upload/image", self._upload)
        app.router.add_get("/view", self._view)
        return app

    async def _start(self) -> None:
        self._exec_lock = asyncio.Lock()
        self._runner = web.AppRunner(self._app(), shutdown_timeout=0.1)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.fixed_port)
        await self._site.start()
        self.port = self._site._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for ws in list(self._sockets.values()):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _die(self) -> None:
        """Simulate a crashed ComfyUI: stop listening and cut every connection without a close frame."""
        self.dead = True
        await self._site.stop()
        for ws in list(self._sockets.values()):
            self._abort(ws)
        self._sockets.clear()

    async def _restart(self) -> None:
        """Simulate ComfyUI restarting under a supervisor: jobs and websockets gone, HTTP answering again."""
        self._running = None
        self._pending.clear()
        for ws in list(self._sockets.values()):
            self._abort(ws)
        self._sockets.clear()

    @staticmethod
    def _abort(ws: web.WebSocketResponse) -> None:
        transport = ws._req.transport if ws._req is not None else None
        if transport is not None:
            transport.abort()

    # ------------------------------------------------------------------ websocket
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        sid = request.query.get("clientId") or uuid.uuid4().hex
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets[sid] = ws
        self.ws_connects.append(sid)
        self._reconnected.setdefault(sid, asyncio.Event()).set()
        remaining = len(self._pending) + (1 if self._running else 0)
        await ws.send_json({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": remaining}},
                                                       "sid": sid}})
        async for _ in ws:
            pass
        if self._sockets.get(sid) is ws:
            del self._sockets[sid]
        return ws

    async def _send(self, sid: str | None, type_: str, data: dict) -> None:
        """Send to one client (per-prompt events) or all (sid None); messages to absent clients are lost."""
        if sid is None:
            targets = [ws for key, ws in self._sockets.items() if key not in self._muted]
        else:
            targets = [None if sid in self._muted else self._sockets.get(sid)]
        for ws in targets:
            if ws is not None and not ws.closed:
                try:
                    await ws.send_json({"type": type_, "data": data})
                except (ConnectionError, RuntimeError):
                    pass

    async def _send_preview(self, sid: str) -> None:
        ws = None if sid in self._muted else self._sockets.get(sid)
        if ws is not None and not ws.closed:
            try:
                await ws.send_bytes(b"\x00\x00\x00\x01\x00\x00\x00\x01\xff\xd8\xff\xe0preview")
            except (ConnectionError, RuntimeError):
                pass

    # ------------------------------------------------------------------ HTTP
    async def _system_stats(self, request: web.Request) -> web.Response:
        return web.json_response(SYSTEM_STATS)

    async def _prompt(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.Response(status=500, text=NOT_JSON_BODY)
        self.prompts.append(body)
        if "prompt" not in body:
            error = {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided",
                     "extra_info": {}}
            return web.json_response({"error": error, "node_errors": {}}, status=400)
        scenario = copy.deepcopy(self.scenario)
        if scenario.reject == "400":
            return web.json_response(scenario.reject_body or REJECT_400_BODY, status=400)
        prompt_id = body.get("prompt_id") or str(uuid.uuid4())
        number = self._number
        self._number += 1
        if scenario.reject == "node_errors":
            node_errors = (scenario.reject_body or REJECT_400_BODY)["node_errors"]
            return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": node_errors})
        job = Job(number, prompt_id, body["prompt"], body.get("client_id", ""), scenario, posted_at=time.perf_counter())
        self._pending.append(job)
        task = asyncio.ensure_future(self._execute(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": {}})

    async def _history(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info["prompt_id"]
        entry = self.history.get(prompt_id)
        return web.json_response({prompt_id: entry} if entry else {})

    @staticmethod
    def _queue_entry(job: Job) -> list:
        return [job.number, job.prompt_id, job.graph, {"client_id": job.client_id}, list(job.graph)]

    async def _queue_get(self, request: web.Request) -> web.Response:
        running = [self._queue_entry(self._running)] if self._running else []
        return web.json_response({"queue_running": running,
                                  "queue_pending": [self._queue_entry(j) for j in self._pending]})

    async def _queue_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        delete = list(body.get("delete") or [])
        self.queue_deletes.append(delete)
        self._pending = [j for j in self._pending if j.prompt_id not in delete]
        return web.Response(status=200)

    async def _interrupt(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.interrupts.append(body)
        job = self._running
        if job is not None and (not body.get("prompt_id") or body["prompt_id"] == job.prompt_id):
            job.interrupted.set()
        return web.Response(status=200)

    async def _cancel(self, request: web.Request) -> web.Response:
        """POST /api/jobs/{id}/cancel as ComfyUI 0.27 answers it: interrupt if running, dequeue if pending."""
        prompt_id = request.match_info["prompt_id"]
        self.cancels.append(prompt_id)
        job = self._running
        if job is not None and job.prompt_id == prompt_id:
            job.interrupted.set()
            return web.json_response({"cancelled": True})
        pending = [j for j in self._pending if j.prompt_id == prompt_id]
        self._pending = [j for j in self._pending if j.prompt_id != prompt_id]
        return web.json_response({"cancelled": bool(pending)})

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        image = form.get("image")
        if image is None or not hasattr(image, "file"):
            return web.Response(status=400)
        subfolder = str(form.get("subfolder", ""))
        overwrite = str(form.get("overwrite", "")).lower() == "true"
        data = image.file.read()
        folder = self.input_dir / subfolder
        folder.mkdir(parents=True, exist_ok=True)
        name = Path(image.filename).name
        stem, suffix = Path(name).stem, Path(name).suffix
        counter = 1
        while not overwrite and (folder / name).exists() and (folder / name).read_bytes() != data:
            name = f"{stem} ({counter}){suffix}"
            counter += 1
        (folder / name).write_bytes(data)
        self.uploads.append({"name": name, "subfolder": subfolder, "bytes": len(data)})
        return web.json_response({"name": name, "subfolder": subfolder, "type": "input"})

    async def _view(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("type", "output") != "output":
            return web.Response(status=404)
        path = self.output_dir / request.query.get("subfolder", "") / request.query.get("filename", "")
        if not path.is_file() or self.output_dir.resolve() not in path.resolve().parents:
            return web.Response(status=404)
        return web.FileResponse(path, headers={"Content-Type": "video/mp4"})

    # ------------------------------------------------------------------ execution
    def _write_output(self, job: Job, node_id: str) -> dict:
        """Write the node's output file like SaveVideo does (prefix_00001_.mp4 under the prefix's subfolder)."""
        prefix = str(job.graph[node_id]["inputs"].get("filename_prefix", "ComfyUI"))
        subfolder, _, base = prefix.rpartition("/")
        counter = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = counter
        filename = f"{base}_{counter:05}_.mp4"
        folder = self.output_dir / subfolder
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / filename, "wb") as out:
            out.write(MP4_HEADER[: job.scenario.output_bytes])
            out.truncate(job.scenario.output_bytes)
        return {"filename": filename, "subfolder": subfolder, "type": "output"}

    def _progress_node(self, job: Job, node_id: str, value: float, state: str, nodes: dict) -> dict:
        nodes[node_id] = {"value": value, "max": 1.0, "state": state, "node_id": node_id,
                          "prompt_id": job.prompt_id, "display_node_id": node_id, "parent_node_id": None,
                          "real_node_id": node_id}
        return {"prompt_id": job.prompt_id, "nodes": copy.deepcopy(nodes)}

    async def _disconnect(self, job: Job) -> None:
        """Drop the client's websocket mid-job; wait for it to come back, or mute it until the job ends."""
        ws = self._sockets.pop(job.client_id, None)
        if job.scenario.lose_completion:
            self._muted.add(job.client_id)
        event = self._reconnected.setdefault(job.client_id, asyncio.Event())
        event.clear()
        if ws is not None:
            self._abort(ws)
        if not job.scenario.lose_completion:
            try:
                await asyncio.wait_for(event.wait(), 5)
            except asyncio.TimeoutError:
                pass

    async def _finish(self, job: Job, status: str, messages: list, outputs: dict, meta: dict) -> None:
        """Write history, then send status and the executing-null completion (ComfyUI's order)."""
        self.history[job.prompt_id] = {
            "prompt": [job.number, job.prompt_id, job.graph,
                       {"client_id": job.client_id, "create_time": _now_ms()}, [n for n in job.graph]],
            "outputs": outputs,
            "status": {"status_str": status, "completed": status == "success", "messages": messages},
            "meta": meta,
        }
        job.finished_at = time.perf_counter()
        self.exec_seconds.append(job.finished_at - job.posted_at)
        self._running = None
        await self._send(None, "status", {"status": {"exec_info": {"queue_remaining": len(self._pending)}}})
        await self._send(job.client_id, "executing", {"node": None, "prompt_id": job.prompt_id})
        self._muted.discard(job.client_id)

    async def _execute(self, job: Job) -> None:
        async with self._exec_lock:
            if job not in self._pending or self.dead:
                return
            self._pending.remove(job)
            self._running = job
            await self._run(job)

    async def _hang(self, job: Job) -> None:
        """Block like a stuck node: until interrupted, or forever when the node ignores interrupts."""
        if job.scenario.ignore_interrupt:
            await asyncio.Event().wait()
        await job.interrupted.wait()

    async def _steps(self, job: Job, node_id: str) -> bool:
        """Send a sampler's progress (and previews); False when the server died meanwhile."""
        s = job.scenario
        for step in range(1, s.steps + 1):
            if job.interrupted.is_set():
                return True
            await asyncio.sleep(s.step_delay)
            await self._send(job.client_id, "progress",
                             {"value": step, "max": s.steps, "prompt_id": job.prompt_id, "node": node_id})
            if s.previews:
                await self._send_preview(job.client_id)
            self._steps_done += 1
            if s.outcome == "die" and self._steps_done >= s.fail_after_steps:
                await self._die()
                return False
            if s.outcome == "restart" and self._steps_done >= s.fail_after_steps:
                await self._restart()
                return False
            if s.drop_ws_after_step is not None and self._steps_done == s.drop_ws_after_step:
                await self._disconnect(job)
            if s.outcome == "interrupted" and self._steps_done >= s.fail_after_steps:
                job.interrupted.set()
        return True

    async def _run(self, job: Job) -> None:
        s, sid, pid = job.scenario, job.client_id, job.prompt_id
        for _ in range(2):
            await self._send(None, "status", {"status": {"exec_info": {"queue_remaining": 1}}})
        start = {"prompt_id": pid, "timestamp": _now_ms()}
        cached = {"nodes": [], "prompt_id": pid, "timestamp": _now_ms()}
        await self._send(sid, "execution_start", start)
        await self._send(sid, "execution_cached", cached)
        messages: list = [["execution_start", start], ["execution_cached", cached]]
        outputs: dict = {}
        meta: dict = {}
        executed: list[str] = []
        nodes_state: dict = {}
        self._steps_done = 0
        order = _topological(job.graph)
        error_node = s.error_node or order[-1]
        for node_id in order:
            class_type = job.graph[node_id].get("class_type", "")
            await self._send(sid, "progress_state", self._progress_node(job, node_id, 0.0, "running", nodes_state))
            await self._send(sid, "executing", {"node": node_id, "display_node": node_id, "prompt_id": pid})
            if class_type in SAMPLER_CLASSES and not await self._steps(job, node_id):
                return
            if node_id == error_node:
                if s.outcome == "die":
                    await self._die()
                    return
                if s.outcome == "hang":
                    await self._hang(job)
                if s.outcome == "interrupted":
                    job.interrupted.set()
            if job.interrupted.is_set():
                data = {"prompt_id": pid, "node_id": node_id, "node_type": class_type, "executed": list(executed),
                        "timestamp": _now_ms()}
                await self._send(sid, "execution_interrupted", data)
                messages.append(["execution_interrupted", data])
                await self._finish(job, "error", messages, outputs, meta)
                return
            if s.outcome == "execution_error" and node_id == error_node:
                data = {"prompt_id": pid, "node_id": node_id, "node_type": class_type, "executed": list(executed),
                        "exception_message": "Error while deserializing header: header too small\n",
                        "exception_type": "safetensors._safetensors_rust.SafetensorError",
                        "traceback": ["  File \"ComfyUI/execution.py\", line 542, in execute\n"],
                        "current_inputs": {}, "current_outputs": list(job.graph), "timestamp": _now_ms()}
                await self._send(sid, "execution_error", data)
                messages.append(["execution_error", data])
                await self._finish(job, "error", messages, outputs, meta)
                return
            output = None
            if class_type in OUTPUT_KEYS and s.write_output:
                output = {OUTPUT_KEYS[class_type]: [self._write_output(job, node_id)], "animated": [True]}
            if class_type in TEXT_OUTPUT_CLASSES:
                output = {"text": [standin_text(job.graph, job.graph[node_id]["inputs"].get("source"))]}
            if output is not None:
                outputs[node_id] = output
                meta[node_id] = {"node_id": node_id, "display_node": node_id, "parent_node": None,
                                 "real_node_id": node_id}
                await self._send(sid, "executed", {"node": node_id, "display_node": node_id, "output": output,
                                                   "prompt_id": pid})
            # records.json: an output node's "executed" comes before its "finished" progress_state
            await self._send(sid, "progress_state", self._progress_node(job, node_id, 1.0, "finished", nodes_state))
            executed.append(node_id)
        success = {"prompt_id": pid, "timestamp": _now_ms()}
        await self._send(sid, "execution_success", success)
        messages.append(["execution_success", success])
        await self._finish(job, "success", messages, outputs, meta)
