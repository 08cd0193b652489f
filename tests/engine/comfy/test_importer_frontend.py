"""The importer against ground truth from the real ComfyUI frontend's Export (API).

Every ``tests/data/frontend/*.api.json`` is what ``app.graphToPrompt()`` wrote for a UI workflow in
the frontend a real ComfyUI 0.27.0 serves (comfyui-frontend-package 1.45.20), captured headless by
tests/frontend/capture_library.py (provenance: tests/frontend/README.md). ``mixed.ui.json`` was
built inside a frontend (nested subgraphs, promoted widgets, bypassed / muted nodes, reroutes, a
PrimitiveNode, notes, a dynamic combo); ``edges.ui.json`` is hand-written (renumbered subgraph ids,
a muted instance inside a subgraph, prompt comments, missing and unknown widget values); the others
are the official LTX-2 files in templates/source. The whole template library is
test_importer_library.py's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.comfy.catalog import graph_problems
from engine.comfy.importer import convert
from engine.manifest import load_manifest
from tests.support import ROOT

DATA = ROOT / "tests" / "data" / "frontend"
CATALOG = json.loads((ROOT / "spec" / "object_info.json").read_text(encoding="utf-8"))
OFFICIAL = ["video_ltx2_t2v", "video_ltx2_t2v_distilled", "video_ltx2_i2v", "video_ltx2_i2v_distilled",
            "video_ltx2_3_t2v"]
CASES = {"mixed": DATA / "mixed.ui.json", "edges": DATA / "edges.ui.json",
         **{name: ROOT / "templates" / "source" / f"{name}.json" for name in OFFICIAL}}


def read(path: Path) -> Any:
    """A JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def frontend_export(name: str) -> dict:
    """What the frontend's Export (API) wrote for case ``name``."""
    return read(DATA / f"{name}.api.json")


def imported(name: str) -> dict:
    """What the importer makes of case ``name``'s UI workflow, with the project catalogue."""
    return convert(read(CASES[name]), CATALOG)


def differences(frontend: dict, ours: dict) -> list[str]:
    """One line per node and input where the importer differs from the frontend."""
    lines = [f"{node_id}: only in the {'frontend' if node_id in frontend else 'importer'}"
             for node_id in sorted(set(frontend) ^ set(ours))]
    for node_id in sorted(set(frontend) & set(ours)):
        fe, us = frontend[node_id], ours[node_id]
        where = f"{node_id} ({fe['class_type']})"
        if fe["class_type"] != us["class_type"]:
            lines.append(f"{where}: importer class_type {us['class_type']!r}")
        for name in sorted(set(fe["inputs"]) | set(us["inputs"])):
            a, b = fe["inputs"].get(name, "<absent>"), us["inputs"].get(name, "<absent>")
            if a != b:
                lines.append(f"{where} input {name!r}: frontend {a!r}, importer {b!r}")
    return lines


def test_every_official_source_and_the_mixed_workflow_has_a_capture():
    assert sorted(p.name for p in DATA.glob("*.api.json")) == sorted(f"{name}.api.json" for name in CASES)


@pytest.mark.parametrize("name", CASES)
def test_importer_equals_the_frontend_export(name):
    assert imported(name) == frontend_export(name)


@pytest.mark.parametrize("name", CASES)
def test_importer_gives_the_frontend_nodes_and_inputs(name):
    """What ComfyUI executes (ids, classes, inputs), reported node by node when it differs."""
    assert differences(frontend_export(name), imported(name)) == []


def test_mixed_frontend_export_passes_the_offline_comfyui_validation():
    """The catalogue lists no checkpoints, so model files are checked against spec/models.yaml, as lint does."""
    assert list(graph_problems(frontend_export("mixed"), CATALOG, load_manifest().problem)) == []


def test_mixed_import_passes_the_offline_comfyui_validation():
    assert list(graph_problems(imported("mixed"), CATALOG, load_manifest().problem)) == []


def _nodes(graph: dict) -> list[dict]:
    """Every node of a UI workflow, subgraph definitions included."""
    found = list(graph.get("nodes", []))
    for definition in graph.get("definitions", {}).get("subgraphs", []):
        found += _nodes(definition)
    return found


