"""Start-up settings: the environment variables only the container's start-up reads (docs/deploy.md).

The job's own settings, ENABLED_WORKFLOWS among them, are worker.config's.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from engine import files
from worker.config import env_choice, env_flag

WARMUPS = ("none", "smoke", "ltx2")
COMFYUI_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class StartConfig:
    """What the entry point reads from the environment."""

    comfyui_dir: Path = Path("/comfyui")
    comfyui_python: str = sys.executable
    comfyui_log_level: str = "WARNING"
    comfyui_args: tuple[str, ...] = ()
    extra_model_paths: Path = files.EXTRA_MODEL_PATHS
    download_models: bool = False
    download_dir: Path | None = None
    warmup: str = "none"


def load_start_config(environ: Mapping[str, str] | None = None) -> StartConfig:
    """Read the start-up settings; raises ConfigError naming a bad variable."""
    env = os.environ if environ is None else environ
    d = StartConfig()
    download_dir = env.get("MODELS_DOWNLOAD_DIR", "").strip()
    return StartConfig(
        comfyui_dir=Path(env.get("COMFYUI_DIR", "").strip() or d.comfyui_dir),
        comfyui_python=env.get("COMFYUI_PYTHON", "").strip() or d.comfyui_python,
        comfyui_log_level=env_choice(env, "COMFYUI_LOG_LEVEL", d.comfyui_log_level, COMFYUI_LOG_LEVELS),
        comfyui_args=tuple(shlex.split(env.get("COMFYUI_ARGS", ""))),
        extra_model_paths=Path(env.get("COMFYUI_EXTRA_MODEL_PATHS", "").strip() or d.extra_model_paths),
        download_models=env_flag(env, "DOWNLOAD_MODELS"),
        download_dir=Path(download_dir) if download_dir else None,
        warmup=env_choice(env, "WARMUP", d.warmup, WARMUPS),
    )
