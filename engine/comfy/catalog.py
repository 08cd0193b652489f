"""Check an API-format graph against ComfyUI's node catalogue (GET /object_info), offline.

Mirrors what ComfyUI's /prompt validation checks (class exists, required inputs, literal types,
min/max, combo options, link targets and types) so mistakes surface in lint, not on the GPU.
Model-file combos are checked by the caller-supplied ``model_check`` instead, because their
options list the files present on one machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .. import files
from ..graph import is_link
from .input_spec import (
    AUTOGROW,
    DYNAMIC_COMBO,
    MATCH_TYPE,
    combo_values,
    declared,
    kind,
    options,
)

ModelCheck = Callable[[str, str, Any], "str | None"]
"""(class_type, input name, value) -> a problem, or None; called for empty-option combos."""

_UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload")
"""Combo flags of file inputs (LoadImage.image): their options list one machine's input folder."""


def load_catalog(path: Path | str | None = None) -> dict[str, Any]:
    """Read a saved GET /object_info answer (the project copy by default)."""
    return json.loads(Path(path or files.CATALOG).read_text(encoding="utf-8"))


def _accepted_link_types(spec: list) -> set[str] | None:
    """Types a link into this input may carry; None means any type."""
    name = kind(spec)
    if name == MATCH_TYPE:
        allowed = options(spec).get("template", {}).get("allowed_types", "*")
        return None if allowed == "*" else set(allowed.split(","))
    if name == "COMBO":
        return {"COMBO"}
    if name == "*" or name == AUTOGROW:
        return None
    return set(name.split(","))


def output_type(graph: Mapping[str, Any], catalog: Mapping[str, Any], link: list, depth: int = 0) -> Any:
    """The type a link carries; a match-type output takes the type of the input it matches."""
    source = graph[link[0]]
    entry = catalog[source["class_type"]]
    declared_type = entry["output"][link[1]]
    matches = entry.get("output_matchtypes") or []
    if declared_type != MATCH_TYPE or link[1] >= len(matches) or depth > len(graph):
        return declared_type
    for name, spec in declared(entry.get("input", {}))[0].items():
        template = options(spec).get("template", {})
        upstream = source["inputs"].get(name)
        if spec[0] == MATCH_TYPE and template.get("template_id") == matches[link[1]] and is_link(upstream):
            if upstream[0] in graph and upstream[0] != link[0] and graph[upstream[0]]["class_type"] in catalog:
                return output_type(graph, catalog, upstream, depth + 1)
    return "*"


def _literal_problem(kind: Any, opts: Mapping[str, Any], value: Any) -> str | None:
    """Why a literal value does not fit a widget input, or None."""
    if isinstance(value, dict) and set(value) == {"__value__"}:
        return None
    if kind == "INT" and (not isinstance(value, int) or isinstance(value, bool)):
        return f"expects an integer, got {value!r}"
    if kind == "FLOAT" and (not isinstance(value, (int, float)) or isinstance(value, bool)):
        return f"expects a number, got {value!r}"
    if kind == "STRING" and not isinstance(value, str):
        return f"expects a string, got {value!r}"
    if kind == "BOOLEAN" and not isinstance(value, bool):
        return f"expects a JSON boolean, got {value!r}"
    if kind in ("INT", "FLOAT"):
        if "min" in opts and value < opts["min"]:
            return f"value {value} is smaller than min {opts['min']}"
        if "max" in opts and value > opts["max"]:
            return f"value {value} is bigger than max {opts['max']}"
    if kind not in ("INT", "FLOAT", "STRING", "BOOLEAN"):
        return f"expects a link to a {kind} output, got the literal {value!r}"
    return None


