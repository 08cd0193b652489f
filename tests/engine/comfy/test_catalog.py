"""Offline graph validation against the ComfyUI 0.27.0 node catalogue, shaped like /prompt's checks."""

import json

import pytest

from engine.comfy.catalog import graph_problems, load_catalog
from tests.support import DATA

RECORDS = DATA / "comfyui_records.json"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def no_models(class_type, name, value):
    return None


def problems(graph, catalog, model_check=no_models):
    return list(graph_problems(graph, catalog, model_check))


def smoke(**inputs):
    graph = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 8, "color": 0}},
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 24.0}},
        "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": "p", "format": "auto", "codec": "auto"}},
    }
    for key, value in inputs.items():
        node, name = key.split("__")
        graph[node]["inputs"][name] = value
    return graph


def test_graph_real_comfyui_accepted_is_clean(catalog):
    accepted = json.loads(RECORDS.read_text())["video"]["request"]["prompt"]
    assert problems(accepted, catalog) == []


def test_dynamic_combo_graph_real_comfyui_accepted_is_clean(catalog):
    accepted = json.loads(RECORDS.read_text())["video_resize_dynamic_combo"]["request"]["prompt"]
    assert problems(accepted, catalog) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        (smoke(**{"1__width": 0}), "node 1 (EmptyImage): input 'width' value 0 is smaller than min 1"),
        (smoke(**{"1__width": 20000}), "node 1 (EmptyImage): input 'width' value 20000 is bigger than max 16384"),
        (smoke(**{"2__fps": "24"}), "node 2 (CreateVideo): input 'fps' expects a number, got '24'"),
        (smoke(**{"3__format": "webm"}), "node 3 (SaveVideo): input 'format': value 'webm' is not one of ['auto', 'mp4']"),
        (smoke(**{"2__images": ["9", 0]}), "node 2 (CreateVideo): input 'images' links to node 9, which is not in the graph"),
        (smoke(**{"2__images": ["1", 3]}), "node 2 (CreateVideo): input 'images' links to output 3 of node 1, which has 1 output(s)"),
        (smoke(**{"3__video": ["1", 0]}), "node 3 (SaveVideo): input 'video' expects VIDEO but node 1 output 0 is IMAGE"),
        (smoke(**{"1__colour": 0}), "node 1 (EmptyImage): input 'colour' is not an input of EmptyImage"),
    ],
)
def test_each_kind_of_problem_is_one_line(catalog, graph, expected):
    assert problems(graph, catalog) == [expected]


def test_missing_required_input(catalog):
    graph = smoke()
    del graph["1"]["inputs"]["color"]
    assert problems(graph, catalog) == ["node 1 (EmptyImage): required input 'color' is missing"]


def test_unknown_class(catalog):
    graph = smoke()
    graph["4"] = {"class_type": "VHS_VideoCombine", "inputs": {}}
    assert problems(graph, catalog) == ["node 4 (VHS_VideoCombine): class is not in the node catalogue (a custom node, or a typo?)"]


def test_no_output_node(catalog):
    graph = smoke()
    del graph["3"]
    assert problems(graph, catalog)[-1].startswith("the graph has no output node")


def test_model_combos_go_to_the_model_check(catalog):
    graph = smoke()
    graph["4"] = {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}}
    seen = []
    problems(graph, catalog, lambda c, n, v: seen.append((c, n, v)))
    assert seen == [("CheckpointLoaderSimple", "ckpt_name", "x.safetensors")]


def test_dynamic_combo_sub_inputs_are_required(catalog):
    graph = smoke()
    graph["4"] = {"class_type": "ResizeImageMaskNode", "inputs": {"input": ["1", 0], "resize_type": "scale dimensions", "resize_type.width": 64, "scale_method": "area"}}
    found = problems(graph, catalog)
    assert "node 4 (ResizeImageMaskNode): required input 'resize_type.height' is missing" in found


def test_match_type_output_takes_the_type_of_its_input(catalog):
    graph = smoke(**{"3__video": ["4", 0]})
    graph["4"] = {"class_type": "ResizeImageMaskNode", "inputs": {"input": ["1", 0], "resize_type": "scale by multiplier", "resize_type.multiplier": 0.5, "scale_method": "area"}}
    assert problems(graph, catalog) == ["node 3 (SaveVideo): input 'video' expects VIDEO but node 4 output 0 is IMAGE"]


def math(**inputs):
    """smoke() with the frame count computed by ComfyMathExpression from two PrimitiveInts."""
    graph = smoke(**{"1__batch_size": ["6", 1]})
    graph["4"] = {"class_type": "PrimitiveInt", "inputs": {"value": 2}}
    graph["5"] = {"class_type": "PrimitiveInt", "inputs": {"value": 4}}
    graph["6"] = {"class_type": "ComfyMathExpression", "inputs": {"expression": "a * b + 1", **inputs}}
    return graph


def test_autogrow_inputs_are_named_after_the_template(catalog):
    assert problems(math(**{"values.a": ["4", 0], "values.b": ["5", 0]}), catalog) == []


def test_autogrow_inputs_below_min_are_required(catalog):
    assert problems(math(), catalog) == ["node 6 (ComfyMathExpression): required input 'values.a' is missing"]


def test_autogrow_input_outside_the_template_names_is_unknown(catalog):
    assert problems(math(**{"values.a": ["4", 0], "values.ab": ["5", 0]}), catalog) == [
        "node 6 (ComfyMathExpression): input 'values.ab' is not an input of ComfyMathExpression"]
