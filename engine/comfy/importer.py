"""Convert a ComfyUI UI-format workflow (what the editor saves) to API format (what /prompt runs).

Follows the ComfyUI frontend's "Export (API)" (``graphToPrompt`` with ``ExecutableNodeDTO``):

- subgraphs are flattened; a node inside instance 92 gets the id ``"92:<inner id>"`` (nested
  instances add more parts). A subgraph input resolves to the outer link into the instance or,
  when that is unconnected, to the instance's promoted widget value; an output to the inner link.
- muted nodes (mode 2) are dropped, and so is every link from one (an input that also has a widget
  keeps the widget's value); bypassed nodes (mode 4) are dropped and a link through one is rewired
  to its input of the matching type.
- Reroute is followed to the real source; Note, MarkdownNote and PrimitiveNode never appear
  (a PrimitiveNode's value goes into the inputs it feeds).
- ``widgets_values`` are assigned in catalogue ``input_order``, skipping UI-only companion values
  (``control_after_generate``, upload buttons); dynamic-combo sub-inputs become dotted names. A value
  of the wrong type is kept, as the frontend keeps it, with a warning naming the node and input.
- ``_meta`` holds the title (the node's own, else the catalogue's display name, else the English
  name the frontend has for the class: ``display_names``) and the node's ``cnr_id``, ``aux_id``
  and ``ver`` properties, as the frontend writes them.

No I/O but reading the project's display-name table when the caller passes none. Conversion
problems raise :class:`WorkflowImportError` naming the node.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .. import files
from ..errors import WorkflowImportError
from . import input_spec as ispec
from .input_spec import DYNAMIC_COMBO

log = logging.getLogger(__name__)

MUTED = 2
BYPASSED = 4
SUBGRAPH_INPUT_NODE = "-10"
UI_ONLY_CLASSES = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode"})
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", DYNAMIC_COMBO})
LEGACY_CONTROL_NAMES = frozenset({"seed", "noise_seed"})
"""INT inputs the frontend gives a control_after_generate widget when the catalogue says nothing."""
UPLOAD_COMPANIONS = {"image_upload": 1, "video_upload": 1, "audio_upload": 2}
"""UI-only widgets the frontend adds after a file combo: the upload button (and the audio player)."""
META_PROPERTIES = ("cnr_id", "aux_id", "ver")
"""Node properties the frontend copies into ``_meta`` (which node pack and version made the node)."""
_END = object()


@dataclass(frozen=True)
class Link:
    """One UI link, with node ids as strings (-10/-20 are a subgraph's input/output nodes)."""

    id: int
    origin_id: str
    origin_slot: int
    target_id: str
    target_slot: int


@dataclass(frozen=True)
class Scope:
    """The nodes and links of the root graph or of one subgraph definition."""

    nodes: Mapping[str, dict]
    links: Mapping[int, Link]
    definition: Mapping[str, Any] | None


@dataclass(frozen=True)
class Frame:
    """A scope as seen through one chain of subgraph instances (the API id prefix)."""

    path: tuple[str, ...]
    scope: Scope
    instance: Mapping[str, Any] | None
    parent: Frame | None
    promoted: Mapping[int, Any]


@dataclass(frozen=True)
class Context:
    """What every step needs: the catalogue, the subgraph definitions and the enabled node ids."""

    catalog: Mapping[str, Any]
    scopes: Mapping[str, Scope]
    enabled: frozenset[str]
    display_names: Mapping[str, str]


@dataclass(frozen=True)
class Source:
    """A link resolved to a real node's output."""

    node_id: str
    slot: int


@dataclass(frozen=True)
class Value:
    """A link resolved to a plain value (a promoted widget or a PrimitiveNode)."""

    value: Any


Resolved = Source | Value | None


@dataclass(frozen=True)
class Entry:
    """One node met while walking the flattened graph."""

    exec_id: str
    node: Mapping[str, Any]
    frame: Frame
    mode: int
    active: bool


def load_display_names(path: Path = files.DISPLAY_NAMES) -> dict[str, str]:
    """The frontend's English names for classes the catalogue gives no display name (spec/README.md)."""
    return json.loads(path.read_text(encoding="utf-8"))


def convert(ui: dict, catalog: dict, enable: Iterable[str] = (), display_names: Mapping[str, str] | None = None) -> dict:
    """The API graph the frontend's Export (API) writes for ``ui``, with ``enable`` nodes turned on.

    ``display_names`` defaults to the project's table of the frontend's English class names.
    """
    names = load_display_names() if display_names is None else display_names
    ctx = Context(catalog, _subgraph_scopes(ui), frozenset(enable), names)
    root = Frame((), _scope(ui, None), None, None, {})
    entries = list(_walk(ctx, root, True))
    _check_enable(ctx.enabled, entries)
    graph = {e.exec_id: _api_node(ctx, e) for e in entries if _is_emitted(ctx, e)}
    return {node_id: graph[node_id] for node_id in sorted(graph, key=_natural_key)}


def dumps(graph: dict) -> str:
    """The canonical text of an API graph: indented, UTF-8 as is, newline-terminated (diffs well)."""
    return json.dumps(graph, indent=2, ensure_ascii=False) + "\n"


def _natural_key(node_id: str) -> tuple:
    """Sort key comparing the numeric parts of an id as numbers ("92:9" before "92:10")."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", node_id)))


def _link(raw: list | Mapping[str, Any]) -> Link:
    """A link from the root's array form [id, origin, slot, target, slot, type] or a subgraph's dict."""
    if isinstance(raw, Mapping):
        raw = [raw["id"], raw["origin_id"], raw["origin_slot"], raw["target_id"], raw["target_slot"]]
    link_id, origin_id, origin_slot, target_id, target_slot = raw[:5]
    return Link(link_id, str(origin_id), origin_slot, str(target_id), target_slot)


def _scope(graph: Mapping[str, Any], definition: Mapping[str, Any] | None) -> Scope:
    """Index a graph's nodes by string id and its links by id."""
    nodes = {str(node["id"]): node for node in graph.get("nodes", [])}
    links = {link.id: link for link in map(_link, graph.get("links", []))}
    return Scope(nodes, links, definition)


def _definitions(graph: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every subgraph definition in a graph, including those nested in other definitions."""
    for definition in graph.get("definitions", {}).get("subgraphs", []):
        yield definition
        yield from _definitions(definition)


def _subgraph_scopes(ui: Mapping[str, Any]) -> dict[str, Scope]:
    """Subgraph definitions by id (a node whose type is one of these ids is an instance)."""
    return {d["id"]: _scope(d, d) for d in _definitions(ui)}


def _exec_id(frame: Frame, node: Mapping[str, Any]) -> str:
    """The API id of a node: the instance path and the node's own id joined by ':'."""
    return ":".join((*frame.path, str(node["id"])))


def _mode(ctx: Context, exec_id: str, node: Mapping[str, Any]) -> int:
    """A node's mode, with the nodes listed in ``enable`` switched back on."""
    return 0 if exec_id in ctx.enabled else node.get("mode", 0)


def _walk(ctx: Context, frame: Frame, active: bool) -> Iterator[Entry]:
    """Every node of a frame and, recursively, of the subgraph instances in it."""
    for node in frame.scope.nodes.values():
        exec_id = _exec_id(frame, node)
        mode = _mode(ctx, exec_id, node)
        yield Entry(exec_id, node, frame, mode, active)
        if node["type"] in ctx.scopes:
            yield from _walk(ctx, _child_frame(ctx, frame, node), active and mode not in (MUTED, BYPASSED))


def _check_enable(enabled: frozenset[str], entries: list[Entry]) -> None:
    """Every id in ``enable`` must name a node that is bypassed or muted in the workflow."""
    by_id = {e.exec_id: e for e in entries}
    for node_id in sorted(enabled, key=_natural_key):
        entry = by_id.get(node_id)
        if entry is None:
            raise WorkflowImportError(f"enable: no node {node_id} in the workflow")
        if entry.node.get("mode", 0) not in (MUTED, BYPASSED):
            raise WorkflowImportError(
                f"enable: node {node_id} ({entry.node['type']}) is not bypassed or muted")


def _is_emitted(ctx: Context, entry: Entry) -> bool:
    """Whether a node appears in API format: active, not muted or bypassed, not UI-only."""
    return (entry.active and entry.mode not in (MUTED, BYPASSED)
            and entry.node["type"] not in UI_ONLY_CLASSES and entry.node["type"] not in ctx.scopes)


def _api_node(ctx: Context, entry: Entry) -> dict:
    """One API node: widget values, then linked inputs resolved, in catalogue order, with its title."""
    class_type = entry.node["type"]
    where = f"node {entry.exec_id} ({class_type})"
    spec = ctx.catalog.get(class_type)
    if spec is None:
        raise WorkflowImportError(f"{where}: class is not in the node catalogue")
    inputs = _widget_inputs(where, entry.node, spec)
    for slot in entry.node.get("inputs", []):
        if slot.get("link") is not None:
            _apply(inputs, slot["name"], _resolve_link(ctx, entry.frame, slot["link"], slot.get("type"), frozenset()))
    return {"inputs": _ordered(inputs, ispec.input_names(spec)), "class_type": class_type,
            "_meta": _meta(entry.node, spec, ctx.display_names)}


def _meta(node: Mapping[str, Any], spec: Mapping[str, Any], display_names: Mapping[str, str]) -> dict[str, Any]:
    """The title the frontend shows, then the node-pack properties it copies."""
    class_type = node["type"]
    title = node.get("title") or spec.get("display_name") or display_names.get(class_type) or class_type
    properties = node.get("properties") or {}
    return {"title": title, **{key: properties[key] for key in META_PROPERTIES if properties.get(key) is not None}}


def _apply(inputs: dict[str, Any], name: str, resolved: Resolved) -> None:
    """Put a resolved link into the inputs; an unresolved or muted one leaves the widget value, if any."""
    if isinstance(resolved, Source):
        inputs[name] = [resolved.node_id, resolved.slot]
    elif isinstance(resolved, Value):
        inputs[name] = _wrap(resolved.value)


def _wrap(value: Any) -> Any:
    """Box a list value so ComfyUI does not read it as a link (the frontend's ``__value__``)."""
    return {"__value__": value} if isinstance(value, list) else value


def _ordered(inputs: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Inputs in catalogue order, each followed by its dotted sub-inputs; unknown names last."""
    order = [key for name in names for key in inputs if key == name or key.startswith(name + ".")]
    order = list(dict.fromkeys(order))
    rest = [key for key in inputs if key not in order]
    return {key: inputs[key] for key in order + rest}


def _is_widget(input_spec: list) -> bool:
    """Whether the frontend gives this input a widget, i.e. a slot in ``widgets_values``."""
    return ispec.kind(input_spec) in WIDGET_TYPES and not ispec.options(input_spec).get("forceInput")


def _companions(name: str, input_spec: list) -> int:
    """How many UI-only values follow this widget's value in ``widgets_values``."""
    options = ispec.options(input_spec)
    control = options.get("control_after_generate")
    if control is None:
        control = name in LEGACY_CONTROL_NAMES
    count = int(ispec.kind(input_spec) == "INT" and bool(control))
    return count + sum(n for flag, n in UPLOAD_COMPANIONS.items() if options.get(flag))


def _widget_inputs(where: str, node: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """Assign ``widgets_values`` to the class's widget inputs in order; extra values are ignored."""
    values = node.get("widgets_values") or []
    if not isinstance(values, list):
        raise WorkflowImportError(f"{where}: widgets_values is not a list")
    stream = iter(values)
    inputs: dict[str, Any] = {}
    for name in ispec.input_names(spec):
        inputs.update(_take_widget(where, name, ispec.input_spec(spec, name), stream))
    surplus = list(stream)
    if surplus:
        log.warning("%s: ignoring %d widget value(s) the catalogue has no widget for: %r",
                    where, len(surplus), surplus)
    return inputs


def _take_widget(where: str, name: str, input_spec: list | None, stream: Iterator[Any]) -> dict[str, Any]:
    """Read one widget's value (and its dynamic-combo sub-inputs), skipping UI-only companions."""
    if input_spec is None or not _is_widget(input_spec):
        return {}
    value = next(stream, _END)
    if value is _END:
        raise WorkflowImportError(f"{where}: widgets_values has too few values (none left for {name!r})")
    _check_value(where, name, input_spec, value)
    for _ in range(_companions(name, input_spec)):
        next(stream, None)
    taken = {name: _wrap(value)}
    if ispec.kind(input_spec) == DYNAMIC_COMBO:
        for sub_name, sub_spec in _option_inputs(where, name, input_spec, value):
            taken.update(_take_widget(where, f"{name}.{sub_name}", sub_spec, stream))
    return taken


def _option_inputs(where: str, name: str, input_spec: list, key: Any) -> list[tuple[str, list]]:
    """The sub-inputs of a dynamic combo's chosen option, required then optional, in catalogue order."""
    option = next((o for o in ispec.options(input_spec)["options"] if o["key"] == key), None)
    if option is None:
        keys = ", ".join(repr(o["key"]) for o in ispec.options(input_spec)["options"])
        raise WorkflowImportError(f"{where}: {key!r} is not an option of {name!r} ({keys}), "
                                  "so its sub-inputs are unknown")
    sections = option.get("inputs", {})
    return [*sections.get("required", {}).items(), *sections.get("optional", {}).items()]


def _fits(input_spec: list, value: Any) -> bool:
    """Whether a widget value has the input's type (catches values shifted onto the wrong input)."""
    kind = ispec.kind(input_spec)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "INT":
        return number and float(value).is_integer()
    if kind == "FLOAT":
        return number
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if kind == "STRING":
        return isinstance(value, str)
    if kind == DYNAMIC_COMBO:
        return any(o["key"] == value for o in ispec.options(input_spec)["options"])
    if ispec.options(input_spec).get("multiselect"):
        return isinstance(value, list)
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _check_value(where: str, name: str, input_spec: list, value: Any) -> None:
    """Warn about a widget value of the wrong type; it is kept, as the frontend keeps it.

    Such a value means widgets_values and the catalogue are out of step (a workflow saved by a
    newer ComfyUI, or a key-sorted catalogue); lint then reports what ComfyUI would refuse.
    """
    if not _fits(input_spec, value):
        log.warning("%s: widget value %r does not fit input %r (%s); widgets_values does not match "
                    "the catalogue's widgets, so check this node", where, value, name, ispec.kind(input_spec))


def _promoted_target(scope: Scope, index: int) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """The first inner (node, input) fed by subgraph input ``index`` that has a widget, if any."""
    for link_id in scope.definition["inputs"][index].get("linkIds", []):
        link = scope.links.get(link_id)
        node = scope.nodes.get(link.target_id) if link else None
        slot = next((s for s in (node or {}).get("inputs", []) if s.get("link") == link_id), None)
        if slot is not None and slot.get("widget"):
            return node, slot
    return None


def _has_control(catalog: Mapping[str, Any], target: tuple[Mapping[str, Any], Mapping[str, Any]]) -> bool:
    """Whether the widget a subgraph input is promoted from has a control_after_generate companion."""
    node, slot = target
    spec = catalog.get(node["type"])
    input_spec = ispec.input_spec(spec, slot["name"]) if spec else None
    return input_spec is not None and _is_widget(input_spec) and _companions(slot["name"], input_spec) > 0


def _promoted_values(catalog: Mapping[str, Any], instance: Mapping[str, Any], scope: Scope) -> dict[int, Any]:
    """Subgraph input index -> the instance's widget value for it.

    The instance has one widget per subgraph input that feeds an inner widget, in input order.
    Older files also stored a control_after_generate value after a promoted seed; that layout is
    recognised, as the frontend does, by there being more values than promoted inputs.
    """
    targets = {i: _promoted_target(scope, i) for i in range(len(scope.definition["inputs"]))}
    promoted = [i for i, target in targets.items() if target is not None]
    values = instance.get("widgets_values") or []
    legacy = len(values) > len(promoted)
    result, position = {}, 0
    for index in promoted:
        if position < len(values):
            result[index] = values[position]
        position += 1 + int(legacy and _has_control(catalog, targets[index]))
    return result


def _child_frame(ctx: Context, frame: Frame, instance: Mapping[str, Any]) -> Frame:
    """The frame of a subgraph instance's inner nodes."""
    if instance["type"] in _enclosing_subgraphs(frame):
        raise WorkflowImportError(f"node {_exec_id(frame, instance)}: subgraph {instance['type']} contains itself")
    scope = ctx.scopes[instance["type"]]
    path = (*frame.path, str(instance["id"]))
    return Frame(path, scope, instance, frame, _promoted_values(ctx.catalog, instance, scope))


def _enclosing_subgraphs(frame: Frame | None) -> set[str]:
    """The subgraph definition ids a frame is nested in."""
    ids = set()
    while frame is not None and frame.instance is not None:
        ids.add(frame.instance["type"])
        frame = frame.parent
    return ids


def _instance_input_link(instance: Mapping[str, Any], name: str) -> int | None:
    """The outer link into an instance's input, matched by name (saved inputs may be a subset)."""
    return next((s.get("link") for s in instance.get("inputs", []) if s["name"] == name), None)


def _node_inputs(ctx: Context, node: Mapping[str, Any]) -> list[tuple[str, int | None]]:
    """A node's input (type, link) pairs; an instance's follow its subgraph definition."""
    definition = ctx.scopes[node["type"]].definition if node["type"] in ctx.scopes else None
    if definition is None:
        return [(s.get("type", ""), s.get("link")) for s in node.get("inputs", [])]
    return [(i.get("type", ""), _instance_input_link(node, i["name"])) for i in definition["inputs"]]


def _compatible(a: Any, b: Any) -> bool:
    """LiteGraph's isValidConnection: wildcards match, comma lists match on any common type."""
    if a in (None, "", "*", 0) or b in (None, "", "*", 0):
        return True
    left, right = set(str(a).lower().split(",")), set(str(b).lower().split(","))
    return "*" in left or "*" in right or bool(left & right)


def _bypass_slot(types: list[str], slot: int, output_type: str, want: Any) -> int | None:
    """The input a bypassed node passes to output ``slot``: same slot, exact type, compatible type."""
    if want in (None, "", "*"):
        return slot if slot < len(types) else (0 if types else None)
    if slot < len(types) and _compatible(types[slot], output_type) and _compatible(types[slot], want):
        return slot
    exact = next((i for i, t in enumerate(types) if t == want), None)
    if exact is not None:
        return exact
    return next((i for i, t in enumerate(types) if _compatible(t, output_type) and _compatible(t, want)), None)


def _resolve_link(ctx: Context, frame: Frame, link_id: int, want: Any, seen: frozenset) -> Resolved:
    """Follow a link back to a real output, a value, or nothing (a muted source, an unconnected input)."""
    link = frame.scope.links.get(link_id)
    if link is None:
        raise WorkflowImportError(f"link {link_id} is missing from graph {':'.join(frame.path) or 'root'}")
    if link.origin_id == SUBGRAPH_INPUT_NODE:
        return _resolve_subgraph_input(ctx, frame, link.origin_slot, want, seen)
    node = frame.scope.nodes.get(link.origin_id)
    if node is None:
        raise WorkflowImportError(f"link {link_id} starts at missing node {link.origin_id}")
    return _resolve_output(ctx, frame, node, link.origin_slot, want, seen)


def _resolve_subgraph_input(ctx: Context, frame: Frame, index: int, want: Any, seen: frozenset) -> Resolved:
    """A subgraph input: the outer link into the instance, else the instance's promoted value."""
    name = frame.scope.definition["inputs"][index]["name"]
    outer = _instance_input_link(frame.instance, name)
    if outer is not None:
        return _resolve_link(ctx, frame.parent, outer, want, seen)
    return Value(frame.promoted[index]) if index in frame.promoted else None


def _resolve_output(ctx: Context, frame: Frame, node: Mapping[str, Any], slot: int, want: Any,
                    seen: frozenset) -> Resolved:
    """What an output of ``node`` really is once muting, bypass, reroutes and subgraphs are seen through."""
    exec_id = _exec_id(frame, node)
    if (exec_id, slot) in seen:
        raise WorkflowImportError(f"node {exec_id} ({node['type']}): circular link through output {slot}")
    seen = seen | {(exec_id, slot)}
    mode = _mode(ctx, exec_id, node)
    if mode == MUTED:
        return None
    if mode == BYPASSED:
        return _resolve_bypass(ctx, frame, node, slot, want, seen)
    if node["type"] == "Reroute":
        link = next((s.get("link") for s in node.get("inputs", [])), None)
        return None if link is None else _resolve_link(ctx, frame, link, want, seen)
    if node["type"] == "PrimitiveNode":
        return Value((node.get("widgets_values") or [None])[0])
    if node["type"] in ctx.scopes:
        return _resolve_subgraph_output(ctx, _child_frame(ctx, frame, node), slot, want, seen)
    return Source(exec_id, slot)


def _resolve_bypass(ctx: Context, frame: Frame, node: Mapping[str, Any], slot: int, want: Any,
                    seen: frozenset) -> Resolved:
    """A bypassed node's output: whatever feeds its matching input, or nothing."""
    inputs = _node_inputs(ctx, node)
    outputs = node.get("outputs", [])
    output_type = outputs[slot].get("type", "") if slot < len(outputs) else ""
    index = _bypass_slot([t for t, _ in inputs], slot, output_type, want)
    link = None if index is None else inputs[index][1]
    return None if link is None else _resolve_link(ctx, frame, link, want, seen)


def _resolve_subgraph_output(ctx: Context, inner: Frame, slot: int, want: Any, seen: frozenset) -> Resolved:
    """A subgraph instance's output: the inner link into the subgraph's output node."""
    link_ids = inner.scope.definition["outputs"][slot].get("linkIds") or []
    return _resolve_link(ctx, inner, link_ids[0], want, seen) if link_ids else None
