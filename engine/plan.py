"""A workflow's write plan: every write, rewire and removal a render can make, compiled once from
the mapping, and the copy-on-write graph a render builds with it.

The template is read-only (parsed with ``frozen_object``): a rendered graph is a new top-level dict whose written,
rewired or removed nodes are fresh copies and whose other nodes are the template's own read-only
ones, so a render costs the nodes it touches, not the graph's size, and mutating a rendered graph
can never change the next one (a shared node refuses writes; ``copy.deepcopy`` gives a mutable
graph). The RFC 6902 operations equal to a render (``operations``) are built only when asked for:
golden files, ``--patch`` and review.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, NoReturn, Protocol, Sequence

from .errors import RenderError
from .expressions import Expression
from .graph import pointer


def _read_only(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(f"this {type(self).__name__} is part of a workflow template, shared by every rendered graph; "
                    "copy.deepcopy the graph to change it")


class FrozenDict(dict):
    """A dict that refuses changes; copies (``copy``, ``deepcopy``, ``pickle``, ``dict()``) are plain dicts."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type, tuple[dict]]:
        return dict, (dict(self),)


class FrozenList(list):
    """A list that refuses changes; copies (``copy``, ``deepcopy``, ``pickle``, ``list()``) are plain lists."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = sort = \
        reverse = _read_only

    def __reduce__(self) -> tuple[type, tuple[list]]:
        return list, (list(self),)


def _frozen_list(items: list) -> FrozenList:
    return FrozenList([_frozen_list(v) if v.__class__ is list else v for v in items])


def frozen_object(pairs: list[tuple[str, Any]]) -> FrozenDict:
    """``json.loads``'s object_pairs_hook that makes a document read-only as it is parsed (objects
    inside out, each with its arrays): FrozenDicts and FrozenLists all the way down, in one pass."""
    return FrozenDict({k: _frozen_list(v) if v.__class__ is list else v for k, v in pairs})


class TargetLike(Protocol):
    """What the plan reads of a target (engine.workflow.Target)."""

    @property
    def node(self) -> str: ...
    @property
    def class_type(self) -> str: ...
    @property
    def input(self) -> str: ...
    @property
    def value(self) -> Expression | None: ...


class BypassLike(Protocol):
    """What the plan reads of a bypass (engine.workflow.Bypass)."""

    @property
    def node(self) -> str: ...
    @property
    def class_type(self) -> str: ...
    @property
    def outputs(self) -> Mapping[int, str]: ...
    @property
    def consumers(self) -> tuple[tuple[str, str, tuple[str, int]], ...]: ...


@dataclass(frozen=True)
class Write:
    """One target of the mapping: the value ``param`` (or ``value`` of it) into a node input."""

    param: str
    node: str
    class_type: str
    input: str
    value: Expression | None
    origin: str
    """What the write is for, as a failed guard names it."""


@dataclass(frozen=True)
class Rewire:
    """A consumer of a bypassed node, linked to the first upstream node that stays."""

    node: str
    input: str
    link: list
    upstream: FrozenList
    origin: str


@dataclass(frozen=True)
class Removal:
    """A bypassed node, removed from the graph after its consumers are rewired."""

    node: str
    class_type: str
    origin: str


@dataclass(frozen=True)
class BypassPlan:
    """What one set of taken bypasses does to the graph."""

    rewires: tuple[Rewire, ...]
    removals: tuple[Removal, ...]


Writes = Sequence[tuple[Write, Any]]
"""The writes one render makes, in order, each with its value."""


class WritePlan:
    """Everything a render of one workflow writes, compiled from its targets and bypasses."""

    def __init__(self, template: Mapping[str, Any], targets: Sequence[tuple[str, Sequence[TargetLike]]],
                 bypass: Sequence[BypassLike]):
        self.template = template
        self.writes = tuple(
            Write(param, t.node, t.class_type, t.input, t.value,
                  f"parameter {param} -> node {t.node} ({t.class_type}) input {t.input}")
            for param, items in targets for t in items
        )
        self.bypass = tuple(bypass)
        self.bypass_plan = lru_cache(maxsize=256)(self._bypass_plan)
        """The BypassPlan of the taken bypasses (their indexes in ``bypass``), compiled on first use."""

    def _bypass_plan(self, taken: tuple[int, ...]) -> BypassPlan:
        bypassed = {self.bypass[i].node: self.bypass[i] for i in taken}
        rewires = tuple(
            Rewire(consumer, input_name, list(link), FrozenList(self._upstream(bypassed, link)),
                   f"bypass node {node_id} -> rewire node {consumer} input {input_name}")
            for node_id, bypass in bypassed.items()
            for consumer, input_name, link in bypass.consumers
            if consumer not in bypassed
        )
        removals = tuple(Removal(node_id, bypass.class_type, f"bypass node {node_id} ({bypass.class_type})")
                         for node_id, bypass in bypassed.items())
        return BypassPlan(rewires, removals)

    def _upstream(self, bypassed: Mapping[str, BypassLike], link: Sequence) -> list:
        """Follow a link back through bypassed nodes to the first node that stays."""
        while link[0] in bypassed:
            passed_input = bypassed[link[0]].outputs[link[1]]
            node_id, link = link[0], (self.template.get(link[0]) or {}).get("inputs", {}).get(passed_input)
            if link is None:
                _mismatch(f"bypass node {node_id}", f"node {node_id} has no input {passed_input!r} to pass through")
        return list(link)

    def graph(self, writes: Writes, taken: tuple[int, ...]) -> dict[str, Any]:
        """The rendered graph: the template with ``writes`` and the taken bypasses, every guard checked.

        Each node written, rewired or removed must still be what the mapping expects (its class_type,
        the input, the link being replaced): a template that no longer matches fails naming what the
        write is for, never as a silently wrong graph.
        """
        template = self.template
        graph = dict(template)
        copies: dict[str, dict[str, Any]] = {}
        for write, value in writes:
            node = copies.get(write.node) or self._copy(graph, copies, write.node, write.class_type, write.origin)
            inputs = node["inputs"]
            if write.input not in inputs:
                _mismatch(write.origin, f"node {write.node} has no input {write.input!r}")
            inputs[write.input] = value
        plan = self.bypass_plan(taken)
        for rewire in plan.rewires:
            node = copies.get(rewire.node) or self._copy(graph, copies, rewire.node, None, rewire.origin)
            inputs = node["inputs"]
            if inputs.get(rewire.input) != rewire.link:
                _mismatch(rewire.origin, f"input {rewire.input!r} is {inputs.get(rewire.input)!r}, not the link {rewire.link}")
            inputs[rewire.input] = rewire.upstream
        for removal in plan.removals:
            _check_class(template.get(removal.node), removal.node, removal.class_type, removal.origin)
            del graph[removal.node]
        return graph

    @staticmethod
    def _copy(graph: dict[str, Any], copies: dict[str, dict[str, Any]], node_id: str, class_type: str | None,
              origin: str) -> dict[str, Any]:
        """Replace the shared node ``node_id`` in ``graph`` by a copy with its own inputs (checking its class)."""
        shared = graph.get(node_id)
        _check_class(shared, node_id, class_type, origin)
        node = dict(shared)
        node["inputs"] = dict(shared["inputs"])
        graph[node_id] = copies[node_id] = node
        return node

    def operations(self, writes: Writes, taken: tuple[int, ...]) -> list[dict[str, Any]]:
        """The RFC 6902 patch equal to ``graph(writes, taken)``: a ``test`` of the class_type before each
        write; for a bypass, ``test`` + ``replace`` of each consumer link, then ``test`` + ``remove``."""
        ops: list[dict[str, Any]] = []
        for write, value in writes:
            ops.append({"op": "test", "path": pointer(write.node, "class_type").path, "value": write.class_type})
            ops.append({"op": "replace", "path": pointer(write.node, "inputs", write.input).path, "value": value})
        plan = self.bypass_plan(taken)
        for rewire in plan.rewires:
            path = pointer(rewire.node, "inputs", rewire.input).path
            ops.append({"op": "test", "path": path, "value": list(rewire.link)})
            ops.append({"op": "replace", "path": path, "value": list(rewire.upstream)})
        for removal in plan.removals:
            ops.append({"op": "test", "path": pointer(removal.node, "class_type").path, "value": removal.class_type})
            ops.append({"op": "remove", "path": pointer(removal.node).path})
        return ops


def _check_class(node: Mapping[str, Any] | None, node_id: str, class_type: str | None, origin: str) -> None:
    if node is None:
        _mismatch(origin, f"node {node_id} is not in the template")
    if class_type is not None and node.get("class_type") != class_type:
        _mismatch(origin, f"node {node_id} is a {node.get('class_type')}, not a {class_type}")


def _mismatch(origin: str, problem: str) -> NoReturn:
    raise RenderError(f"template does not match the mapping: {origin}: {problem}")
