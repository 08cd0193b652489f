"""One RunPod job: validate, check the workflow is enabled, render, run on ComfyUI, deliver, clean up.

``handler`` is the function RunPod calls (through handler.py, and through ``python -m deploy`` in the
container); it never raises: every outcome is a result or one ``{"error": ...}``. See docs/handler.md.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from typing import Any, Callable

import runpod

import engine
from engine.comfy.history import find_text, find_video
from engine.errors import ConfigError, Error, RequestError, WorkerError
from engine.spec import pick_workflows

from .cleanup import remove_job_files
from .comfyui import ComfyClient, wait_ready
from .config import Config, load_config
from .delivery import deliver
from .image_input import load_request_image
from .progress import ProgressReporter
from .watch import Completion, PromptWatcher

log = logging.getLogger("worker")
_spec: engine.Spec | None = None

ALWAYS_SERVED = ("smoke",)
"""Model-free workflows every endpoint serves, whatever ENABLED_WORKFLOWS says (health checks)."""


def setup_logging() -> None:
    """Logs go to stdout (RunPod collects them): the worker's at LOG_LEVEL, libraries' at WARNING.

    ``force`` replaces the root handler that `import runpod` installs (rp_upload's basicConfig at INFO),
    which would otherwise print every aiohttp/boto request line.
    """
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(levelname)-7s| %(name)s | %(message)s",
                        force=True)
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


def _output_file(item: dict, config: Config, client: ComfyClient, scratch: str) -> str:
    """Path of the output: ComfyUI's output directory when it is on this machine, else fetched via /view."""
    subfolder, filename = item.get("subfolder") or "", item["filename"]
    if item.get("type", "output") == "output":
        local = os.path.join(config.comfyui_output_dir, subfolder, filename)
        if os.path.isfile(local):
            return local
    destination = os.path.join(scratch, os.path.basename(filename))
    client.view_to_file(filename, subfolder, item.get("type", "output"), destination)
    return destination


def _timings(started: float, posted: float, done: Completion) -> dict:
    """Queue wait (posted -> execution_start), execution (start -> completion) and total so far, seconds."""
    begin = done.started_at if done.started_at is not None else posted
    return {
        "queue_wait_s": round(begin - posted, 3) if done.started_at is not None else None,
        "execution_s": round(done.finished_at - begin, 3),
        "total_s": round(time.monotonic() - started, 3),
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


def run_job(job: dict, config: Config) -> dict:
    """Validate, render, run on ComfyUI, deliver; raises an engine.errors.Error on failure."""
    started = time.monotonic()
    deadline = started + config.job_timeout_s
    spec = get_spec()
    prepared = spec.prepare(job.get("input"))
    enabled = enabled_workflows(spec, config.enabled_workflows)
    if prepared.workflow.name not in enabled:
        raise RequestError("workflow", f"{prepared.workflow.name} is not enabled on this endpoint "
                                       f"(ENABLED_WORKFLOWS serves {', '.join(enabled)})")
    client = ComfyClient(config.comfyui_url, config.comfyui_http_timeout_s)
    client.system_stats()
    job_id = make_job_id(job.get("id"))
    scratch = tempfile.mkdtemp(prefix=f"{job_id}-")
    try:
        input_image = None
        image = load_request_image(prepared.request, max_bytes=config.image_max_bytes,
                                   timeout=config.image_fetch_timeout_s)
        if image is not None:
            data, extension, content_type = image
            input_image = client.upload_image(data, f"{job_id}.{extension}", content_type)
        rendered = spec.render(prepared, runtime={"job_id": job_id, "random_seed": engine.new_random_seed(),
                                                  "input_image": input_image})
        reporter = ProgressReporter(rendered.graph, progress_sender(job), config.progress_interval_s)
        client_id = uuid.uuid4().hex
        with PromptWatcher(client, client_id, poll_interval=config.history_poll_s,
                           interrupt_grace=config.interrupt_grace_s, on_event=reporter,
                           on_idle=reporter.idle) as watcher:
            prompt_id = str(uuid.uuid4())
            posted = time.monotonic()
            client.queue_prompt(rendered.graph, client_id, prompt_id, rendered.parameters_for)
            log.info("job %s queued as prompt %s (workflow %s)", job_id, prompt_id, rendered.workflow)
            done = watcher.wait(prompt_id, deadline, timeout_s=config.job_timeout_s,
                                describe=lambda node: reporter.tracker.payload()["message"])
        node_id = rendered.outputs.get("video") or next(iter(rendered.outputs.values()))
        item = find_video(done.entry, node_id, rendered.graph.get(node_id, {}).get("class_type"))
        path = _output_file(item, config, client, scratch)
        metadata = {**rendered.metadata, **text_outputs(rendered, done.entry, node_id),
                    "timings": _timings(started, posted, done)}
        result = deliver(path, config, job_id, metadata)
        result["timings"]["total_s"] = round(time.monotonic() - started, 3)
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        remove_job_files(job_id, [config.comfyui_input_dir, config.comfyui_output_dir])


def handler(job: dict) -> dict:
    """RunPod handler: the result dict, or {"error": ...} (+ refresh_worker when ComfyUI is dead); never raises.

    The one place errors become results: the caller's mistakes are logged as refused, the rest as failures.
    """
    try:
        config = load_config()
        log.setLevel(config.log_level)
        return run_job(job, config)
    except RequestError as err:
        log.warning("job %s refused: %s", job.get("id"), err)
        return {"error": str(err)}
    except WorkerError as err:
        log.error("job %s failed: %s", job.get("id"), err)
        return {"error": str(err), "refresh_worker": True} if err.refresh_worker else {"error": str(err)}
    except Error as err:  # a setting (ConfigError) or the workflow's spec (an expression bug): not the caller's
        log.error("job %s failed: %s", job.get("id"), err)
        return {"error": str(err)}
    except Exception as err:  # the caller must get one clear line, not the SDK's traceback dump
        log.exception("job %s: internal error", job.get("id"))
        return {"error": f"internal worker error: {type(err).__name__}: {err}"}


def wait_for_comfyui() -> None:
    """Fitness check (RunPod production only): take no jobs until ComfyUI answers, up to the readiness wait."""
    try:
        config = load_config()
    except ConfigError:
        return  # every job will report the configuration error clearly; do not kill the worker over it
    if not wait_ready(ComfyClient(config.comfyui_url, timeout=2.0), config.comfyui_ready_timeout_s):
        raise RuntimeError(f"ComfyUI did not answer at {config.comfyui_url} within "
                           f"{config.comfyui_ready_timeout_s:g} s (COMFYUI_READY_TIMEOUT_S)")


def serve() -> None:
    """Run the RunPod SDK's job loop with this handler (and the ComfyUI fitness check on RunPod)."""
    runpod.serverless.register_fitness_check(wait_for_comfyui)
    runpod.serverless.start({"handler": handler})
