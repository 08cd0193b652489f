"""The starter spec entry `python -m engine import` prints for a new template."""

import yaml

from engine.authoring.starter_entry import dump_entry, starter_entry


def api_node(class_type: str, title: str, **inputs) -> dict:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


GRAPH = {
    "1": api_node("PrimitiveInt", "Frame Rate (Int)", value=24),
    "2": api_node("RandomNoise", "RandomNoise", noise_seed=42),
    "3": api_node("RandomNoise", "RandomNoise", noise_seed=7),
    "4": api_node("EmptyImage", "Empty Image", width=["1", 0], height=512),
    "5": api_node("SaveVideo", "Save Video", video=["4", 0], filename_prefix="video/x"),
}


def targets() -> dict:
    return starter_entry("new", GRAPH)["new"]["targets"]


def test_a_primitive_value_is_named_after_the_primitive_title():
    assert targets()["frame_rate_int"] == [
        {"node": {"title": "Frame Rate (Int)"}, "class_type": "PrimitiveInt", "input": "value", "current": 24}]


def test_nodes_sharing_a_title_are_referred_to_by_id():
    assert [t["node"] for t in targets()["seed"]] == ["2", "3"]


def test_linked_inputs_are_not_offered():
    assert [t["input"] for t in targets()["height"]] == ["height"] and "width" not in targets()


def test_save_nodes_become_outputs():
    assert starter_entry("new", GRAPH)["new"]["outputs"] == {"output_5": {"node": "5", "class_type": "SaveVideo"}}


def test_the_dump_repeats_a_node_reference_instead_of_aliasing_it():
    entry = starter_entry("new", {"1": api_node("EmptyImage", "Canvas", width=640, height=480)})
    assert "&id001" in yaml.safe_dump(entry)  # both targets share one reference object
    text = dump_entry(entry)
    assert "&" not in text and "*" not in text
    assert [t[0]["node"] for t in yaml.safe_load(text)["new"]["targets"].values()] == [{"title": "Canvas"}] * 2
