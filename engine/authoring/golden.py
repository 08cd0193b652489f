"""Golden files: the rendered result of every case in tests/golden/cases.yaml, one JSON file each.

A golden file holds the request, the metadata, the patch and the full graph, so a review sees
both what changed in the mapping (the patch) and exactly what reaches the GPU (the graph).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..files import read_yaml
from ..spec import Spec

CASES_FILE = "cases.yaml"


def load_cases(directory: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The runtime values and the named requests of the golden matrix."""
    raw = read_yaml(directory / CASES_FILE)
    return raw["runtime"], raw["cases"]


def render_case(spec: Spec, request: dict[str, Any], runtime: dict[str, Any]) -> str:
    """The golden text of one request: stable key order, two-space indent, trailing newline."""
    rendered = spec.render(spec.prepare(request), runtime)
    document = {
        "request": request,
        "runtime": runtime,
        "metadata": rendered.metadata,
        "patch": rendered.patch,
        "graph": rendered.graph,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def expected_files(spec: Spec, directory: Path) -> dict[Path, str]:
    """Every golden file the matrix defines, with its expected text."""
    runtime, cases = load_cases(directory)
    return {directory / f"{name}.json": render_case(spec, request, runtime) for name, request in cases.items()}


def regenerate(spec: Spec, directory: Path) -> list[Path]:
    """Rewrite the golden files that changed and delete those no case defines; returns what changed."""
    expected = expected_files(spec, directory)
    changed = []
    for path, text in expected.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for path in sorted(directory.glob("*.json")):
        if path not in expected:
            path.unlink()
            changed.append(path)
    return changed


def check(spec: Spec, directory: Path) -> list[str]:
    """One line per golden file that is missing, stale or differs from what the spec renders."""
    expected = expected_files(spec, directory)
    lines = [f"missing: {p}" for p, _ in expected.items() if not p.exists()]
    lines += [f"differs: {p}" for p, t in expected.items() if p.exists() and p.read_text(encoding="utf-8") != t]
    lines += [f"not in {CASES_FILE}: {p}" for p in sorted(directory.glob("*.json")) if p not in expected]
    return lines
