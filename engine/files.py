"""The repository's files: where the spec, templates, catalogue and manifests are, and how YAML and
JSON are read (safe_load only; a syntax error becomes a SpecError naming the file and line)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml

from .errors import SpecError

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (the folder holding engine/, spec/ and templates/)."""

SPEC = ROOT / "spec" / "mappings.yaml"
MANIFEST = ROOT / "spec" / "models.yaml"
CATALOG = ROOT / "spec" / "object_info.json"
DISPLAY_NAMES = ROOT / "spec" / "frontend_display_names.json"
GOLDEN = ROOT / "tests" / "golden"
EXTRA_MODEL_PATHS = ROOT / "docker" / "extra_model_paths.yaml"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
"""The engine's own meta-schemas (mappings.schema.yaml, models.schema.yaml)."""

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader, in its C implementation when libyaml is present (same rules, ~10x faster)."""


def parse_yaml(text: str) -> Any:
    """YAML text -> data with the safe loader (no tags, no Python objects)."""
    return yaml.load(text, Loader=SAFE_LOADER)


def read_yaml(path: Path) -> Any:
    """Read a YAML file with safe_load; a syntax error becomes a SpecError with its line."""
    try:
        return parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError([f"{path}: cannot read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise SpecError([f"{path}: invalid YAML: {exc}".replace("\n", " ")]) from exc


def read_json(path: Path, where: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """Read a JSON file (objects built by ``object_pairs_hook`` if given); a missing or malformed file
    becomes a SpecError saying ``where`` it is used."""
    try:
        return json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=object_pairs_hook)
    except OSError as exc:
        raise SpecError([f"{where}: cannot read {path}: {exc.strerror}"]) from exc
    except json.JSONDecodeError as exc:
        raise SpecError([f"{where}: {path.name} is not valid JSON: {exc}"]) from exc


@lru_cache(maxsize=None)
def meta_schema(name: str) -> Any:
    """One of the engine's meta-schemas by file name, parsed once."""
    return parse_yaml((SCHEMAS / name).read_text(encoding="utf-8"))
