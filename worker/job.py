"""One RunPod job: validate, check the workflow is enabled, render, run on ComfyUI, deliver, clean up.

``handler`` is the function RunPod calls (through handler.py, and through ``python -m deploy`` in the
container); it never raises: every outcome is a result or one ``{"error": ...}``. See docs/handler.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import runpod
from runpod.serverless.modules.rp_logger import RunPodLogger

import engine
from engine.comfy.history import find_text, find_video
from engine.errors import ComfyFailed, ConfigError, Error, JobTimeout, RequestError, WorkerError
from engine.spec import pick_workflows

from .cleanup import JobFiles, remove_job_files
from .comfyui import ComfyClient, new_client_id, wait_ready
from .config import Config, load_config, log_to_stdout
from .delivery import deliver
from .image_input import has_image, load_request_image
from .progress import ProgressReporter
from .watch import Completion, PromptWatcher

log = logging.getLogger("worker")
_spec: engine.Spec | None = None

ALWAYS_SERVED = ("smoke",)
"""Model-free workflows every endpoint serves, whatever ENABLED_WORKFLOWS says (health checks)."""
STOP_BUDGET_S = 0.5
"""How long taking a prompt back may take: a frozen or silent ComfyUI gets no longer than this (so a
deadline with a frozen ComfyUI fails within a second of the deadline)."""
JANITOR_LIMIT_S = 900.0
"""How long clean-up after a stop waits for ComfyUI to let go of the prompt before removing files anyway."""
SMALL_INLINE_BYTES = 1 << 20
"""An inline video up to this size is encoded on the event loop (under a millisecond); a bigger one, or
an upload, runs in a thread so heartbeats and progress keep flowing."""
_JANITORS: set[asyncio.Task] = set()
"""Clean-ups running beside the worker (kept referenced so the event loop does not drop them)."""


def setup_logging() -> None:
    """Logs go to stdout (RunPod collects them): the worker's at LOG_LEVEL, libraries' at WARNING.

    ``force`` replaces the root handler that `import runpod` installs (rp_upload's basicConfig at INFO),
    which would otherwise print every aiohttp/boto request line.
    """
    log_to_stdout()
    if not (os.environ.get("RUNPOD_LOG_LEVEL") or os.environ.get("RUNPOD_DEBUG_LEVEL")):
        # The SDK logs every result at DEBUG, and a local run's whole result (the base64 video) at INFO.
        RunPodLogger().set_level("INFO" if os.environ.get("RUNPOD_WEBHOOK_GET_JOB") else "WARN")
    try:
        log.setLevel(os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO")
    except ValueError:
        log.setLevel(logging.INFO)  # every job reports the bad LOG_LEVEL as a configuration error


def get_spec() -> engine.Spec:
    """The engine spec, loaded once per worker process."""
    global _spec
    if _spec is None:
        _spec = engine.load_spec()
    return _spec


def enabled_workflows(spec: engine.Spec, patterns: str) -> list[str]:
    """The workflows ENABLED_WORKFLOWS names, plus the model-free ones every endpoint serves."""
    enabled = pick_workflows(spec.workflows, patterns, "ENABLED_WORKFLOWS")
    return enabled + [name for name in ALWAYS_SERVED if name in spec.workflows and name not in enabled]


def make_job_id(runpod_id: Any) -> str:
    """A file-name-safe, unique job id: the RunPod id sanitized plus a random suffix.

    The suffix keeps re-sent ids (e.g. "local_test") from reusing a filename_prefix, which would let
    ComfyUI's cache hand back an old (already deleted) file.
    """
    safe = re.sub(r"[^A-Za-z0-9_-]", "", str(runpod_id or ""))[:40]
    suffix = uuid.uuid4().hex[:12]
    return f"{safe}-{suffix}" if safe else uuid.uuid4().hex


def progress_sender(job: dict) -> Callable[[dict], None]:
    """Where progress goes: RunPod's job status when running on RunPod, the log otherwise."""
    if os.environ.get("RUNPOD_WEBHOOK_POST_OUTPUT"):
        return lambda payload: runpod.serverless.progress_update(job, payload)
    return lambda payload: log.info("progress: %s", payload.get("message"))


async def _output_file(item: dict, config: Config, client: ComfyClient, run: "_Run", job_id: str) -> str:
    """Path of the output: ComfyUI's output directory when it is on this machine, else fetched via /view
    into a scratch folder of the job's (``run.scratch``, removed when the job ends)."""
    subfolder, filename = item.get("subfolder") or "", item["filename"]
    if item.get("type", "output") == "output":
        local = os.path.join(config.comfyui_output_dir, subfolder, filename)
        if os.path.isfile(local):
            return local
    run.scratch = tempfile.mkdtemp(prefix=f"{job_id}-")
    destination = os.path.join(run.scratch, os.path.basename(filename))
    await client.view_to_file(filename, subfolder, item.get("type", "output"), destination)
    return destination


def _timings(started: float, posted: float, done: Completion, now: float) -> dict:
    """Queue wait (posted -> execution_start), execution (start -> completion) and total so far, seconds."""
    begin = done.started_at if done.started_at is not None else posted
    return {
        "queue_wait_s": round(begin - posted, 3) if done.started_at is not None else None,
        "execution_s": round(done.finished_at - begin, 3),
        "total_s": round(now - started, 3),
    }


def text_outputs(rendered: engine.Rendered, entry: dict, video_node: str) -> dict[str, Any]:
    """The text each other named output recorded (e.g. PreviewAny: ``enhanced_prompt``), by output name.

    Outputs the render removed (a bypass) are not in ``rendered.outputs``; one that ran without
    recording text is logged and left out, so the video is still delivered.
    """
    texts: dict[str, Any] = {}
    for name, node_id in rendered.outputs.items():
        if node_id == video_node:
            continue
        text = find_text(entry, node_id)
        if text is None:
            log.warning("output %s: node %s (%s) recorded no text", name, node_id,
                        rendered.graph[node_id].get("class_type"))
        else:
            texts[name] = text
    return texts


@dataclass
class _Run:
    """Where one job is, for the deadline's and a cancel's message and clean-up."""

    ends_at: float
    """The deadline, on the event loop's clock."""
    stage: str = "connecting to ComfyUI"
    prompt_id: str | None = None
    ended: bool = False
    where: Callable[[], str] = lambda: ""
    files: JobFiles = field(default_factory=JobFiles)
    """What the job asked ComfyUI to write, for clean-up."""
    scratch: str | None = None
    """The job's own folder for an output fetched over HTTP, if one was needed."""


async def _execute(job: dict, config: Config, spec: engine.Spec, prepared: engine.Prepared, client: ComfyClient,
                   job_id: str, run: _Run) -> tuple[engine.Rendered, Completion, float]:
    """Image, render, queue, follow: everything up to ComfyUI's completion (inside the job's deadline)."""
    loop = asyncio.get_running_loop()
    async with PromptWatcher(client, new_client_id(), poll_interval=config.history_poll_s) as watcher:
        input_image = image = None
        if has_image(prepared.request):  # off the event loop: a fetch or decode can take a while
            run.stage = "reading the input image"
            left = max(0.01, run.ends_at - loop.time())
            image = await asyncio.to_thread(load_request_image, prepared.request, max_bytes=config.image_max_bytes,
                                            timeout=min(config.image_fetch_timeout_s, left),
                                            max_pixels=config.image_max_pixels)
        if image is not None:
            run.stage = "uploading the input image to ComfyUI"
            run.files.uploads.append(f"{job_id}.{image.extension}")
            input_image = await client.upload_image(image.data, f"{job_id}.{image.extension}", image.content_type)
            run.files.uploads.append(input_image)
        rendered = spec.render(prepared, runtime={"job_id": job_id, "random_seed": engine.new_random_seed(),
                                                  "input_image": input_image})
        run.files.add_outputs(rendered.graph)
        reporter = ProgressReporter(rendered.graph, progress_sender(job), config.progress_interval_s)
        watcher.on_event, watcher.on_idle = reporter, reporter.idle
        run.where = lambda: reporter.tracker.payload()["message"] if watcher.last_node else ""
        run.stage, run.prompt_id = "queueing the prompt on ComfyUI", str(uuid.uuid4())
        posted = loop.time()
        await client.queue_prompt(rendered.graph, watcher.client_id, run.prompt_id, rendered.parameters_for)
        log.info("job %s queued as prompt %s (workflow %s)", job_id, run.prompt_id, rendered.workflow)
        run.stage = "running on ComfyUI"
        try:
            done = await watcher.wait(run.prompt_id)
        except ComfyFailed:
            run.ended = True
            raise
        run.ended = True
        return rendered, done, posted


async def _stop(client: ComfyClient, prompt_id: str) -> bool:
    """Take the prompt back (pending: unqueued; running: interrupted); False if ComfyUI did not answer in time."""
    try:
        async with asyncio.timeout(STOP_BUDGET_S):
            await client.cancel(prompt_id, timeout=STOP_BUDGET_S)
        return True
    except (WorkerError, TimeoutError):
        return False


async def _let_go(client: ComfyClient, prompt_id: str, grace_s: float) -> bool:
    """True once ComfyUI no longer runs or queues the prompt, False if it still does after ``grace_s``."""
    try:
        async with asyncio.timeout(grace_s):
            while await client.in_queue(prompt_id):
                await asyncio.sleep(0.1)
        return True
    except (WorkerError, TimeoutError):
        return False


async def _clean_when_done(config: Config, prompt_id: str, job_id: str, files: JobFiles) -> None:
    """After a stop: wait until ComfyUI has let go of the prompt (an interrupted SaveVideo still finishes
    its file), then remove the job's files again. Runs beside the worker, never holding up the job."""
    async with ComfyClient.open(config.comfyui_url, config.comfyui_http_timeout_s) as client:
        await _let_go(client, prompt_id, JANITOR_LIMIT_S)
    removed = remove_job_files(job_id, [config.comfyui_input_dir, config.comfyui_output_dir], files)
    if removed:
        log.info("job %s: removed %d file(s) ComfyUI wrote after the job ended", job_id, len(removed))


def _start_janitor(config: Config, prompt_id: str, job_id: str, files: JobFiles) -> None:
    task = asyncio.get_running_loop().create_task(_clean_when_done(config, prompt_id, job_id, files))
    _JANITORS.add(task)
    task.add_done_callback(_JANITORS.discard)


async def _deadline_error(client: ComfyClient, run: _Run, config: Config) -> JobTimeout:
    """The job's error at its deadline, after taking the prompt back: refresh when ComfyUI is wedged."""
    where = run.where()
    message = f"the job ran past its {config.job_timeout_s:g} s deadline (JOB_TIMEOUT_S) while {run.stage}"
    message += f" (ComfyUI was at {where})" if where else ""
    if run.prompt_id is None:
        return JobTimeout(f"{message}; ComfyUI at {config.comfyui_url} did not answer; this worker will be "
                          "replaced", refresh_worker=run.stage != "reading the input image")
    if not await _stop(client, run.prompt_id):
        return JobTimeout(f"{message}; ComfyUI did not answer the cancel within {STOP_BUDGET_S:g} s; this "
                          "worker will be replaced", refresh_worker=True)
    if not await _let_go(client, run.prompt_id, config.interrupt_grace_s):
        return JobTimeout(f"{message}; it was interrupted, but ComfyUI did not stop within "
                          f"{config.interrupt_grace_s:g} s (INTERRUPT_GRACE_S); this worker will be replaced",
                          refresh_worker=True)
    return JobTimeout(f"{message}; it was interrupted")


async def run_job(job: dict, config: Config) -> dict:
    """Validate, render, run on ComfyUI, deliver; raises an engine.errors.Error on failure.

    The deadline (JOB_TIMEOUT_S, up to ComfyUI's completion) and a cancel (asyncio.CancelledError, how
    the runpod SDK stops a job) end the same way: the prompt is taken back from ComfyUI at once, the
    job's files are removed, and again once ComfyUI lets go of the prompt.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    spec = get_spec()
    prepared = spec.prepare(job.get("input"))
    enabled = enabled_workflows(spec, config.enabled_workflows)
    if prepared.workflow.name not in enabled:
        raise RequestError("workflow", f"{prepared.workflow.name} is not enabled on this endpoint "
                                       f"(ENABLED_WORKFLOWS serves {', '.join(enabled)})")
    job_id = make_job_id(job.get("id"))
    run = _Run(ends_at=started + config.job_timeout_s)
    try:
        async with ComfyClient.open(config.comfyui_url, config.comfyui_http_timeout_s) as client:
            deadline = asyncio.timeout(config.job_timeout_s)
            try:
                async with deadline:
                    rendered, done, posted = await _execute(job, config, spec, prepared, client, job_id, run)
            except BaseException as exc:  # the deadline, a cancel, a failure or a bug
                timed_out = isinstance(exc, TimeoutError) and deadline.expired()
                if timed_out:
                    error = await _deadline_error(client, run, config)
                elif run.prompt_id is not None and not run.ended:
                    await _stop(client, run.prompt_id)
                if run.prompt_id is not None and not run.ended:
                    _start_janitor(config, run.prompt_id, job_id, run.files)
                if timed_out:
                    raise error from None
                raise
            node_id = rendered.outputs.get("video") or next(iter(rendered.outputs.values()))
            item = find_video(done.entry, node_id, rendered.graph.get(node_id, {}).get("class_type"))
            path = await _output_file(item, config, client, run, job_id)
        metadata = {**rendered.metadata, **text_outputs(rendered, done.entry, node_id),
                    "timings": _timings(started, posted, done, loop.time())}
        if config.bucket_configured or os.path.getsize(path) > SMALL_INLINE_BYTES:
            result = await asyncio.to_thread(deliver, path, config, job_id, metadata)  # keeps the loop free
        else:
            result = deliver(path, config, job_id, metadata)  # microseconds: cheaper than a thread hop
        result["timings"]["total_s"] = round(loop.time() - started, 3)
        return result
    finally:
        if run.scratch is not None:
            shutil.rmtree(run.scratch, ignore_errors=True)
        remove_job_files(job_id, [config.comfyui_input_dir, config.comfyui_output_dir], run.files)


async def handler(job: dict) -> dict:
    """RunPod handler: the result dict, or {"error": ...} (+ refresh_worker when ComfyUI is dead); never raises
    but asyncio.CancelledError, which is how RunPod stops a job (the prompt is taken back first).

    The one place errors become results: the caller's mistakes are logged as refused, the rest as failures.
    """
    try:
        config = load_config()
        log.setLevel(config.log_level)
        result = await run_job(job, config)
        log.info("job %s done: %s", job.get("id"), summary(result))
        return result
    except RequestError as err:
        log.warning("job %s refused: %s", job.get("id"), err)
        return {"error": str(err)}
    except WorkerError as err:
        log.error("job %s failed: %s", job.get("id"), err)
        return {"error": str(err), "refresh_worker": True} if err.refresh_worker else {"error": str(err)}
    except Error as err:  # a setting (ConfigError) or the workflow's spec (an expression bug): not the caller's
        log.error("job %s failed: %s", job.get("id"), err)
        return {"error": str(err)}
    except asyncio.CancelledError:
        log.warning("job %s cancelled", job.get("id"))
        raise
    except Exception as err:  # the caller must get one clear line, not the SDK's traceback dump
        log.exception("job %s: internal error", job.get("id"))
        return {"error": f"internal worker error: {type(err).__name__}: {err}"}


def summary(result: dict) -> str:
    """A result as one log line without its payload: never the video, nor a presigned URL (a credential)."""
    size = f"{result.get('width')}x{result.get('height')}, {result.get('frames')} frames"
    if "video" in result:
        delivery = f"inline, {len(result['video'])} base64 characters"
    else:
        delivery = "uploaded to the bucket"
    return f"{result.get('workflow')}, {size}, {delivery}, {result.get('timings', {}).get('total_s')} s"


def run_sync(job: dict) -> dict:
    """One job outside an event loop (the container's warmup): ``handler`` run to its end."""
    return asyncio.run(handler(job))


async def wait_for_comfyui() -> None:
    """Fitness check (RunPod production only): take no jobs until ComfyUI answers, up to the readiness wait."""
    try:
        config = load_config()
    except ConfigError:
        return  # every job will report the configuration error clearly; do not kill the worker over it
    async with ComfyClient.open(config.comfyui_url, timeout=2.0) as client:
        ready = await wait_ready(client, config.comfyui_ready_timeout_s)
    if not ready:
        raise RuntimeError(f"ComfyUI did not answer at {config.comfyui_url} within "
                           f"{config.comfyui_ready_timeout_s:g} s (COMFYUI_READY_TIMEOUT_S)")


def test_input_problem(argv: list[str]) -> str | None:
    """Why ``--test_input`` on the command line is not a job the SDK can run, or None (the SDK's own
    parsing would end in a traceback)."""
    for index, arg in enumerate(argv):
        if arg == "--test_input" or arg.startswith("--test_input="):
            text = arg.partition("=")[2] if "=" in arg else (argv[index + 1] if index + 1 < len(argv) else "")
            try:
                job = json.loads(text)
            except ValueError as err:
                return f"--test_input: not valid JSON ({err})"
            if not isinstance(job, dict) or "input" not in job:
                return '--test_input: must be a JSON object with an "input" object, like {"input": {"workflow": "smoke"}}'
    return None


def serve() -> None:
    """Run the RunPod SDK's job loop with this handler (and the ComfyUI fitness check on RunPod)."""
    problem = test_input_problem(sys.argv[1:])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    runpod.serverless.register_fitness_check(wait_for_comfyui)
    runpod.serverless.start({"handler": handler})
