"""Every graph the importer makes of the official template library is accepted by a real ComfyUI.

The 452 UI files of tests/data/frontend/library.jsonl.gz are converted (with the catalogue the
frontend had, recorded in the capture) and each graph is posted to the real server's POST /prompt,
with an empty placeholder for every model or input file a graph names that the server lacks. A
graph the server refuses, or one the importer refuses to make, must be one whose frontend export
the server refuses too, and must be listed in docs/importer.md ("server-refused"). The acceptance
rate is printed.

Placeholders are made only where no file of that name exists and removed at the end. Which model
folder a file combo reads is found on the server itself: an empty probe file per folder, and the
combos that list it. Accepted graphs are queued, so each is taken back at once while slow prompts
of the tier's own keep the server busy (as test_workflows_on_comfyui.py does): nothing runs.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from engine.comfy import input_spec as ispec
from engine.comfy.importer import WorkflowImportError, convert
from tests.frontend.library import read_library
from tests.support import ROOT

DOC = ROOT / "docs" / "importer.md"
PROBE_SUFFIX = ".safetensors"


def documented_refusals() -> dict[str, str]:
    """The rows of the server-refused table of docs/importer.md: workflow -> why."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- server-refused:start -->", 1)[1].split("<!-- server-refused:end -->", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] not in ("workflow", "") and not set(cells[0]) <= {"-"}:
            rows[cells[0].strip("`")] = cells[1]
    return rows


def imported_library() -> Iterator[tuple[str, dict | None, dict]]:
    """(template, the importer's graph or None where it refuses, the frontend's export), in library order."""
    meta, templates = read_library()
    logging.disable(logging.WARNING)
    try:
        for template in templates:
            try:
                yield template.name, convert(template.ui, meta["catalog"]), template.api
            except WorkflowImportError:
                yield template.name, None, template.api
    finally:
        logging.disable(logging.NOTSET)


def input_spec_of(catalog: dict[str, Any], class_type: str, name: str) -> list | None:
    """The spec of an input, a dynamic combo's dotted sub-input (``model.duration``) included."""
    entry = catalog.get(class_type)
    if entry is None:
        return None
    head, *rest = name.split(".")
    spec = ispec.input_spec(entry, head)
    for part in rest:
        if spec is None:
            return None
        options = [o for o in ispec.options(spec).get("options", []) if isinstance(o, dict)]
        spec = next((s for o in options for section in (o.get("inputs") or {}).values()
                     for sub, s in (section or {}).items() if sub == part), None)
    return spec


def file_combos(graphs: list[dict], catalog: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(class, input) -> the file names graphs put in that combo that the server does not list."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for graph in graphs:
        for node in graph.values():
            for name, value in (node.get("inputs") or {}).items():
                spec = input_spec_of(catalog, node.get("class_type"), name)
                values = ispec.combo_values(spec) if spec is not None else None
                if values is None or not isinstance(value, str) or value in values:
                    continue
                if re.search(r"\.[A-Za-z0-9]{2,12}( \[\w+\])?$", value) and ".." not in value \
                        and not value.startswith(("/", "\\")):
                    wanted.setdefault((node["class_type"], name), set()).add(value)
    return wanted


class Placeholders:
    """Empty files made on the server where none of that name exists; ``remove`` takes exactly those back."""

    def __init__(self) -> None:
        self.files: list[Path] = []
        self.dirs: list[Path] = []

    def make(self, path: Path) -> None:
        """An empty file at ``path``, with the folders it needs, unless something is there already."""
        self.dirs += [p for p in [path.parent, *path.parent.parents] if not p.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError), open(path, "xb"):
            self.files.append(path)

    def remove(self) -> None:
        """Every file and folder made, deepest folder first."""
        for path in self.files:
            with contextlib.suppress(OSError):
                path.unlink()
        for directory in sorted(self.dirs, key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                directory.rmdir()
        self.files, self.dirs = [], []


def model_folders(tier, combos: set[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """For each (class, input) file combo, the model folders the server lists it from (found by probing)."""
    folders = [f for f in tier.http.get("/models") if f not in ("custom_nodes", "configs")]
    probes = {f"{tier.tag}-probe-{folder}{PROBE_SUFFIX}": folder for folder in folders}
    probe = Placeholders()
    for name, folder in probes.items():
        probe.make(tier.comfy_dir / "models" / folder / name)
    try:
        catalog = tier.http.get("/object_info")
    finally:
        probe.remove()
    found = {}
    for class_type, name in combos:
        values = ispec.combo_values(input_spec_of(catalog, class_type, name) or []) or []
        found[(class_type, name)] = [probes[v] for v in values if v in probes]
    return found


def post(tier, blockers, graph: dict) -> str | None:
    """Post a graph for validation and take it back; None if accepted, else why it was refused."""
    blockers.keep_busy(2)
    prompt_id = str(uuid.uuid4())
    tier.posted.add(prompt_id)
    status, answer = tier.http.post_prompt(graph, prompt_id)
    if status == 200:
        tier.http.cancel(prompt_id)
    tier.http.delete_history([prompt_id])
    if status == 200 and isinstance(answer, dict) and not answer.get("node_errors"):
        return None
    if isinstance(answer, dict) and answer.get("node_errors"):
        node_id, errors = next(iter(answer["node_errors"].items()))
        first = errors["errors"][0]
        return f"node {node_id} ({errors.get('class_type')}): {first.get('type')}: {first.get('details') or first.get('message')}"
    error = answer.get("error", answer) if isinstance(answer, dict) else answer
    return f"HTTP {status}: {error.get('message') if isinstance(error, dict) else error}"


@pytest.mark.timeout(1500)
def test_every_imported_template_is_accepted_by_comfyui_or_its_frontend_export_is_refused_too(tier, blockers,
                                                                                               capsys):
    library = list(imported_library())
    catalog = tier.http.get("/object_info")
    wanted = file_combos([g for _, ours, api in library for g in (ours, api) if g is not None], catalog)
    folders = model_folders(tier, set(wanted))
    placeholders = Placeholders()
    refused: dict[str, tuple[str, str | None]] = {}
    try:
        for (class_type, name), values in sorted(wanted.items()):
            for value in sorted(values):
                path = value.rsplit(" [", 1)[0]
                for folder in folders[(class_type, name)] or [None]:
                    placeholders.make(tier.comfy_dir / "models" / folder / path if folder else tier.input_dir / path)
        for name, ours, api in library:
            why = "the importer refuses it" if ours is None else post(tier, blockers, ours)
            if why is not None:
                refused[name] = (why, post(tier, blockers, api))
    finally:
        placeholders.remove()
    accepted = len(library) - len(refused)
    with capsys.disabled():
        print(f"\nimported graphs accepted by ComfyUI 0.27.0: {accepted}/{len(library)} "
              f"({100 * accepted / len(library):.1f}%); the {len(refused)} refused:")
        for name, (ours, frontend) in refused.items():
            print(f"  {name}: {ours}; the frontend's export: {frontend or 'accepted'}")
    assert [name for name, (_, frontend) in refused.items() if frontend is None] == [], \
        "refused, although the frontend's export is accepted"
    assert sorted(refused) == sorted(documented_refusals()), "docs/importer.md's server-refused table is not the list"
