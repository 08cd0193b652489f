"""Synthetic specs and graphs for the benchmarks: many workflows, big graphs, many targets.

Not a benchmark itself; ``bench_render.py`` and ``bench_growth.py`` import it.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from engine.files import ROOT, SPEC, read_yaml


def write_spec(directory: Path, count: int, shared: bool = True) -> Path:
    """A spec of ``count`` workflows in ``directory`` (spec/mappings.yaml, templates/); returns its path.

    The shipped workflows come first, then copies of them in turn (renamed, without ``select``),
    each with its own copy of its template file. ``shared``: the copies share their schema, let,
    targets, ... with the shipped entry through YAML aliases, as the LTX-2 entries share their
    parameters (what ``yaml.safe_dump`` writes for shared objects); otherwise every entry is
    written out in full.
    """
    raw = read_yaml(SPEC)
    shipped = list(raw["workflows"].items())
    (directory / "spec").mkdir(parents=True, exist_ok=True)
    (directory / "templates").mkdir(exist_ok=True)
    workflows: dict[str, Any] = {}
    for index in range(count):
        base_name, base = shipped[index % len(shipped)]
        name = base_name if index < len(shipped) else f"{base_name}-{index:04d}"
        entry = {key: value for key, value in base.items() if index < len(shipped) or key != "select"}
        entry = entry if shared else copy.deepcopy(entry)
        entry["template"] = f"{name}.json"
        shutil.copyfile(ROOT / "templates" / base["template"], directory / "templates" / entry["template"])
        workflows[name] = entry
    text = yaml.safe_dump({**{k: v for k, v in raw.items() if k != "workflows"}, "workflows": workflows},
                          sort_keys=False, width=120)
    path = directory / "spec" / "mappings.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def chain_template(nodes: int) -> dict[str, Any]:
    """An API-format graph of ``nodes`` nodes: a PrimitiveInt chain feeding EmptyImage -> CreateVideo -> SaveVideo."""
    graph: dict[str, Any] = {}
    for index in range(1, nodes - 2):
        graph[str(index)] = {"class_type": "PrimitiveInt", "inputs": {"value": index},
                             "_meta": {"title": f"Value {index}"}}
    graph[str(nodes - 2)] = {"class_type": "EmptyImage", "_meta": {"title": "Canvas"},
                             "inputs": {"width": 64, "height": 64, "batch_size": ["1", 0], "color": 0}}
    graph[str(nodes - 1)] = {"class_type": "CreateVideo", "inputs": {"images": [str(nodes - 2), 0], "fps": 24.0}}
    graph[str(nodes)] = {"class_type": "SaveVideo", "inputs": {"video": [str(nodes - 1), 0], "filename_prefix": "x",
                                                              "format": "auto", "codec": "auto"}}
    return graph


def write_graph_spec(directory: Path, nodes: int, targets: int) -> Path:
    """A one-workflow spec on ``chain_template(nodes)`` writing the request field ``base`` into
    ``targets`` PrimitiveInts, every other one through a ``value`` expression; returns its path."""
    (directory / "spec").mkdir(parents=True, exist_ok=True)
    (directory / "templates").mkdir(exist_ok=True)
    (directory / "templates" / "chain.json").write_text(json.dumps(chain_template(nodes)), encoding="utf-8")
    written = range(1, min(targets, nodes - 3) + 1)
    entry = {
        "template": "chain.json",
        "schema": {"type": "object", "additionalProperties": False, "examples": [{}],
                   "properties": {"base": {"type": "integer", "default": 3}}},
        "let": {"double": "base * 2"},
        "targets": {
            "base": [{"node": str(i), "class_type": "PrimitiveInt", "input": "value",
                      **({"value": f"double + {i}"} if i % 2 else {})} for i in written],
            "job_id": [{"node": str(nodes), "class_type": "SaveVideo", "input": "filename_prefix",
                        "value": "'chain/' ~ job_id"}],
        },
        "outputs": {"video": {"node": str(nodes), "class_type": "SaveVideo"}},
    }
    path = directory / "spec" / "mappings.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "workflows": {"chain": entry}}, sort_keys=False), encoding="utf-8")
    return path