def _input_problems(
    graph: Mapping[str, Any],
    catalog: Mapping[str, Any],
    class_type: str,
    name: str,
    spec: list,
    value: Any,
    model_check: ModelCheck,
) -> Iterator[str]:
    """Problems with one input value (a link or a literal) against its declaration."""
    if is_link(value):
        source = graph.get(value[0])
        if source is None:
            yield f"input {name!r} links to node {value[0]}, which is not in the graph"
            return
        outputs = catalog.get(source["class_type"], {}).get("output", [])
        if not 0 <= value[1] < len(outputs):
            yield f"input {name!r} links to output {value[1]} of node {value[0]}, which has {len(outputs)} output(s)"
            return
        accepted = _accepted_link_types(spec)
        out_type = output_type(graph, catalog, value)
        if accepted is not None and out_type != "*" and out_type not in accepted and not isinstance(out_type, list):
            yield f"input {name!r} expects {'/'.join(sorted(accepted))} but node {value[0]} output {value[1]} is {out_type}"
        return
    allowed = combo_values(spec)
    opts = options(spec)
    if allowed is not None and any(opts.get(k) for k in _UPLOAD_FLAGS):
        if not isinstance(value, str) or not value:
            yield f"input {name!r} expects an uploaded file name, got {value!r}"
        return
    if allowed is not None:
        if not allowed:
            problem = model_check(class_type, name, value)
            if problem:
                yield f"input {name!r}: {problem}"
        elif value not in allowed:
            yield f"input {name!r}: value {value!r} is not one of {allowed}"
        return
    problem = _literal_problem(spec[0], opts, value)
    if problem:
        yield f"input {name!r} {problem}"


def _autogrow_inputs(name: str, spec: list) -> tuple[dict[str, list], set[str]]:
    """The inputs an autogrow input stands for (``values.a``, ``values.b``...) and those required.

    ComfyUI names them ``<input>.<name>`` from the template's ``names``, or ``<input>.<prefix><i>``;
    the first ``min`` are required, the rest optional.
    """
    template = options(spec).get("template", {})
    names = template.get("names") or [f"{template.get('prefix', '')}{i}" for i in range(template.get("max", 0))]
    item_spec = next(iter(declared(template.get("input", {}))[0].values()), ["*", {}])
    grown = {f"{name}.{item}": item_spec for item in names}
    return grown, {f"{name}.{item}" for item in names[: template.get("min", 0)]}


def node_problems(
    graph: Mapping[str, Any], catalog: Mapping[str, Any], node_id: str, model_check: ModelCheck
) -> Iterator[str]:
    """Problems of one node, each prefixed with the node id and class."""
    node = graph[node_id]
    class_type = node["class_type"]
    entry = catalog.get(class_type)
    prefix = f"node {node_id} ({class_type})"
    if entry is None:
        yield f"{prefix}: class is not in the node catalogue (a custom node, or a typo?)"
        return
    inputs_declared, required = declared(entry.get("input", {}))
    inputs = node["inputs"]
    expected = dict(inputs_declared)
    for name, spec in inputs_declared.items():
        if spec[0] == AUTOGROW:
            grown, grown_required = _autogrow_inputs(name, spec)
            del expected[name]
            expected.update(grown)
            required = (required - {name}) | grown_required
        if spec[0] == DYNAMIC_COMBO and name in inputs:
            chosen = next((o for o in spec[1].get("options", []) if o.get("key") == inputs[name]), None)
            if chosen is None:
                keys = [o.get("key") for o in spec[1].get("options", [])]
                yield f"{prefix}: input {name!r}: value {inputs[name]!r} is not one of {keys}"
                continue
            sub_declared, sub_required = declared(chosen.get("inputs", {}))
            expected.update({f"{name}.{sub}": s for sub, s in sub_declared.items()})
            required |= {f"{name}.{sub}" for sub in sub_required}
    for name in sorted(required - set(inputs)):
        yield f"{prefix}: required input {name!r} is missing"
    for name, value in inputs.items():
        spec = expected.get(name)
        if spec is None:
            yield f"{prefix}: input {name!r} is not an input of {class_type}"
        elif spec[0] == DYNAMIC_COMBO and not is_link(value):
            continue
        else:
            for problem in _input_problems(graph, catalog, class_type, name, spec, value, model_check):
                yield f"{prefix}: {problem}"


def graph_problems(graph: Mapping[str, Any], catalog: Mapping[str, Any], model_check: ModelCheck) -> Iterator[str]:
    """Every problem ComfyUI's validation (or the model manifest) would find in ``graph``."""
    for node_id in graph:
        yield from node_problems(graph, catalog, node_id, model_check)
    if not any(catalog.get(n["class_type"], {}).get("output_node") for n in graph.values()):
        yield "the graph has no output node (SaveVideo, PreviewAny, ...): ComfyUI would refuse it"
