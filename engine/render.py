"""Render a validated request onto a workflow template as RFC 6902 JSON-patch operations.

Pure: the same workflow, request and runtime values always give the same operations and graph.
Every write is preceded by a ``test`` of the node's class_type, so a template whose ids moved
fails loudly with the parameter and node named, never as a silently wrong graph.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import jsonpatch
from jsonpointer import JsonPointerException

from .errors import RenderError
from .graph import pointer
from .prepare import Prepared
from .workflow import Bypass, Workflow

RUNTIME_NAMES = ("job_id", "random_seed", "input_image")
"""Values the caller (handler or CLI) supplies per job, visible to spec expressions."""

RANDOM_SEED_LIMIT = 2**53
"""Random seeds stay below 2**53 so JavaScript callers can send them back exactly."""


def new_random_seed() -> int:
    """A fresh ``random_seed`` runtime value for one job."""
    return secrets.randbelow(RANDOM_SEED_LIMIT)


@dataclass(frozen=True)
class Rendered:
    """The result of rendering: the graph to queue, the patch that made it, what to report."""

    workflow: str
    graph: dict[str, Any]
    operations: list[dict[str, Any]] = field(repr=False)
    metadata: dict[str, Any]
    outputs: dict[str, str]
    """Output name -> node id, for the output nodes this graph has (a bypassed one is left out)."""
    _workflow: Workflow = field(repr=False, compare=False)

    @property
    def patch(self) -> list[dict[str, Any]]:
        """The RFC 6902 patch as JSON (string paths), for review, golden files and ``--patch``."""
        return [{**op, "path": op["path"].path} for op in self.operations]

    def parameters_for(self, node_id: str, inputs: Iterable[str] = ()) -> list[str]:
        """The request fields written into ``node_id`` (``inputs`` narrows), see Workflow.parameters_for."""
        return self._workflow.parameters_for(node_id, inputs)


def context(workflow: Workflow, request: Mapping[str, Any], runtime: Mapping[str, Any]) -> dict[str, Any]:
    """The names expressions see: request fields, runtime values, then derived values in order."""
    values = dict(request)
    values.update((k, v) for k, v in runtime.items() if v is not None)
    return workflow.let.run(values)


def patch_operations(workflow: Workflow, values: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON-patch operations for ``values``, and for each operation what it is for."""
    ops: list[dict[str, Any]] = []
    origins: list[str] = []
    bypassed = {b.node: b for b in workflow.bypass if b.when.evaluate(values)}
    for param, targets in workflow.targets:
        if param not in values:
            continue
        for target in targets:
            if target.node in bypassed:
                continue
            value = target.value.evaluate(values) if target.value else values[param]
            origin = f"parameter {param} -> node {target.node} ({target.class_type}) input {target.input}"
            ops.append({"op": "test", "path": target.class_pointer, "value": target.class_type})
            ops.append({"op": "replace", "path": target.input_pointer, "value": value})
            origins += [origin, origin]
    for op, origin in _bypass_operations(workflow.template, bypassed):
        ops.append(op)
        origins.append(origin)
    return ops, origins


def _bypass_operations(template: Mapping[str, Any], bypassed: Mapping[str, Bypass]):
    """Rewire every consumer of a bypassed node to the node's passed-through input, then remove it."""
    for node_id, bypass in bypassed.items():
        for consumer_id, input_name, link in bypass.consumers:
            if consumer_id in bypassed:
                continue
            origin = f"bypass node {node_id} -> rewire node {consumer_id} input {input_name}"
            path = pointer(consumer_id, "inputs", input_name)
            yield {"op": "test", "path": path, "value": list(link)}, origin
            yield {"op": "replace", "path": path, "value": _upstream(template, bypassed, link)}, origin
    for node_id, bypass in bypassed.items():
        origin = f"bypass node {node_id} ({bypass.class_type})"
        yield {"op": "test", "path": bypass.class_pointer, "value": bypass.class_type}, origin
        yield {"op": "remove", "path": pointer(node_id)}, origin


def _upstream(template: Mapping[str, Any], bypassed: Mapping[str, Bypass], link: Sequence) -> list:
    """Follow a link back through bypassed nodes to the first node that stays."""
    while link[0] in bypassed:
        passed_input = bypassed[link[0]].outputs[link[1]]
        link = template[link[0]]["inputs"][passed_input]
    return list(link)


_OPERATIONS = {"test": jsonpatch.TestOperation, "replace": jsonpatch.ReplaceOperation, "remove": jsonpatch.RemoveOperation}


def apply(template_text: str, ops: list[dict[str, Any]], origins: list[str]) -> dict[str, Any]:
    """Apply ``ops`` in order to a fresh copy of the template; a failed guard names its origin."""
    doc = json.loads(template_text)
    for op, origin in zip(ops, origins):
        try:
            doc = _OPERATIONS[op["op"]](op).apply(doc)
        except (jsonpatch.JsonPatchException, JsonPointerException) as exc:
            raise RenderError(f"template does not match the mapping: {origin}: {exc}") from exc
    return doc


def render(prepared: Prepared, runtime: Mapping[str, Any]) -> Rendered:
    """Render a validated request (defaults filled) with the caller's runtime values."""
    workflow, request = prepared.workflow, prepared.request
    unknown = set(runtime) - set(RUNTIME_NAMES)
    if unknown:
        raise RenderError(f"unknown runtime value(s) {sorted(unknown)}; known: {list(RUNTIME_NAMES)}")
    values = context(workflow, request, runtime)
    ops, origins = patch_operations(workflow, values)
    graph = apply(workflow.template_text, ops, origins)
    metadata = {"workflow": workflow.name}
    metadata.update((name, values[name]) for name in workflow.report if name in values)
    return Rendered(
        workflow=workflow.name,
        graph=graph,
        operations=ops,
        metadata=metadata,
        outputs={key: ref.node for key, ref in workflow.outputs.items() if ref.node in graph},
        _workflow=workflow,
    )
