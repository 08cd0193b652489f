"""Rendering: guarded JSON-patch operations, the template never mutated, bypass rewiring."""

import copy
import dataclasses
import json

import pytest

from engine import RenderError, load_spec
from engine.prepare import Prepared
from engine.render import render as render_workflow
from tests.engine.test_loader import SPEC, TEMPLATE, load

RUNTIME = {"job_id": "job-1", "random_seed": 7}


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def render(spec, request, runtime=RUNTIME):
    return spec.render(spec.prepare(request), runtime)


def test_every_replace_is_guarded_by_a_class_type_test(spec):
    patch = render(spec, {"workflow": "smoke"}).patch
    replaces = [i for i, op in enumerate(patch) if op["op"] == "replace"]
    assert replaces and all(patch[i - 1]["op"] == "test" and patch[i - 1]["path"].endswith("/class_type") for i in replaces)


def test_values_land_in_their_inputs(spec):
    graph = render(spec, {"workflow": "smoke", "width": 320, "fps": 30, "duration": 2, "color": "#ff0000"}).graph
    assert graph["1"]["inputs"] == {"width": 320, "height": 64, "batch_size": 60, "color": 0xFF0000}
    assert graph["2"]["inputs"]["fps"] == 30.0 and isinstance(graph["2"]["inputs"]["fps"], float)


def test_job_id_makes_the_output_prefix_unique(spec):
    graph = render(spec, {"workflow": "smoke"}, {"job_id": "abc", "random_seed": 1}).graph
    assert graph["3"]["inputs"]["filename_prefix"] == "smoke/abc"


def test_metadata_reports_effective_values(spec):
    metadata = render(spec, {"workflow": "smoke", "frames": 9, "fps": 8}).metadata
    assert metadata == {"workflow": "smoke", "width": 64, "height": 64, "frames": 9, "fps": 8, "duration_s": 1.125, "color": "#000000"}


def test_template_is_never_mutated(spec):
    before = copy.deepcopy(spec.workflows["smoke"].template)
    render(spec, {"workflow": "smoke", "width": 320})
    assert spec.workflows["smoke"].template == before


def test_same_request_renders_the_same_bytes(spec):
    first = json.dumps(render(spec, {"workflow": "smoke", "width": 96}).graph)
    assert json.dumps(render(spec, {"workflow": "smoke", "width": 96}).graph) == first


def test_unknown_runtime_value_is_rejected(spec):
    with pytest.raises(RenderError, match="unknown runtime value"):
        render(spec, {"workflow": "smoke"}, {"job_id": "x", "user": "y"})


def test_stale_template_fails_naming_parameter_and_node(tmp_path):
    workflow = load(tmp_path).workflows["tiny"]
    stale = copy.deepcopy(workflow.template)
    stale["1"]["class_type"] = "EmptyLatentImage"
    workflow = dataclasses.replace(workflow, template_text=json.dumps(stale))
    with pytest.raises(RenderError, match=r"parameter width -> node 1 \(EmptyImage\) input width"):
        render_workflow(Prepared(workflow, {"width": 64}), RUNTIME)


def test_parameters_for_names_the_values_written_to_a_node(spec):
    rendered = render(spec, {"workflow": "smoke"})
    assert rendered.parameters_for("1") == ["width", "height", "frames", "duration", "fps", "color"]


BYPASS_TEMPLATE = {
    **TEMPLATE,
    "4": {"inputs": {"images": ["1", 0], "fps": 12.0}, "class_type": "CreateVideo"},
    "5": {"inputs": {"images": ["4", 0], "fps": 12.0}, "class_type": "CreateVideo"},
}
BYPASS_TEMPLATE["3"] = {**TEMPLATE["3"], "inputs": {**TEMPLATE["3"]["inputs"], "video": ["5", 0]}}
BYPASS_SPEC = SPEC.replace("properties:\n        width", "properties:\n        skip: {type: boolean, default: false}\n        width") + """\
    bypass:
      - {node: "4", class_type: CreateVideo, when: "skip", outputs: {"0": images}}
      - {node: "5", class_type: CreateVideo, when: "skip", outputs: {"0": images}}
"""


def test_bypass_removes_nodes_and_rewires_through_chains(tmp_path):
    tiny = load(tmp_path, BYPASS_SPEC, BYPASS_TEMPLATE)
    graph = tiny.render(tiny.prepare({"workflow": "tiny", "skip": True})).graph
    assert "4" not in graph and "5" not in graph and graph["3"]["inputs"]["video"] == ["1", 0]


def test_bypass_not_taken_leaves_the_graph_alone(tmp_path):
    tiny = load(tmp_path, BYPASS_SPEC, BYPASS_TEMPLATE)
    graph = tiny.render(tiny.prepare({"workflow": "tiny"})).graph
    assert graph["3"]["inputs"]["video"] == ["5", 0] and "4" in graph


def test_bypass_of_a_node_nothing_reads_needs_no_outputs_and_just_removes_it(tmp_path):
    template = {**TEMPLATE, "6": {"inputs": {"source": ["1", 0]}, "class_type": "PreviewAny"}}
    bypass = '    bypass:\n      - {node: "6", class_type: PreviewAny, when: "skip"}\n'
    text = BYPASS_SPEC.split("    bypass:")[0] + bypass
    tiny = load(tmp_path, text, template)
    graph = tiny.render(tiny.prepare({"workflow": "tiny", "skip": True})).graph
    assert graph == {k: v for k, v in template.items() if k != "6"}


def test_parameters_for_an_input_traces_derived_values_to_request_fields(spec):
    rendered = spec.render(spec.prepare({"prompt": "p"}), RUNTIME)
    assert rendered.parameters_for("177:113", ["value"]) == ["duration"]
    assert rendered.parameters_for("177:131", ["width"]) == ["width", "resolution"]
    assert rendered.parameters_for("177:170", ["lora_name"]) == ["camera_lora"]
    assert rendered.parameters_for("104", ["filename_prefix"]) == []


def test_outputs_leave_out_a_bypassed_output_node(spec):
    on = spec.render(spec.prepare({"prompt": "p", "enhance_prompt": True}), RUNTIME).outputs
    off = spec.render(spec.prepare({"prompt": "p"}), RUNTIME).outputs
    assert set(on) == {"video", "enhanced_prompt"} and set(off) == {"video"}
