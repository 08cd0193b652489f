"""ComfyUI validation answers -> one readable line per node (bodies copied from records.json)."""

import engine
from engine.comfy.node_errors import format_rejection

INT_ABOVE_MAX = {
    "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
              "details": "", "extra_info": {}},
    "node_errors": {"1": {"errors": [{"type": "value_bigger_than_max",
                                      "message": "Value 20000 bigger than max of 16384", "details": "width",
                                      "extra_info": {"input_name": "width", "received_value": 20000}}],
                          "dependent_outputs": ["3"], "class_type": "EmptyImage"}},
}
TWO_NODES = {
    "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
              "details": "", "extra_info": {}},
    "node_errors": {
        "3": {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
                          "details": "format: 'webm' not in ['auto', 'mp4']",
                          "extra_info": {"input_name": "format", "received_value": "webm"}}],
              "dependent_outputs": ["3"], "class_type": "SaveVideo"},
        "92:123": {"errors": [
            {"type": "return_type_mismatch", "message": "Return type mismatch between linked nodes",
             "details": "video, received_type(IMAGE) mismatch input_type(VIDEO)",
             "extra_info": {"input_name": "video", "received_type": "IMAGE"}},
            {"type": "required_input_missing", "message": "Required input is missing", "details": "multiplier",
             "extra_info": {"input_name": "resize_type.multiplier"}}],
            "dependent_outputs": ["3"], "class_type": "ResizeImageMaskNode"},
    },
}
UNKNOWN_CLASS = {
    "error": {"type": "missing_node_type",
              "message": "Node 'NoSuchNode' not found. The custom node may not be installed.",
              "details": "Node ID '#1'", "extra_info": {"node_id": "1", "class_type": "NoSuchNode",
                                                         "node_title": "NoSuchNode"}},
    "node_errors": {},
}
NO_OUTPUTS = {"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs", "details": "",
                        "extra_info": {}}, "node_errors": {}}


def test_value_above_max_names_node_class_input_and_request_parameter():
    spec = engine.load_spec()
    rendered = spec.render(spec.prepare({"workflow": "smoke"}), {"job_id": "j"})
    text = format_rejection(400, INT_ABOVE_MAX, parameters_for=rendered.parameters_for)
    assert text.splitlines() == [
        "ComfyUI rejected the workflow (Prompt outputs failed validation):",
        "node 1 (EmptyImage) input width: value 20000 bigger than max of 16384 (request parameter: width)",
    ]


def test_one_line_per_node_with_each_error_of_the_node():
    lines = format_rejection(200, TWO_NODES).splitlines()
    assert len(lines) == 3
    assert lines[1] == "node 3 (SaveVideo) input format: value not in list: 'webm' not in ['auto', 'mp4']"
    assert lines[2] == ("node 92:123 (ResizeImageMaskNode) input video: return type mismatch between linked nodes: "
                        "received_type(IMAGE) mismatch input_type(VIDEO); "
                        "input resize_type.multiplier: required input is missing")


def test_class_type_falls_back_to_the_graph_and_several_parameters_are_listed():
    error = {"message": "Value 0 smaller than min of 1", "details": "length", "extra_info": {"input_name": "length"}}
    body = {"error": {}, "node_errors": {"7": {"errors": [error]}}}
    text = format_rejection(400, body, graph={"7": {"class_type": "EmptyLTXVLatentVideo"}},
                            parameters_for=lambda node, inputs: ["duration", "frames"])
    assert text.endswith("node 7 (EmptyLTXVLatentVideo) input length: value 0 smaller than min of 1 "
                         "(request parameters: duration, frames)")


def test_errors_without_node_errors_still_name_the_node_or_the_reason():
    assert format_rejection(400, UNKNOWN_CLASS) == (
        "ComfyUI rejected the workflow: node 1 (NoSuchNode): "
        "Node 'NoSuchNode' not found. The custom node may not be installed.")
    assert format_rejection(400, NO_OUTPUTS) == "ComfyUI rejected the workflow: Prompt has no outputs"


def test_a_plain_text_500_is_reported_on_one_line():
    text = format_rejection(500, "500 Internal Server Error\n\nServer got itself in trouble")
    assert text == "ComfyUI rejected the workflow (HTTP 500): 500 Internal Server Error Server got itself in trouble"