def test_mixed_workflow_has_every_feature_it_is_meant_to_test():
    ui = read(DATA / "mixed.ui.json")
    definitions = {d["id"]: d for d in ui["definitions"]["subgraphs"]}
    nodes = _nodes(ui)
    by_type: dict[str, list[dict]] = {}
    for node in nodes:
        by_type.setdefault(node["type"], []).append(node)
    nested = [d for d in definitions.values() if any(n["type"] in definitions for n in d["nodes"])]
    assert nested, "a subgraph containing another subgraph"
    assert {n["mode"] for n in nodes} >= {0, 2, 4}
    assert {"Reroute", "PrimitiveNode", "Note", "MarkdownNote", "KSampler", "ResizeImageMaskNode",
            "SaveImage"} <= set(by_type)
    assert any(link["origin_id"] == -10 and any(n["id"] == link["target_id"] and n["type"] == "Reroute"
                                                for n in d["nodes"])
               for d in definitions.values() for link in d["links"]), "subgraph input -> Reroute"
    instance = next(n for n in ui["nodes"] if n["type"] in definitions)
    linked = {slot["name"] for slot in instance.get("inputs", []) if slot.get("link") is not None}
    assert {"text", "seed"} & linked == set(), "promoted inputs left unconnected on the instance"
    assert "randomize" in next(n for n in by_type["KSampler"] if n["mode"] == 0)["widgets_values"]


def test_mixed_export_uses_the_inner_widget_for_a_promoted_input_bypass_by_type_and_a_muted_sources_widget():
    """The frontend behaviours the mixed workflow pins down, read from the capture itself."""
    api = frontend_export("mixed")
    instance = next(n for n in read(CASES["mixed"])["nodes"] if n["type"] in
                    {d["id"] for d in read(CASES["mixed"])["definitions"]["subgraphs"]})
    sampler = next(n for n in api.values() if n["class_type"] == "KSampler")
    decode = next(n for n in api.values() if n["class_type"] == "VAEDecode")
    latent = next(n for n in api.values() if n["class_type"] == "EmptyLatentImage")
    assert 123456789 in instance["widgets_values"]  # the instance saved its own seed ...
    assert sampler["inputs"]["seed"] == 42  # ... but 1.45.20 exports the inner widget's value
    assert next(n["inputs"]["text"] for n in api.values() if n["_meta"]["title"] == "Positive") == "inner default text"
    assert decode["inputs"]["samples"][0].count(":") == 1  # through the bypassed KSampler to the inner one
    assert latent["inputs"]["batch_size"] == 1 and sampler["inputs"]["steps"] == 12  # muted sources: widget kept
    assert "image2" not in next(n for n in api.values() if n["class_type"] == "ImageStitch")["inputs"]


def test_ltx23_create_video_mismatched_widget_value_is_exported_as_is():
    """CreateVideo's saved widgets_values [24, 'auto', 'sRGB'] predate the 0.27 catalogue's
    (fps FLOAT, bit_depth INT 8..10): the frontend assigns them by position, so bit_depth is 'auto'
    and 'sRGB' is dropped; ComfyUI's validation would refuse that graph."""
    frontend = frontend_export("video_ltx2_3_t2v")["267:242"]
    assert frontend["inputs"]["bit_depth"] == "auto" and "color_space" not in frontend["inputs"]
    assert imported("video_ltx2_3_t2v")["267:242"]["inputs"] == frontend["inputs"]
    problems = list(graph_problems(frontend_export("video_ltx2_3_t2v"), CATALOG, load_manifest().problem))
    assert problems == ["node 267:242 (CreateVideo): input 'bit_depth' expects an integer, got 'auto'"]


def test_edges_export_renumbers_repeated_subgraph_ids_and_keeps_a_muted_nested_instances_inside():
    api = frontend_export("edges")
    ui = read(CASES["edges"])
    assert {"7:14", "7:4:15"} <= set(api)  # inner ids 3 and 2 repeat root ids: next free after last_node_id 13
    assert {n["id"] for n in ui["definitions"]["subgraphs"][0]["nodes"]} == {3, 4}
    assert next(n for n in ui["definitions"]["subgraphs"][0]["nodes"] if n["id"] == 4)["mode"] == 2
    assert api["8"]["inputs"] == {}  # the muted nested instance passes nothing on
    assert api["10"]["inputs"]["text"] == "a photo "  # a PrimitiveNode's prompt, comments removed
    assert api["11"]["inputs"] == {"resize_type": "scale sideways", "scale_method": 1280}  # no such option
    assert api["12"]["inputs"] == {"width": 512, "height": 512, "batch_size": 1}  # missing values: defaults
    assert api["13"]["inputs"]["sampler_name"] == "euler"
