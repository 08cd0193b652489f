"""Container entry point (``python -m engine.start``): fetch missing models if asked, start ComfyUI beside
the worker, wait until it answers, preflight the enabled workflows against it, warm up if asked, then run
the RunPod handler. Any failure before the handler starts exits non-zero with a message saying what is
wrong and where, so RunPod shows it and the worker never takes a job it cannot serve."""

from __future__ import annotations

import collections
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from .config import load_config
from .errors import EngineError
from .loader import ROOT, load_spec
from .models import load_manifest, needed_models, pick_workflows
from .preflight import LiveComfy, preflight
from .spec import Spec
from .worker_errors import ComfyFailed, ComfyUnreachable, WorkerError

log = logging.getLogger("start")

WARMUPS = ("none", "smoke", "ltx2")
TAIL_LINES = 40
WARMUP_LTX2 = {"prompt": "A calm lake at sunrise, gentle ripples.", "width": 256, "height": 256, "duration": 10,
               "camera_lora": "none"}
"""The smallest real LTX-2 job the schema allows: 256x256, 10 s."""


class StartError(WorkerError):
    """The worker cannot start serving: says what failed and where to look."""


@dataclass(frozen=True)
class StartConfig:
    """What the entry point reads from the environment (documented in the README, "Deploy")."""

    comfyui_dir: Path = Path("/comfyui")
    comfyui_python: str = sys.executable
    comfyui_log_level: str = "WARNING"
    comfyui_args: tuple[str, ...] = ()
    extra_model_paths: Path = ROOT / "docker" / "extra_model_paths.yaml"
    enabled_workflows: str = "ltx2-*"
    download_models: bool = False
    download_dir: Path | None = None
    warmup: str = "none"


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise StartError(f"{name}={raw!r} must be 1 or 0")


