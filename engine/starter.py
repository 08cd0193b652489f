"""A starter spec entry for a freshly imported template: the inputs an author likely exposes."""

from __future__ import annotations

from typing import Any, Mapping

from .graph import is_link

LIKELY_INPUTS = {
    "text": "prompt", "value": None, "noise_seed": "seed", "seed": "seed", "width": "width", "height": "height",
    "length": "frames", "frames_number": "frames", "ckpt_name": None, "lora_name": None, "text_encoder": None,
    "model_name": None, "image": "input_image", "filename_prefix": "job_id", "fps": "fps", "frame_rate": "fps",
}
"""Input names worth exposing, with a suggested value name (None: named after the input)."""


def starter_entry(name: str, graph: Mapping[str, Any]) -> dict[str, Any]:
    """A spec entry to edit: template, a minimal schema, and a target per likely input (with its current value)."""
    targets: dict[str, list[dict[str, Any]]] = {}
    for node_id, node in graph.items():
        for input_name, value in node["inputs"].items():
            if input_name not in LIKELY_INPUTS or is_link(value):
                continue
            key = LIKELY_INPUTS[input_name] or input_name
            targets.setdefault(key, []).append(
                {"node": node_id, "class_type": node["class_type"], "input": input_name, "current": value}
            )
    outputs = {
        f"output_{node_id}": {"node": node_id, "class_type": node["class_type"]}
        for node_id, node in graph.items()
        if node["class_type"].startswith("Save")
    }
    return {
        name: {
            "description": "TODO: one line",
            "template": f"{name}.json",
            "schema": {"type": "object", "additionalProperties": False, "properties": {}, "examples": [{}]},
            "targets": targets,
            "outputs": outputs,
        }
    }
