"""A starter spec entry for a freshly imported template: the inputs an author likely exposes."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping

import yaml

from ..graph import is_link

LIKELY_INPUTS = {
    "text": "prompt", "value": None, "noise_seed": "seed", "seed": "seed", "width": "width", "height": "height",
    "length": "frames", "frames_number": "frames", "ckpt_name": None, "lora_name": None, "text_encoder": None,
    "model_name": None, "image": "input_image", "filename_prefix": "job_id", "fps": "fps", "frame_rate": "fps",
}
"""Input names worth exposing, with a suggested value name (None: named after the title or input)."""


class _NoAliasDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, writing a value used twice in full instead of as an anchor and alias."""

    def ignore_aliases(self, data: Any) -> bool:
        """Never alias: a starter entry is for people to edit, and ``&id001`` would only confuse them."""
        return True


def dump_entry(entry: Mapping[str, Any]) -> str:
    """A starter entry as YAML text: keys in order, Unicode as is, no anchors or aliases."""
    return yaml.dump(dict(entry), Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=100)


def _slug(title: str) -> str:
    """A value name from a node title: "Frame Rate (Int)" -> "frame_rate_int"."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "value"


def _value_name(input_name: str, node: Mapping[str, Any]) -> str:
    """The suggested value name: a primitive's is its title (it holds one named value), others by input."""
    suggested = LIKELY_INPUTS[input_name]
    if suggested:
        return suggested
    if node["class_type"].startswith("Primitive"):
        return _slug(node.get("_meta", {}).get("title", ""))
    return input_name


def starter_entry(name: str, graph: Mapping[str, Any]) -> dict[str, Any]:
    """A spec entry to edit: template, a minimal schema, and a target per likely input (with its current value).

    A node is referred to by its title where no other node has that title (mappings then survive a
    re-export that renumbers nodes), else by id.
    """
    titles = Counter(node.get("_meta", {}).get("title") for node in graph.values())
    targets: dict[str, list[dict[str, Any]]] = {}
    for node_id, node in graph.items():
        title = node.get("_meta", {}).get("title")
        ref: Any = {"title": title} if title and titles[title] == 1 else node_id
        for input_name, value in node["inputs"].items():
            if input_name not in LIKELY_INPUTS or is_link(value):
                continue
            targets.setdefault(_value_name(input_name, node), []).append(
                {"node": ref, "class_type": node["class_type"], "input": input_name, "current": value}
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
