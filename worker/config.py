"""Worker configuration: environment variables -> one frozen dataclass, with documented defaults; and
where the log goes (log_to_stdout)."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, TypeVar

from engine.errors import ConfigError

BUCKET_VARS = ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

T = TypeVar("T", int, float)


@dataclass(frozen=True)
class Config:
    """Everything the handler reads from the environment (the README lists each variable)."""

    comfyui_url: str = "http://127.0.0.1:8188"
    comfyui_output_dir: str = "/comfyui/output"
    comfyui_input_dir: str = "/comfyui/input"
    comfyui_http_timeout_s: float = 10.0
    comfyui_ready_timeout_s: float = 300.0
    job_timeout_s: float = 540.0
    interrupt_grace_s: float = 10.0
    history_poll_s: float = 2.0
    progress_interval_s: float = 1.0
    inline_max_bytes: int = 20_000_000
    image_max_bytes: int = 20_000_000
    image_max_pixels: int = 4096 * 4096
    """IMAGE_MAX_PIXELS: the largest input image (width x height) a job takes; LTX-2 renders at most 1920x1920."""
    image_fetch_timeout_s: float = 20.0
    bucket_endpoint_url: str = ""
    bucket_access_key_id: str = ""
    bucket_secret_access_key: str = ""
    bucket_name: str = ""
    log_level: str = "INFO"
    enabled_workflows: str = "ltx2-*"
    """ENABLED_WORKFLOWS: names or patterns of the workflows this endpoint serves (smoke always)."""

    @property
    def bucket_configured(self) -> bool:
        """True when uploads go to the bucket (all three BUCKET_* credentials are set)."""
        return bool(self.bucket_endpoint_url)


def env_number(env: Mapping[str, str], name: str, default: T, kind: Callable[[str], T]) -> T:
    """Parse one positive number variable, naming the variable when it is wrong."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be greater than 0")
    return value


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """A 1/0 switch (also true/false, yes/no); empty is off."""
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name}={raw!r} must be 1 or 0")


def env_choice(env: Mapping[str, str], name: str, default: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (compared upper-cased when the choices are), empty meaning ``default``."""
    raw = env.get(name, "").strip()
    value = (raw.upper() if all(c.isupper() for c in choices) else raw.lower()) or default
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def _bucket(env: Mapping[str, str]) -> dict[str, str]:
    """Read BUCKET_*: all three or none, never a partial set (the SDK would silently write to local disk)."""
    values = {name: env.get(name, "").strip() for name in BUCKET_VARS}
    missing = [name for name, value in values.items() if not value]
    if missing and len(missing) < len(BUCKET_VARS):
        present = [name for name in BUCKET_VARS if name not in missing]
        raise ConfigError(
            f"bucket upload is half configured: {', '.join(present)} set but {', '.join(missing)} "
            "missing; set all three BUCKET_* variables or none"
        )
    return values


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Build the Config from the environment; raises ConfigError naming the bad variable."""
    env = os.environ if environ is None else environ
    d = Config()
    bucket = _bucket(env)
    log_level = env_choice(env, "LOG_LEVEL", d.log_level, LOG_LEVELS)
    url = env.get("COMFYUI_URL", d.comfyui_url).strip().rstrip("/") or d.comfyui_url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"COMFYUI_URL={url!r} must start with http:// or https://")
    return Config(
        comfyui_url=url,
        comfyui_output_dir=env.get("COMFYUI_OUTPUT_DIR", d.comfyui_output_dir),
        comfyui_input_dir=env.get("COMFYUI_INPUT_DIR", d.comfyui_input_dir),
        comfyui_http_timeout_s=env_number(env, "COMFYUI_HTTP_TIMEOUT_S", d.comfyui_http_timeout_s, float),
        comfyui_ready_timeout_s=env_number(env, "COMFYUI_READY_TIMEOUT_S", d.comfyui_ready_timeout_s, float),
        job_timeout_s=env_number(env, "JOB_TIMEOUT_S", d.job_timeout_s, float),
        interrupt_grace_s=env_number(env, "INTERRUPT_GRACE_S", d.interrupt_grace_s, float),
        history_poll_s=env_number(env, "HISTORY_POLL_S", d.history_poll_s, float),
        progress_interval_s=env_number(env, "PROGRESS_INTERVAL_S", d.progress_interval_s, float),
        inline_max_bytes=env_number(env, "INLINE_MAX_BYTES", d.inline_max_bytes, int),
        image_max_bytes=env_number(env, "IMAGE_MAX_BYTES", d.image_max_bytes, int),
        image_max_pixels=env_number(env, "IMAGE_MAX_PIXELS", d.image_max_pixels, int),
        image_fetch_timeout_s=env_number(env, "IMAGE_FETCH_TIMEOUT_S", d.image_fetch_timeout_s, float),
        bucket_endpoint_url=bucket["BUCKET_ENDPOINT_URL"],
        bucket_access_key_id=bucket["BUCKET_ACCESS_KEY_ID"],
        bucket_secret_access_key=bucket["BUCKET_SECRET_ACCESS_KEY"],
        bucket_name=env.get("BUCKET_NAME", "").strip(),
        log_level=log_level,
        enabled_workflows=env.get("ENABLED_WORKFLOWS", "").strip() or d.enabled_workflows,
    )


def log_to_stdout() -> None:
    """Send every log line to stdout (RunPod collects it), libraries' at WARNING, in the worker's format.

    ``force`` replaces a root handler installed earlier (`import runpod` installs one at INFO)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(levelname)-7s| %(name)s | %(message)s",
                        force=True)