def load_start_config(environ: Mapping[str, str] | None = None) -> StartConfig:
    """Read the start-up settings; raises StartError naming a bad variable."""
    env = os.environ if environ is None else environ
    d = StartConfig()
    warmup = env.get("WARMUP", d.warmup).strip().lower() or d.warmup
    if warmup not in WARMUPS:
        raise StartError(f"WARMUP={warmup!r} is not one of {', '.join(WARMUPS)}")
    level = env.get("COMFYUI_LOG_LEVEL", d.comfyui_log_level).strip().upper() or d.comfyui_log_level
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise StartError(f"COMFYUI_LOG_LEVEL={level!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    download_dir = env.get("MODELS_DOWNLOAD_DIR", "").strip()
    return StartConfig(
        comfyui_dir=Path(env.get("COMFYUI_DIR", "").strip() or d.comfyui_dir),
        comfyui_python=env.get("COMFYUI_PYTHON", "").strip() or d.comfyui_python,
        comfyui_log_level=level,
        comfyui_args=tuple(shlex.split(env.get("COMFYUI_ARGS", ""))),
        extra_model_paths=Path(env.get("COMFYUI_EXTRA_MODEL_PATHS", "").strip() or d.extra_model_paths),
        enabled_workflows=env.get("ENABLED_WORKFLOWS", "").strip() or d.enabled_workflows,
        download_models=_flag(env, "DOWNLOAD_MODELS"),
        download_dir=Path(download_dir) if download_dir else None,
        warmup=warmup,
    )


def model_dirs(comfyui_dir: Path, extra_model_paths: Path, folders: Iterable[str]) -> dict[str, list[Path]]:
    """Where ComfyUI looks for each model folder: its own models/<folder>, then each extra_model_paths entry."""
    dirs = {folder: [comfyui_dir / "models" / folder] for folder in folders}
    if not extra_model_paths.is_file():
        return dirs
    for section in (yaml.safe_load(extra_model_paths.read_text(encoding="utf-8")) or {}).values():
        base = extra_model_paths.parent / os.path.expandvars(os.path.expanduser(str(section.get("base_path", ""))))
        for folder, paths in section.items():
            if folder in dirs:
                dirs[folder] += [base / line.strip() for line in str(paths).splitlines() if line.strip()]
    return dirs


def download_root(config: StartConfig) -> Path:
    """Where first-start downloads go: MODELS_DOWNLOAD_DIR, else the first base_path of the model-paths file."""
    if config.download_dir is not None:
        return config.download_dir
    if config.extra_model_paths.is_file():
        for section in (yaml.safe_load(config.extra_model_paths.read_text(encoding="utf-8")) or {}).values():
            if section.get("base_path"):
                return config.extra_model_paths.parent / str(section["base_path"])
    raise StartError(f"DOWNLOAD_MODELS=1 but no MODELS_DOWNLOAD_DIR and no base_path in {config.extra_model_paths}")


def comfy_command(config: StartConfig, url: str) -> list[str]:
    """ComfyUI's command line: loopback only, no browser, quiet unless asked, the model-paths file, no custom nodes."""
    port = urllib.parse.urlsplit(url).port or 8188
    command = [config.comfyui_python, str(config.comfyui_dir / "main.py"), "--listen", "127.0.0.1",
               "--port", str(port), "--disable-auto-launch", "--disable-all-custom-nodes",
               "--verbose", config.comfyui_log_level]
    if config.extra_model_paths.is_file():
        command += ["--extra-model-paths-config", str(config.extra_model_paths)]
    return command + list(config.comfyui_args)


class ComfyProcess:
    """ComfyUI as a child process; its output goes into the worker's log, the last lines kept for errors."""

    def __init__(self, command: Sequence[str], cwd: Path):
        self.command = list(command)
        self.cwd = cwd
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.process: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        """Launch ComfyUI in its own process group, with stdout and stderr copied to ours."""
        log.info("starting ComfyUI: %s", shlex.join(self.command))
        self.process = subprocess.Popen(self.command, cwd=self.cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, errors="replace",
                                        start_new_session=True)
        self._pump = threading.Thread(target=self._copy_output, name="comfyui-log", daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            self.tail.append(line)
            sys.stdout.write(f"comfyui | {line}\n")
            sys.stdout.flush()

    def exit_code(self) -> int | None:
        """ComfyUI's exit code, or None while it runs."""
        return None if self.process is None else self.process.poll()

    def last_lines(self) -> str:
        """The tail of ComfyUI's log, indented, once its output has been read."""
        if self._pump is not None and self.exit_code() is not None:
            self._pump.join(timeout=2)
        return "\n".join(f"    {line}" for line in self.tail) or "    (no output)"

    def stop(self, grace_s: float = 10.0) -> None:
        """Terminate ComfyUI's process group, killing it after ``grace_s``."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wait_ready(comfy: ComfyProcess, client: LiveComfy, timeout_s: float, poll_s: float = 0.5) -> None:
    """Poll GET /system_stats until it answers; StartError if ComfyUI exits or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        code = comfy.exit_code()
        if code is not None:
            raise StartError(f"ComfyUI exited with code {code} during start-up; last lines of its log:\n"
                             f"{comfy.last_lines()}")
        try:
            client.system_stats(timeout=2.0)
            return
        except (ComfyUnreachable, ComfyFailed):
            if time.monotonic() > deadline:
                raise StartError(f"ComfyUI did not answer GET /system_stats at {client.base_url} within "
                                 f"{timeout_s:g} s (COMFYUI_READY_TIMEOUT_S); last lines of its log:\n"
                                 f"{comfy.last_lines()}") from None
            time.sleep(poll_s)


def enabled_workflows(spec: Spec, patterns: str) -> list[str]:
    """The workflows ENABLED_WORKFLOWS names (the four LTX-2 ones by default), plus the model-free smoke workflow."""
    try:
        enabled = pick_workflows(spec.workflows, patterns, "ENABLED_WORKFLOWS")
    except EngineError as err:
        raise StartError(str(err)) from None
    return enabled + [name for name in ("smoke",) if name in spec.workflows and name not in enabled]


def fetch_missing(config: StartConfig, spec: Spec, workflows: Sequence[str], dirs: Mapping[str, Sequence[Path]]) -> None:
    """DOWNLOAD_MODELS=1: fetch the files the enabled workflows need that no folder ComfyUI reads holds."""
    from .model_download import Downloader

    dest = download_root(config)
    if not dest.parent.is_dir():
        raise StartError(f"DOWNLOAD_MODELS=1 but {dest.parent} does not exist (is the network volume attached?)")
    manifest = load_manifest()
    needed = {m.name: m for ms in needed_models(spec, manifest, workflows).values() for m in ms}.values()
    missing = [m for m in needed if not any((d / m.name).is_file() for d in dirs.get(m.folder, ()))]
    log.info("models: %d needed, %d missing; downloading into %s", len(needed), len(missing), dest)
    try:
        Downloader(dest).run(missing)
    except EngineError as err:
        raise StartError(f"model download into {dest} failed:\n{err}") from None


def gate(handler: Callable[[dict], dict], spec: Spec, enabled: Sequence[str]) -> Callable[[dict], dict]:
    """Wrap the handler so a request for a workflow this endpoint does not serve gets a one-line error."""

    def serve(job: dict) -> dict:
        try:
            workflow = spec.prepare(job.get("input")).workflow
        except EngineError:
            return handler(job)  # the handler reports an invalid request the usual way
        if workflow not in enabled:
            return {"error": f"workflow: {workflow} is not enabled on this endpoint "
                             f"(ENABLED_WORKFLOWS serves {', '.join(enabled)})"}
        return handler(job)

    return serve


def warmup(kind: str, handler: Callable[[dict], dict], enabled: Sequence[str]) -> None:
    """Run one job before serving: the smoke clip, or the smallest real LTX-2 job."""
    if kind == "none":
        return
    if kind == "smoke":
        request: dict[str, Any] = {"workflow": "smoke"}
    else:
        workflow = next((w for w in enabled if w.startswith("ltx2-t2v")), None)
        if workflow is None:
            raise StartError(f"WARMUP=ltx2 needs an enabled ltx2-t2v workflow (enabled: {', '.join(enabled)})")
        request = {"workflow": workflow, **WARMUP_LTX2}
    started = time.monotonic()
    result = handler({"id": f"warmup-{kind}", "input": request})
    if "error" in result:
        raise StartError(f"warmup ({kind}) failed: {result['error']}")
    log.info("warmup (%s) done in %.1f s", kind, time.monotonic() - started)


def _import_handler() -> Any:
    """handler.py beside engine/ (imported here so its runpod import happens only once ComfyUI is ready)."""
    sys.path.insert(0, str(ROOT))
    import handler

    return handler


def run(config: StartConfig) -> None:
    """Every start-up step, then the handler (returns when the SDK's loop ends)."""
    worker_config = load_config()
    spec = load_spec()
    manifest = load_manifest()
    workflows = enabled_workflows(spec, config.enabled_workflows)
    log.info("enabled workflows: %s", ", ".join(workflows))
    dirs = model_dirs(config.comfyui_dir, config.extra_model_paths, sorted(set(manifest.loaders.values())))
    if config.download_models:
        fetch_missing(config, spec, workflows, dirs)
    comfy = ComfyProcess(comfy_command(config, worker_config.comfyui_url), config.comfyui_dir)
    comfy.start()
    try:
        client = LiveComfy(worker_config.comfyui_url, timeout=worker_config.comfyui_http_timeout_s)
        wait_ready(comfy, client, worker_config.comfyui_ready_timeout_s)
        log.info("ComfyUI is up at %s", client.base_url)
        preflight(client, spec, manifest, workflows, dirs)
        log.info("preflight ok: ComfyUI has every node class and model file for %s", ", ".join(workflows))
        handler = _import_handler()
        serve = gate(handler.handler, handler.get_spec(), workflows)
        warmup(config.warmup, serve, workflows)
        log.info("starting the handler")
        import runpod

        runpod.serverless.register_fitness_check(handler.wait_for_comfyui)
        runpod.serverless.start({"handler": serve})
    finally:
        comfy.stop()


def main() -> int:
    """Run start-up; a failure prints its message and exits 1 (SIGTERM stops ComfyUI too)."""
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)-7s| %(name)s | %(message)s",
                        force=True)
    log.setLevel(logging.INFO)
    logging.getLogger("models").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(load_start_config())
    except (WorkerError, EngineError) as err:
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
