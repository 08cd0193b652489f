"""Data classes for one workflow's shapes: what its spec/mappings.yaml entry says, resolved and compiled."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping

from jsonschema.protocols import Validator

from .expressions import Expression, Program
from .plan import WritePlan


@dataclass(frozen=True)
class NodeRef:
    """A node of the template, with the class_type it must have."""

    node: str
    class_type: str
    where: str


@dataclass(frozen=True)
class Target(NodeRef):
    """One node input a value is written to; ``value`` overrides the named value when set."""

    input: str
    value: Expression | None = None


@dataclass(frozen=True)
class Bypass(NodeRef):
    """A node removed from the graph when ``when`` holds; its outputs are rewired to inputs."""

    when: Expression
    outputs: Mapping[int, str]
    consumers: tuple[tuple[str, str, tuple[str, int]], ...] = ()
    """Every (node id, input name, link) in the template that reads one of this node's outputs."""


@dataclass(frozen=True)
class SelectionKey:
    """A request field that selects a workflow when ``workflow`` is absent."""

    name: str
    default: str
    description: str = ""


@dataclass(frozen=True)
class Workflow:
    """One servable workflow: its template graph, request schema and mapping.

    ``template`` is read-only (engine.plan.frozen_object): rendered graphs share its untouched nodes.
    """

    name: str
    description: str
    template_file: Path
    template: Mapping[str, Any] = field(repr=False)
    select: Mapping[str, str]
    schema: Mapping[str, Any] = field(repr=False)
    validator: Validator = field(repr=False)
    defaults: Mapping[str, Any]
    let: Program
    targets: tuple[tuple[str, tuple[Target, ...]], ...]
    bypass: tuple[Bypass, ...]
    outputs: Mapping[str, NodeRef]
    report: tuple[str, ...]

    @cached_property
    def plan(self) -> WritePlan:
        """The write plan of the targets and bypasses, compiled on first use and kept."""
        return WritePlan(self.template, self.targets, self.bypass)

    def parameters_for(self, node_id: str, inputs: Iterable[str] = ()) -> list[str]:
        """The request fields whose values are written into ``node_id`` (for readable ComfyUI errors).

        With ``inputs``, only the fields written to those inputs, when any are; derived values are
        traced back to the request fields they come from (``frames`` -> ``duration``).
        """
        wanted = set(inputs)
        mapped = [(name, t) for name, targets in self.targets for t in targets if t.node == node_id]
        chosen = [(name, t) for name, t in mapped if t.input in wanted] or mapped
        fields = set(self.parameters)
        found: list[str] = []
        for name, target in chosen:
            for source in [name, *sorted(target.value.names if target.value else ())]:
                found += [f for f in self.let.sources(source, fields) if f not in found]
        return found

    @property
    def parameters(self) -> dict[str, Any]:
        """The request parameters the schema declares, by name."""
        return dict(self.schema.get("properties", {}))
