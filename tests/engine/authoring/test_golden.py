"""Golden files: what reaches the GPU for a matrix of requests, compared byte for byte.

After an intended change: `python -m engine golden`, review `git diff tests/golden`, commit with why.
"""

import difflib
import json

import pytest

from engine import load_spec
from engine.authoring.golden import CASES_FILE, load_cases, render_case
from engine.comfy.catalog import graph_problems, load_catalog
from engine.manifest import load_manifest
from tests.support import GOLDEN

RUNTIME, CASES = load_cases(GOLDEN)


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_graph_matches_its_golden_file(spec, name):
    path = GOLDEN / f"{name}.json"
    assert path.exists(), f"missing {path}: run `python -m engine golden`"
    expected, actual = path.read_text(encoding="utf-8"), render_case(spec, CASES[name], RUNTIME)
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), str(path), "rendered", n=2))
    assert actual == expected, f"{name} changed; if intended run `python -m engine golden`:\n{diff[:4000]}"


def test_no_golden_file_without_a_case():
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(CASES), f"stale files next to {CASES_FILE}"


@pytest.fixture(scope="module")
def goldens():
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in GOLDEN.glob("*.json")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_graph_passes_catalogue_and_manifest(goldens, name):
    graph = goldens[name]["graph"]
    assert list(graph_problems(graph, load_catalog(), load_manifest().problem)) == []


def test_matrix_covers_the_contract(spec, goldens):
    meta = [g["metadata"] for g in goldens.values()]
    ltx = [m for m in meta if m["workflow"].startswith("ltx2-")]
    camera_options = set(spec.workflows["ltx2-t2v-fast"].parameters["camera_lora"]["enum"])
    assert {m["workflow"] for m in meta} == set(spec.workflows)
    assert {m["camera_lora"] for m in ltx} == camera_options
    assert {(m["width"], m["height"]) for m in ltx} >= {(1280, 704), (1920, 1088)}
    assert {m["duration_s"] for m in ltx} == {10.0, 15.0, 20.0}
    assert any("image_url" in g["request"] for g in goldens.values())
    assert any("image_base64" in g["request"] for g in goldens.values())
    for workflow in (w for w in spec.workflows if w.startswith("ltx2-")):
        assert {m["enhance_prompt"] for m in ltx if m["workflow"] == workflow} == {True, False}, workflow
