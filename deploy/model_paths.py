"""Where ComfyUI looks for model files: its own models/ folder, then each entry of extra_model_paths.yaml."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from engine import files
from engine.errors import DeployError

from .config import StartConfig


def _sections(extra_model_paths: Path) -> list[dict]:
    """The entries of a model-paths file (none when there is no file)."""
    if not extra_model_paths.is_file():
        return []
    return list((files.read_yaml(extra_model_paths) or {}).values())


def model_dirs(comfyui_dir: Path, extra_model_paths: Path, folders: Iterable[str]) -> dict[str, list[Path]]:
    """Where ComfyUI looks for each model folder: its own models/<folder>, then each extra_model_paths entry."""
    dirs = {folder: [comfyui_dir / "models" / folder] for folder in folders}
    for section in _sections(extra_model_paths):
        base = extra_model_paths.parent / os.path.expandvars(os.path.expanduser(str(section.get("base_path", ""))))
        for folder, paths in section.items():
            if folder in dirs:
                dirs[folder] += [base / line.strip() for line in str(paths).splitlines() if line.strip()]
    return dirs


def download_root(config: StartConfig) -> Path:
    """Where first-start downloads go: MODELS_DOWNLOAD_DIR, else the first base_path of the model-paths file."""
    if config.download_dir is not None:
        return config.download_dir
    for section in _sections(config.extra_model_paths):
        if section.get("base_path"):
            return config.extra_model_paths.parent / str(section["base_path"])
    raise DeployError(f"DOWNLOAD_MODELS=1 but no MODELS_DOWNLOAD_DIR and no base_path in {config.extra_model_paths}")
