"""What the integration tier's tests share: its settings, names, the worker runner, blockers, video checks."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import copy
import io
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import wait_until
from tests.support.real_comfyui import ComfyHTTP, files_in

HERE = Path(__file__).resolve().parent
TEST_SPEC = HERE / "spec" / "mappings.yaml"
SETTINGS = ("COMFYUI_TEST_URL", "COMFYUI_TEST_DIR")
MISSING = ("the integration tier runs against a real ComfyUI: set COMFYUI_TEST_URL to its address (e.g. "
           "http://127.0.0.1:8188) and COMFYUI_TEST_DIR to its ComfyUI folder (the one with main.py, models/, "
           "input/, output/); see tests/integration/README.md (.ci/run installs and starts one when they are unset)")


def missing_settings() -> list[str]:
    return [name for name in SETTINGS if not os.environ.get(name, "").strip()]


@dataclass
class Tier:
    """The shared test server, the session's tag and what the tier posted there itself."""

    url: str
    comfy_dir: Path
    http: ComfyHTTP
    tag: str
    posted: set[str] = field(default_factory=set)
    """Prompt ids the tier posted itself (graphs that do not carry the tag)."""
    counter: int = 0

    @property
    def input_dir(self) -> Path:
        return self.comfy_dir / "input"

    @property
    def output_dir(self) -> Path:
        return self.comfy_dir / "output"

    def job_id(self, what: str) -> str:
        """A RunPod job id for one job: the session tag, the test's word, a counter (all file-name safe)."""
        self.counter += 1
        return f"{self.tag}-{what}-{self.counter}"

    def ours(self, prompt_id: str, graph: Any) -> bool:
        return prompt_id in self.posted or self.tag in json.dumps(graph)

    def our_queue(self, http: ComfyHTTP | None = None) -> set[str]:
        """The tier's prompts running or pending on the server."""
        running, pending = (http or self.http).queue()
        return {e[1] for e in running + pending if self.ours(e[1], e[2] if len(e) > 2 else None)}


class Blockers:
    """The test workflow ``slow`` posted directly (not through the worker) to keep a ComfyUI busy."""

    def __init__(self, tier: Tier, spec, http: ComfyHTTP, frames: int = 48):
        self.tier, self.spec, self.http, self.frames = tier, spec, http, frames
        self.ids: list[str] = []
        self.prefixes: list[str] = []

    def post(self, frames: int | None = None) -> str:
        import engine
        job_id = f"{self.tier.tag}-block-{uuid.uuid4().hex[:12]}"
        rendered = self.spec.render(self.spec.prepare({"workflow": "slow", "frames": frames or self.frames}),
                                    {"job_id": job_id, "random_seed": engine.new_random_seed()})
        prompt_id = str(uuid.uuid4())
        self.tier.posted.add(prompt_id)
        status, answer = self.http.post_prompt(rendered.graph, prompt_id)
        assert status == 200 and not answer.get("node_errors"), f"blocker refused: HTTP {status}: {answer}"
        self.ids.append(prompt_id)
        self.prefixes.append(job_id)
        return prompt_id

    def running(self, prompt_id: str) -> bool:
        return prompt_id in self.http.queued_ids()[0]

    def queued(self) -> set[str]:
        running, pending = self.http.queued_ids()
        return set(self.ids) & (running | pending)

    def keep_busy(self, depth: int = 2) -> None:
        """At least ``depth`` of ours queued or running, so whatever is posted next waits behind them."""
        for _ in range(depth - len(self.queued())):
            self.post()

    def close(self) -> None:
        """Cancel every blocker, wait until they have left the queue, drop their history and files."""
        for prompt_id in self.ids:
            self.http.cancel(prompt_id)
        self.http.wait_gone(self.ids, timeout=30)
        self.http.delete_history(self.ids)
        for path in files_in(self.tier.output_dir):
            if any(prefix in path for prefix in self.prefixes):
                os.remove(path)


