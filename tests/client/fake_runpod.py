"""A loopback fake of RunPod serverless (RunPod's cloud cannot be reached from tests), both of its sides:

- the endpoint API callers use, as RunPod documents it: POST /run, POST /runsync, GET (or POST)
  /status/{id}, POST /cancel/{id}, GET /health under ``/v2/<endpoint id>``, ``Authorization: Bearer
  <key>``; a job walks IN_QUEUE -> IN_PROGRESS (``output`` holds the worker's latest progress) ->
  COMPLETED / FAILED / CANCELLED / TIMED_OUT; ``policy.executionTimeout`` (ms) times a job out;
- the worker API the runpod SDK's production loop talks to (the URLs it reads from RUNPOD_WEBHOOK_*):
  GET job-take (a job, or 204), GET job-stop (``{"jobsToStop": [...]}``, or 204: how a cancel or a
  timeout reaches the worker, which cancels the job's task), POST job-done (progress while
  ``status`` is IN_PROGRESS, else the result), GET ping.

A job either waits for a real worker (``python handler.py`` with ``worker_env()``) or, when ``script``
is set, answers each /status with the script's next entry and stays on its last.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

QUEUED, RUNNING = "IN_QUEUE", "IN_PROGRESS"
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})
LONG_POLL_S = 1.0
"""How long job-take and job-stop hold a request open before answering 204 (keeps worker shutdown quick)."""


@dataclass(frozen=True)
class Answer:
    """One scripted /status answer."""

    status: str
    output: Any = None
    error: str | None = None


@dataclass
class Job:
    """One request as the fake tracks it."""

    id: str
    input: Any
    status: str = QUEUED
    output: Any = None
    error: str | None = None
    script: list[Answer] | None = None
    timeout_ms: int | None = None
    polls: int = 0
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None

    def answer(self) -> dict[str, Any]:
        """The job as /status answers it."""
        body: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.started is not None:
            body["delayTime"] = int((self.started - self.created) * 1000)
            body["workerId"] = "fake-worker"
        if self.finished is not None and self.started is not None:
            body["executionTime"] = int((self.finished - self.started) * 1000)
        if self.output is not None:
            body["output"] = self.output
        if self.error is not None:
            body["error"] = self.error
        return body


class FakeRunPod:
    """``with FakeRunPod() as runpod:``; ``runpod.url`` is the endpoint's base URL (like
    https://api.runpod.ai/v2/<id>), ``runpod.api_key`` the caller's key, ``worker_env()`` the SDK worker's."""

    endpoint_id = "fake-endpoint"

    def __init__(self, api_key: str = "caller-key", worker_key: str = "worker-key", job_prefix: str = "job"):
        self.api_key, self.worker_key, self.job_prefix = api_key, worker_key, job_prefix
        self.script: list[Answer] | None = None
        """Set it to script the next jobs (each /status answers the next entry); None: a worker runs them."""
        self.jobs: dict[str, Job] = {}
        self.calls: list[tuple[str, str]] = []
        """(method, path) of every request to the endpoint API, in order."""
        self.cancels: list[str] = []
        self.progress: dict[str, list[Any]] = {}
        """Every progress output a worker posted, per job."""
        self.files: dict[str, bytes] = {}
        """Served at ``file_url(name)`` (a stand-in for a bucket's presigned video_url)."""
        self.file_auth: list[str | None] = []
        """The Authorization header of every file download (a presigned URL needs none)."""
        self.status_failures: list[int] = []
        """HTTP statuses the next /status calls answer instead of the job (503: RunPod overloaded)."""
        self.pings = 0
        self._stops: list[str] = []
        self._tasks: set[asyncio.Task] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-runpod", daemon=True)
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle and addresses
    def __enter__(self) -> "FakeRunPod":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The endpoint's base URL, as https://api.runpod.ai/v2/<endpoint id> is RunPod's."""
        return f"{self.root}/v2/{self.endpoint_id}"

    def file_url(self, name: str) -> str:
        return f"{self.root}/files/{name}"

    def worker_env(self, worker_id: str = "fake-worker") -> dict[str, str]:
        """The variables RunPod sets for a worker, pointing the runpod SDK's job loop at this fake."""
        base = f"{self.url}/worker"
        return {"RUNPOD_WEBHOOK_GET_JOB": f"{base}/job-take/$ID?gpu=fake",
                "RUNPOD_WEBHOOK_POST_OUTPUT": f"{base}/job-done/$RUNPOD_POD_ID/$ID?gpu=fake",
                "RUNPOD_WEBHOOK_PING": f"{base}/ping/$RUNPOD_POD_ID?gpu=fake",
                "RUNPOD_AI_API_KEY": self.worker_key, "RUNPOD_POD_ID": worker_id,
                "RUNPOD_ENDPOINT_ID": self.endpoint_id}

    def status_of(self, job_id: str) -> str:
        return self.jobs[job_id].status

    async def _start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=200 * 1024 * 1024)
        api = f"/v2/{self.endpoint_id}"
        app.router.add_post(f"{api}/run", self._run)
        app.router.add_post(f"{api}/runsync", self._runsync)
        app.router.add_route("*", f"{api}/status/{{job_id}}", self._status)
        app.router.add_post(f"{api}/cancel/{{job_id}}", self._cancel)
        app.router.add_get(f"{api}/health", self._health)
        app.router.add_get(f"{api}/worker/job-take/{{worker}}", self._job_take)
        app.router.add_get(f"{api}/worker/job-stop/{{worker}}", self._job_stop)
        app.router.add_post(f"{api}/worker/job-done/{{worker}}/{{job_id}}", self._job_done)
        app.router.add_get(f"{api}/worker/ping/{{worker}}", self._ping)
        app.router.add_get("/files/{name}", self._file)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    # ------------------------------------------------------------------ state changes
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _end(self, job: Job, status: str, output: Any = None, error: str | None = None) -> None:
        job.status, job.finished = status, time.monotonic()
        job.output, job.error = output, error
        await self._notify()

    async def _stop(self, job: Job, status: str) -> None:
        """Cancel or time out: a queued job leaves the queue, a running one gets a stop signal for its worker."""
        was_running = job.status == RUNNING and job.script is None
        await self._end(job, status)
        if was_running:
            self._stops.append(job.id)
            await self._notify()

    def _expire_later(self, job: Job) -> None:
        async def expire() -> None:
            await asyncio.sleep(job.timeout_ms / 1000)
            if job.status not in TERMINAL:
                await self._stop(job, "TIMED_OUT")
        task = asyncio.get_running_loop().create_task(expire())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _advance(self, job: Job) -> None:
        """A scripted job moves to its script's next answer (and stays on the last)."""
        step = job.script[min(job.polls, len(job.script) - 1)]
        job.polls += 1
        if job.started is None and step.status != QUEUED:
            job.started = time.monotonic()
        job.status, job.output, job.error = step.status, step.output, step.error
        if step.status in TERMINAL and job.finished is None:
            job.finished = time.monotonic()

    # ------------------------------------------------------------------ the endpoint API
    def _refuse(self, request: web.Request) -> web.Response | None:
        self.calls.append((request.method, request.path))
        if request.headers.get("Authorization") not in (f"Bearer {self.api_key}", self.api_key):
            return web.json_response({"error": "Unauthorized"}, status=401)
        return None

    async def _new_job(self, request: web.Request) -> Job | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(body, dict) or "input" not in body:
            return web.json_response({"error": "input is required"}, status=400)
        timeout = (body.get("policy") or {}).get("executionTimeout")
        job = Job(id=f"{self.job_prefix}-{uuid.uuid4().hex[:12]}", input=body["input"],
                  script=list(self.script) if self.script else None, timeout_ms=timeout)
        self.jobs[job.id] = job
        await self._notify()
        return job

    async def _run(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused:
            return refused
        job = await self._new_job(request)
        if isinstance(job, web.Response):
            return job
        return web.json_response({"id": job.id, "status": QUEUED})

    async def _runsync(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused:
            return refused
        job = await self._new_job(request)
        if isinstance(job, web.Response):
            return job
        if job.script is not None:
            while job.status not in TERMINAL and job.polls < len(job.script):
                self._advance(job)
        else:
            wait_s = float(request.query.get("wait", 90000)) / 1000
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: job.status in TERMINAL), wait_s)
                except TimeoutError:
                    pass
        return web.json_response(job.answer())

    def _job(self, request: web.Request) -> Job | web.Response:
        job = self.jobs.get(request.match_info["job_id"])
        if job is None:
            return web.json_response({"error": "request does not exist"}, status=404)
        return job

    async def _status(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused:
            return refused
        if request.method not in ("GET", "POST"):
            return web.json_response({"error": "method not allowed"}, status=405)
        if self.status_failures:
            return web.json_response({"error": "service unavailable"}, status=self.status_failures.pop(0))
        job = self._job(request)
        if isinstance(job, web.Response):
            return job
        if job.script is not None and job.status not in TERMINAL:
            self._advance(job)
        return web.json_response(job.answer())

    async def _cancel(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused:
            return refused
        job = self._job(request)
        if isinstance(job, web.Response):
            return job
        self.cancels.append(job.id)
        if job.status not in TERMINAL:
            await self._stop(job, "CANCELLED")
        return web.json_response({"id": job.id, "status": job.status})

    async def _health(self, request: web.Request) -> web.Response:
        refused = self._refuse(request)
        if refused:
            return refused
        count = {s: sum(j.status == s for j in self.jobs.values()) for s in (QUEUED, RUNNING, "COMPLETED", "FAILED")}
        return web.json_response({"jobs": {"inQueue": count[QUEUED], "inProgress": count[RUNNING],
                                           "completed": count["COMPLETED"], "failed": count["FAILED"], "retried": 0},
                                  "workers": {"idle": 0, "running": 0}})

    async def _file(self, request: web.Request) -> web.Response:
        self.file_auth.append(request.headers.get("Authorization"))
        data = self.files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404, text="NoSuchKey")
        return web.Response(body=data, content_type="video/mp4")

    # ------------------------------------------------------------------ the worker API
    def _worker_refused(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != self.worker_key:
            return web.json_response({"error": "Unauthorized"}, status=401)
        return None

    async def _long_poll(self, ready) -> bool:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(ready), LONG_POLL_S)
                return True
            except TimeoutError:
                return False

    def _next_queued(self) -> Job | None:
        return next((j for j in self.jobs.values() if j.status == QUEUED and j.script is None), None)

    async def _job_take(self, request: web.Request) -> web.Response:
        refused = self._worker_refused(request)
        if refused:
            return refused
        if not await self._long_poll(lambda: self._next_queued() is not None):
            return web.Response(status=204)
        job = self._next_queued()
        job.status, job.started = RUNNING, time.monotonic()
        if job.timeout_ms:
            self._expire_later(job)
        return web.json_response({"id": job.id, "input": job.input})

    async def _job_stop(self, request: web.Request) -> web.Response:
        refused = self._worker_refused(request)
        if refused:
            return refused
        if not await self._long_poll(lambda: bool(self._stops)):
            return web.Response(status=204)
        stops, self._stops = self._stops, []
        return web.json_response({"jobsToStop": stops})

    async def _job_done(self, request: web.Request) -> web.Response:
        refused = self._worker_refused(request)
        if refused:
            return refused
        job = self._job(request)
        if isinstance(job, web.Response):
            return job
        body = json.loads(await request.text())  # the SDK posts JSON as form-urlencoded
        if body.get("status") == RUNNING:
            self.progress.setdefault(job.id, []).append(body.get("output"))
            if job.status == RUNNING:
                job.output = body.get("output")
                await self._notify()
        elif job.status not in TERMINAL:
            error = body.get("error")
            if error:
                await self._end(job, "FAILED", error=str(error))
            else:
                await self._end(job, "COMPLETED", output=body.get("output"))
        return web.json_response({})

    async def _ping(self, request: web.Request) -> web.Response:
        self.pings += 1
        return web.json_response({})
