"""The committed capture of the official template library (tests/data/frontend/library.jsonl.gz).

Written by tests/frontend/capture_library.py from the frontend a real ComfyUI 0.27.0 serves;
read by the unit tests (importer == frontend) and the integration tier (the real server accepts
the imported graphs). Provenance: tests/frontend/README.md.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "tests" / "data" / "frontend" / "library.jsonl.gz"
SPEC_CATALOG = ROOT / "spec" / "object_info.json"


@dataclass(frozen=True)
class Template:
    """One template of the library: its UI file as served, and the frontend's Export (API) of it."""

    name: str
    sha256: str
    ui: dict[str, Any]
    api: dict[str, Any]
    page_errors: tuple[str, ...]


@lru_cache(maxsize=2)
def read_library(path: Path = LIBRARY) -> tuple[dict[str, Any], tuple[Template, ...]]:
    """The capture's meta record and its templates, in the library's order."""
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    meta = records[0]["meta"]
    templates = tuple(Template(r["name"], r["sha256"], r["ui"], r["api"], tuple(r["page_errors"]))
                      for r in records[1:])
    return meta, templates


def _option_lists_only(a: Any, b: Any) -> bool:
    """Whether two input specs differ only in a combo's list of values (files present on a server)."""
    if not (isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and 1 <= len(a) <= 2):
        return False
    values_a, options_a = a[0], a[1] if len(a) > 1 else {}
    values_b, options_b = b[0], b[1] if len(b) > 1 else {}
    if isinstance(values_a, list) and isinstance(values_b, list):
        return options_a == options_b
    strip = lambda o: {k: v for k, v in o.items() if k != "options"} if isinstance(o, dict) else o  # noqa: E731
    return values_a == values_b == "COMBO" and strip(options_a) == strip(options_b)


def catalogue_differences(catalog: Mapping[str, Any], reference: Path = SPEC_CATALOG) -> list[str]:
    """Where ``catalog`` differs from spec/object_info.json: one line per class or input.

    A difference only in a combo's values (the model or input files a server has) reads
    ``"Class.input: values"``; any other reads ``"Class: ..."``.
    """
    spec = json.loads(reference.read_text(encoding="utf-8"))
    lines = [f"{name}: only in {'the server' if name in catalog else 'spec'}" for name in sorted(set(spec) ^ set(catalog))]
    for name in sorted(set(spec) & set(catalog)):
        ours, theirs = spec[name], catalog[name]
        if ours == theirs:
            continue
        rest = lambda d: {k: v for k, v in d.items() if k != "input"}  # noqa: E731
        if rest(ours) != rest(theirs) or set(ours.get("input", {})) != set(theirs.get("input", {})):
            lines.append(f"{name}: differs")
            continue
        for section, inputs in ours.get("input", {}).items():
            other = theirs["input"][section]
            if set(inputs) != set(other):
                lines.append(f"{name}: {section} inputs differ")
                continue
            for input_name in inputs:
                if inputs[input_name] != other[input_name]:
                    why = "values" if _option_lists_only(inputs[input_name], other[input_name]) else "differs"
                    lines.append(f"{name}.{input_name}: {why}")
    return lines