class JobLoop:
    """One event loop in a thread of its own for the whole session, like the RunPod worker's: jobs run on it
    through the SDK's job runner, and what a job leaves running on it (a clean-up task) goes on running."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="job-loop", daemon=True)
        self._thread.start()

    def submit(self, coroutine) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def call(self, coroutine, timeout: float):
        """Run a coroutine on the loop and wait for its result (TimeoutError after ``timeout``)."""
        future = self.submit(coroutine)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise AssertionError(f"still running after {timeout:g} s") from None

    def drain(self, timeout: float = 30.0) -> list[str]:
        """Wait for every task still on the loop (e.g. a job's clean-up after a cancel); names those left."""
        async def wait_all():
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            if tasks:
                await asyncio.wait(tasks, timeout=timeout)
            return [t.get_name() for t in tasks if not t.done()]
        return self.call(wait_all(), timeout + 5)

    def close(self) -> None:
        async def cancel_all():
            me = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not me:
                    task.cancel()
        try:
            self.call(cancel_all(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


@dataclass
class Worker:
    """Runs jobs through ``rp_job.run_job(worker.job.handler, job)`` on the session's job loop, with the
    environment set per test (the handler reads it at the start of every job)."""

    tier: Tier
    monkeypatch: pytest.MonkeyPatch
    jobs: JobLoop

    def configure(self, **env: Any) -> None:
        for name, value in env.items():
            self.monkeypatch.setenv(name, str(value))

    def point_at(self, url: str, input_dir: Path | str, output_dir: Path | str) -> None:
        self.configure(COMFYUI_URL=url, COMFYUI_INPUT_DIR=input_dir, COMFYUI_OUTPUT_DIR=output_dir)

    def use_spec(self, spec) -> None:
        from worker import job
        self.monkeypatch.setattr(job, "_spec", spec)

    def job(self, job_input: dict, what: str) -> dict:
        return {"id": self.tier.job_id(what), "input": job_input}

    @staticmethod
    def run_job(job: dict):
        """The coroutine RunPod's worker runs for one job: the SDK's own runner around the handler."""
        from runpod.serverless.modules import rp_job

        from worker import job as worker_job
        return rp_job.run_job(worker_job.handler, job)

    def run(self, job: dict, timeout: float = 240) -> dict:
        """One job to its end, as RunPod runs it: the SDK's result dict."""
        return self.jobs.call(self.run_job(job), timeout)

    def start(self, job: dict) -> "BackgroundJob":
        """Start one job and return at once, so the test can act on ComfyUI while it runs."""
        return BackgroundJob(self, job)

    def scenario(self, coroutine, timeout: float = 240):
        """Run a test's own coroutine on the job loop (it may create_task jobs and cancel them)."""
        return self.jobs.call(coroutine, timeout)


class BackgroundJob:
    """A job running on the job loop; ``wait`` returns its result, ``finished_at`` is when it ended."""

    def __init__(self, worker: Worker, job: dict):
        self.job = job
        self.finished_at = 0.0
        self.started_at = time.monotonic()
        self._future = worker.jobs.submit(self._run(worker.run_job(job)))

    async def _run(self, coroutine):
        try:
            return await coroutine
        finally:
            self.finished_at = time.monotonic()

    def wait(self, timeout: float) -> dict:
        try:
            return self._future.result(timeout)
        except concurrent.futures.TimeoutError:
            raise AssertionError(f"job {self.job['id']} still running after {timeout:g} s") from None

    @property
    def elapsed(self) -> float:
        return self.finished_at - self.started_at


def decode_video(video_b64: str) -> dict:
    """Decode the whole mp4 with PyAV: width, height, frame count, fps, and the centre pixel of frame 0 (RGB)."""
    import av

    with av.open(io.BytesIO(base64.b64decode(video_b64))) as container:
        stream = container.streams.video[0]
        frames = 0
        centre = None
        for frame in container.decode(stream):
            if centre is None:
                rgb = frame.reformat(format="rgb24")
                plane = rgb.planes[0]
                data = bytes(plane)
                x, y = rgb.width // 2, rgb.height // 2
                offset = y * plane.line_size + 3 * x
                centre = tuple(data[offset:offset + 3])
            frames += 1
        return {"width": stream.codec_context.width, "height": stream.codec_context.height, "frames": frames,
                "fps": float(stream.average_rate) if stream.average_rate else None, "centre": centre}


def render_graph(spec, job_input: dict, job_id: str = "render") -> dict:
    return copy.deepcopy(spec.render(spec.prepare(job_input), {"job_id": job_id, "random_seed": 1,
                                                               "input_image": "x.png"}).graph)


def wait_for_prompt(http: ComfyHTTP, marker: str, state: str, timeout: float = 60) -> str:
    """The id of the prompt whose graph mentions ``marker`` once it is ``running`` or ``pending``."""
    index = 0 if state == "running" else 1

    def find():
        found = http.prompts_marked(marker)[index]
        return next(iter(found)) if found else None
    return wait_until(find, f"a prompt of {marker} to be {state}", timeout=timeout)


class GoneWatch:
    """From now until ``until`` (time.monotonic), in a thread of its own: when were none of the prompts
    running or pending on ComfyUI any more? ``gone_at`` is that moment, None if it never came in time."""

    def __init__(self, http: ComfyHTTP, prompt_ids: set[str], until: float):
        self.http, self.prompt_ids, self.until = http, set(prompt_ids), until
        self.gone_at: float | None = None
        self.last_seen: tuple[set[str], set[str]] = (set(), set())
        self._thread = threading.Thread(target=self._watch, name="gone-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while True:
            running, pending = self.http.queued_ids()
            self.last_seen = (running & self.prompt_ids, pending & self.prompt_ids)
            if not (running | pending) & self.prompt_ids:
                self.gone_at = time.monotonic()
                return
            if time.monotonic() >= self.until:
                return
            time.sleep(0.05)

    def join(self) -> float | None:
        self._thread.join()
        return self.gone_at


def job_files(tier: Tier, job: dict, *directories: Path) -> list[str]:
    """The files in the directories (default: the shared server's input/output) named after the job."""
    return sorted(f for f in files_in(*(directories or (tier.input_dir, tier.output_dir))) if job["id"] in f)
