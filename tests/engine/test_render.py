"""Rendering: the write plan on a copy-on-write graph, guarded writes, the template never mutated,
bypass rewiring, and the RFC 6902 patch equal to the graph."""

import copy
import dataclasses
import json

import jsonpatch
import pytest

from engine import RenderError, RequestError, load_spec
from engine.plan import frozen_object
from engine.prepare import Prepared
from engine.render import render as render_workflow
from engine.variants import RENDER_RUNTIME, _variants
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


def stale(workflow, change):
    """The workflow on a template changed after loading (what the guards are for)."""
    template = copy.deepcopy(workflow.template)
    change(template)
    return dataclasses.replace(workflow, template=json.loads(json.dumps(template), object_pairs_hook=frozen_object))


def test_stale_template_fails_naming_parameter_and_node(tmp_path):
    workflow = stale(load(tmp_path).workflows["tiny"], lambda t: t["1"].update(class_type="EmptyLatentImage"))
    with pytest.raises(RenderError, match=r"parameter width -> node 1 \(EmptyImage\) input width: "
                                          r"node 1 is a EmptyLatentImage, not a EmptyImage"):
        render_workflow(Prepared(workflow, {"width": 64}), RUNTIME)


def test_stale_template_without_the_node_or_input_fails_naming_them(tmp_path):
    workflow = load(tmp_path).workflows["tiny"]
    gone = stale(workflow, lambda t: t.pop("1"))
    with pytest.raises(RenderError, match=r"parameter width -> node 1 .*: node 1 is not in the template"):
        render_workflow(Prepared(gone, {"width": 64}), RUNTIME)
    renamed = stale(workflow, lambda t: t["1"]["inputs"].pop("width"))
    with pytest.raises(RenderError, match=r"input width: node 1 has no input 'width'"):
        render_workflow(Prepared(renamed, {"width": 64}), RUNTIME)


def test_mutating_a_rendered_graph_never_changes_the_next_render(spec):
    request = {"prompt": "p", "camera_lora": "none"}
    first = render(spec, request).graph
    expected = json.dumps(render(spec, request).graph)
    for node in first.values():
        try:
            node["inputs"]["injected"] = 1
            node["inputs"].clear()
            node["_meta"]["title"] = "changed"
        except TypeError:
            pass  # a node shared with the template refuses changes
        for value in node.get("inputs", {}).values():
            if isinstance(value, list):
                with pytest.raises(TypeError, match="copy.deepcopy the graph"):
                    value.append("x")
    first.clear()
    assert json.dumps(render(spec, request).graph) == expected


def test_a_render_copies_only_the_nodes_it_writes(spec):
    template = spec.workflows["ltx2-t2v-pro"].template
    rendered = render(spec, {"prompt": "p", "mode": "pro"})
    own = {node_id for node_id, node in rendered.graph.items() if node is not template[node_id]}
    written = {op["path"].split("/")[1] for op in rendered.patch if op["op"] == "replace"}
    assert own == written and len(own) <= len(template) // 4


def test_a_deep_copy_of_a_rendered_graph_is_plain_and_mutable(spec):
    graph = copy.deepcopy(render(spec, {"workflow": "smoke"}).graph)
    graph["2"]["inputs"]["images"].append(1)
    assert type(graph["3"]) is dict and type(graph["3"]["inputs"]["video"]) is list


def every_render(spec):
    """(workflow, request) for every graph lint checks: the examples and each enum or boolean value."""
    for name, workflow in spec.workflows.items():
        for _, request, _ in _variants(workflow):
            request = {**request, "workflow": name}
            try:
                prepared = spec.prepare(request)
            except RequestError:  # a variant the schema refuses
                continue
            yield spec.render(prepared, RENDER_RUNTIME), workflow


def test_the_patch_applied_with_jsonpatch_gives_the_graph(spec):
    count = 0
    for rendered, workflow in every_render(spec):
        applied = jsonpatch.apply_patch(copy.deepcopy(workflow.template), rendered.patch)
        assert json.dumps(applied) == json.dumps(rendered.graph), rendered.metadata
        count += 1
    assert count > 50


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
