"""Container start-up (``python -m deploy``): fetch missing models if asked, start ComfyUI beside the
worker, wait until it answers, preflight the enabled workflows against it, warm up if asked, then run
the worker's job loop. Any failure before the loop starts exits non-zero with a message saying what is
wrong and where, so RunPod shows it and the worker never takes a job it cannot serve.

ComfyUI starts first: importing the worker (the runpod SDK, about 1.5 s) and loading the spec, once,
happen while it boots.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping, Sequence

from engine.errors import DeployError, Error
from engine.manifest import load_manifest, needed_models
from engine.spec import Spec
from worker.comfyui import ComfyClient, wait_ready
from worker.config import load_config, log_to_stdout

from .comfy_process import ComfyProcess, comfy_command
from .config import StartConfig, load_start_config
from .downloads import Downloader
from .model_paths import download_root, model_dirs
from .preflight import preflight

log = logging.getLogger("start")

WARMUP_LTX2 = {"prompt": "A calm lake at sunrise, gentle ripples.", "width": 256, "height": 256, "duration": 10,
               "camera_lora": "none"}
"""The smallest real LTX-2 job the schema allows: 256x256, 10 s."""


async def wait_for(comfy: ComfyProcess, client: ComfyClient, timeout_s: float, poll_s: float = 0.5) -> None:
    """Wait until ComfyUI answers; DeployError if it exits or ``timeout_s`` passes, with its log's tail."""
    if not await wait_ready(client, timeout_s, poll_s=poll_s, still_starting=comfy.check_running):
        raise DeployError(f"ComfyUI did not answer GET /system_stats at {client.base_url} within "
                          f"{timeout_s:g} s (COMFYUI_READY_TIMEOUT_S); last lines of its log:\n"
                          f"{comfy.last_lines()}")


def fetch_missing(config: StartConfig, spec: Spec, workflows: Sequence[str], dirs: Mapping[str, Sequence[Path]]) -> None:
    """DOWNLOAD_MODELS=1: fetch the files the enabled workflows need that no folder ComfyUI reads holds."""
    dest = download_root(config)
    if not dest.parent.is_dir():
        raise DeployError(f"DOWNLOAD_MODELS=1 but {dest.parent} does not exist (is the network volume attached?)")
    manifest = load_manifest()
    needed = {m.name: m for ms in needed_models(spec, manifest, workflows).values() for m in ms}.values()
    missing = [m for m in needed if not any((d / m.name).is_file() for d in dirs.get(m.folder, ()))]
    log.info("models: %d needed, %d missing; downloading into %s", len(needed), len(missing), dest)
    try:
        Downloader(dest).run(missing)
    except Error as err:
        raise DeployError(f"model download into {dest} failed:\n{err}") from None


def warmup(kind: str, handler: Callable[[dict], dict], enabled: Sequence[str]) -> None:
    """Run one job before serving: the smoke clip, or the smallest real LTX-2 job."""
    if kind == "none":
        return
    if kind == "smoke":
        request: dict[str, Any] = {"workflow": "smoke"}
    else:
        workflow = next((w for w in enabled if w.startswith("ltx2-t2v")), None)
        if workflow is None:
            raise DeployError(f"WARMUP=ltx2 needs an enabled ltx2-t2v workflow (enabled: {', '.join(enabled)})")
        request = {"workflow": workflow, **WARMUP_LTX2}
    started = time.monotonic()
    result = handler({"id": f"warmup-{kind}", "input": request})
    if "error" in result:
        raise DeployError(f"warmup ({kind}) failed: {result['error']}")
    log.info("warmup (%s) done in %.1f s", kind, time.monotonic() - started)


@cache
def worker() -> ModuleType:
    """The worker's job module, imported (with the runpod SDK) and its logging set up, once."""
    from worker import job

    job.setup_logging()
    log.setLevel(logging.INFO)
    logging.getLogger("models").setLevel(logging.INFO)
    return job


def run(config: StartConfig) -> None:
    """Every start-up step, then the worker's job loop (returns when the SDK's loop ends)."""
    worker_config = load_config()
    manifest = load_manifest()
    dirs = model_dirs(config.comfyui_dir, config.extra_model_paths, sorted(set(manifest.loaders.values())))
    if config.download_models:  # the files must be in place before ComfyUI lists its model folders
        job = worker()
        spec = job.get_spec()
        fetch_missing(config, spec, job.enabled_workflows(spec, worker_config.enabled_workflows), dirs)
    comfy = ComfyProcess(comfy_command(config, worker_config.comfyui_url), config.comfyui_dir)
    comfy.start()

    async def check(spec: Spec, workflows: Sequence[str]) -> None:
        async with ComfyClient.open(worker_config.comfyui_url, worker_config.comfyui_http_timeout_s) as client:
            await wait_for(comfy, client, worker_config.comfyui_ready_timeout_s)
            log.info("ComfyUI is up at %s", client.base_url)
            await preflight(client, spec, manifest, workflows, dirs)
        log.info("preflight ok: ComfyUI has every node class and model file for %s", ", ".join(workflows))

    try:
        job = worker()  # while ComfyUI boots
        spec = job.get_spec()
        workflows = job.enabled_workflows(spec, worker_config.enabled_workflows)
        log.info("enabled workflows: %s", ", ".join(workflows))
        asyncio.run(check(spec, workflows))
        warmup(config.warmup, job.run_sync, workflows)
        log.info("starting the handler")
        job.serve()
    finally:
        comfy.stop()


def main() -> int:
    """Run start-up; a failure prints its message and exits 1 (SIGTERM stops ComfyUI too).

    Until the worker is imported, the log goes to stdout as the worker's setup_logging will send it.
    """
    log_to_stdout()
    log.setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(load_start_config())
    except Error as err:
        log.error("%s", err)
        return 1
    return 0
