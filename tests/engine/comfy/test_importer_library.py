"""The importer against the frontend over the whole official template library, without a browser.

tests/data/frontend/library.jsonl.gz holds, for each of the 452 templates of comfyui-workflow-templates
0.11.2, the UI file the real ComfyUI 0.27.0 served and what its frontend (1.45.20) wrote for it with
Export (API) (provenance: tests/frontend/README.md). The importer must give the same graph (as JSON
values: the order of object keys means nothing to ComfyUI) for at least 95% of them, and every
difference left must be a row of the table in docs/importer.md, which says why; a row that no longer
differs must go. The rates are printed.
"""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from typing import Any

from engine.comfy.importer import WorkflowImportError, convert
from tests.frontend.library import read_library
from tests.support import ROOT

DOC = ROOT / "docs" / "importer.md"
SPEC_CATALOG = json.loads((ROOT / "spec" / "object_info.json").read_text(encoding="utf-8"))
REQUIRED_RATE = 0.95
NOT_IMPORTED = "(not imported)"


def node_differences(frontend: dict[str, Any], ours: dict[str, Any]) -> list[tuple[str, str]]:
    """(node id, input) for each input where two API graphs differ; input '*' for a whole node or its class."""
    found = [(node_id, "*") for node_id in set(frontend) ^ set(ours)]
    for node_id in set(frontend) & set(ours):
        fe, us = frontend[node_id], ours[node_id]
        if fe.get("class_type") != us.get("class_type") or fe.get("_meta") != us.get("_meta"):
            found.append((node_id, "*"))
        for name in set(fe.get("inputs", {})) | set(us.get("inputs", {})):
            if fe.get("inputs", {}).get(name, NOT_IMPORTED) != us.get("inputs", {}).get(name, NOT_IMPORTED):
                found.append((node_id, name))
    return found


def failing_node(message: str) -> str:
    """The node id a WorkflowImportError names ("node 104:107 (X): ...")."""
    match = re.match(r"node (\S+) ", message)
    return match.group(1) if match else "*"


@lru_cache(maxsize=2)
def library_differences(catalog_name: str) -> tuple[int, frozenset[tuple[str, str, str]]]:
    """How many templates the importer converts exactly as the frontend, and every (workflow, node,
    input) where it does not, with the captured catalogue ("served") or the project's ("spec")."""
    meta, templates = read_library()
    catalog = meta["catalog"] if catalog_name == "served" else SPEC_CATALOG
    equal, found = 0, set()
    logging.disable(logging.WARNING)  # the importer's warnings about old files, 452 times over
    try:
        for template in templates:
            try:
                ours = convert(template.ui, catalog)
            except WorkflowImportError as exc:
                found.add((template.name, failing_node(str(exc)), NOT_IMPORTED))
                continue
            if ours == template.api:
                equal += 1
            found |= {(template.name, node_id, name) for node_id, name in node_differences(template.api, ours)}
    finally:
        logging.disable(logging.NOTSET)
    return equal, frozenset(found)


def documented(section: str) -> set[tuple[str, str, str]]:
    """The rows of one difference table of docs/importer.md: (workflow, node, input)."""
    text = DOC.read_text(encoding="utf-8")
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    assert start in text and end in text, f"docs/importer.md has no {start} ... {end} table"
    rows = set()
    for line in text.split(start, 1)[1].split(end, 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] in ("workflow", "") or set(cells[0]) <= {"-"}:
            continue
        workflow, node, name = (re.sub(r"`([^`]*)`.*", r"\1", c) for c in cells[:3])
        rows.add((workflow, node, name))
    return rows


def print_rate(capsys, equal: int, total: int, catalogue: str) -> None:
    """Show the match rate in the test run's output, whatever pytest captures."""
    with capsys.disabled():
        print(f"\nimporter == frontend 1.45.20: {equal}/{total} templates ({100 * equal / total:.1f}%), {catalogue}")


def test_the_capture_covers_the_whole_library_with_the_servers_catalogue():
    meta, templates = read_library()
    assert (meta["frontend"], meta["comfyui"], meta["templates"]) == ("1.45.20", "0.27.0", "0.11.2")
    assert meta["count"] == len(templates) == len({t.name for t in templates}) >= 450
    assert meta["catalog_differs_from_spec"] == ["LoadImage.image: values", "LoadImageMask.image: values"]
    assert not [t.name for t in templates if t.page_errors]


def test_importer_equals_the_frontend_on_at_least_95_percent_of_the_library(capsys):
    _, templates = read_library()
    equal, _ = library_differences("served")
    print_rate(capsys, equal, len(templates), "with the catalogue the frontend had")
    assert equal / len(templates) >= REQUIRED_RATE


def test_every_difference_from_the_frontend_is_listed_in_docs_importer():
    _, found = library_differences("served")
    listed = documented("differences")
    assert sorted(found - listed) == [], "differences docs/importer.md does not list"
    assert sorted(listed - found) == [], "rows of docs/importer.md that no longer differ"


def test_the_projects_catalogue_gives_exactly_the_servers_graphs(capsys):
    """spec/object_info.json keeps the server's key order, which places a dynamic combo's sub-inputs."""
    _, templates = read_library()
    equal, found = library_differences("spec")
    print_rate(capsys, equal, len(templates), "with spec/object_info.json")
    assert (equal, found) == library_differences("served")
