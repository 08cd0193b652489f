"""Convert a ComfyUI UI-format workflow (what the editor saves) to API format (what /prompt runs).

Follows what the frontend ComfyUI 0.27.0 serves (1.45.20) does when it opens a workflow and
exports it (``app.loadGraphData``, then ``graphToPrompt`` with ``ExecutableNodeDTO``):

- Loading: node ids inside subgraph definitions that repeat a root id or an earlier definition's
  id are renumbered (``deduplicateSubgraphNodeIds``: the next free id after the workflow's last
  node id). Each node gets the widgets the frontend creates for its class and the saved
  ``widgets_values`` in order; trailing widgets without a saved value keep their defaults
  (engine/comfy/frontend_widgets.py). A PrimitiveNode writes its value into the widgets it feeds.
- Flattening: a node inside subgraph instance 92 gets the id ``"92:<inner id>"`` (nested instances
  add more parts). A subgraph input resolves to the outer link into the instance input at the
  same position or, when that is unconnected, to the value of the first inner widget it feeds
  (the frontend shows that widget on the instance; the instance's own saved values are not used).
- Modes: muted (2) and bypassed (4) nodes are left out, a bypassed one passes a link on to its
  input of the matching type; a muted or bypassed instance on the root graph drops its whole
  inside (nested instances keep theirs). A link from a muted node, a Reroute leading nowhere or a
  PrimitiveNode leaves the input's widget value; a link from a node that is not exported is dropped.
- Reroute, Note, MarkdownNote and PrimitiveNode never appear. ``_meta.title`` is the node's title,
  else the frontend's English name for its class (``display_names``), else the catalogue's
  ``display_name``, else the class name.

No I/O but reading the project's display-name table when the caller passes none. Conversion
problems raise :class:`WorkflowImportError` naming the node.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .. import files
from ..errors import WorkflowImportError
from ..graph import is_link
from . import frontend_widgets as fw
from . import input_spec as ispec
from .frontend_widgets import MISSING, Widget

log = logging.getLogger(__name__)

MUTED = 2
BYPASSED = 4
SUBGRAPH_INPUT_NODE = "-10"
VIRTUAL_CLASSES = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode"})
"""The frontend's own node classes: they never reach the API graph."""
MATCH_TYPE_OUTPUT = "*"


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


@dataclass
class Context:
    """What every step needs: the catalogue, the subgraph scopes, the enabled ids and a widget cache."""

    catalog: Mapping[str, Any]
    scopes: Mapping[str, Scope]
    enabled: frozenset[str]
    display_names: Mapping[str, str]
    all_nodes: list[dict]
    widgets: dict[int, list[Widget]] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """A link resolved to a real node's output."""

    node_id: str
    slot: int


@dataclass(frozen=True)
class Value:
    """A link resolved to a plain value (the widget a subgraph input stands for)."""

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
    """The frontend's English class names where they differ from the catalogue's (spec/README.md)."""
    return json.loads(path.read_text(encoding="utf-8"))


def convert(ui: dict, catalog: dict, enable: Iterable[str] = (), display_names: Mapping[str, str] | None = None) -> dict:
    """The API graph the frontend's Export (API) writes for ``ui``, with ``enable`` nodes turned on.

    ``display_names`` defaults to the project's table of the frontend's English class names.
    """
    if isinstance(ui, Mapping) and ui and all(isinstance(n, Mapping) and "class_type" in n for n in ui.values()):
        raise WorkflowImportError("this is an API-format graph (what Export (API) saves), not a UI workflow: "
                                  "it is what /prompt runs already, so copy it to templates/ as it is")
    if not isinstance(ui, Mapping) or not isinstance(ui.get("nodes"), list):
        raise WorkflowImportError("not a UI-format workflow: it has no 'nodes' list")
    names = load_display_names() if display_names is None else display_names
    ui = deduplicate_subgraph_ids(ui)
    scopes = {d["id"]: _scope(d, d) for d in _definitions(ui)}
    all_nodes = [*ui.get("nodes", []), *(n for s in scopes.values() for n in s.nodes.values())]
    ctx = Context(catalog, scopes, frozenset(enable), names, all_nodes)
    root = Frame((), _scope(ui, None), None, None)
    entries = list(_walk(ctx, root, True, True))
    _check_enable(ctx.enabled, entries)
    graph = {e.exec_id: _api_node(ctx, e) for e in entries if _is_emitted(ctx, e)}
    for node in graph.values():  # a link into a node the export left out is dropped
        node["inputs"] = {k: v for k, v in node["inputs"].items() if not is_link(v) or v[0] in graph}
    return {node_id: graph[node_id] for node_id in sorted(graph, key=_natural_key)}


def dumps(graph: dict) -> str:
    """The canonical text of an API graph: indented, UTF-8 as is, newline-terminated (diffs well)."""
    return json.dumps(graph, indent=2, ensure_ascii=False) + "\n"


def _natural_key(node_id: str) -> tuple:
    """Sort key comparing the numeric parts of an id as numbers ("92:9" before "92:10")."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", node_id)))


# --- loading ------------------------------------------------------------------------------------

def _int_id(node_id: Any) -> int | None:
    """A node id the frontend renumbers (a number; uuid ids are left alone)."""
    return node_id if isinstance(node_id, int) and not isinstance(node_id, bool) else None


def deduplicate_subgraph_ids(ui: Mapping[str, Any]) -> dict:
    """A copy of ``ui`` whose subgraph node ids repeat no root id nor an earlier definition's id.

    The frontend's ``deduplicateSubgraphNodeIds``: definitions in order, each repeated id replaced
    by the next free id after the workflow's last node id (``state.lastNodeId``, or
    ``last_node_id`` in the 0.4 format), links and promoted-widget references patched to match.
    """
    ui = copy.deepcopy(dict(ui))
    definitions = (ui.get("definitions") or {}).get("subgraphs") or []
    if not definitions:
        return ui
    used = {i for i in (_int_id(n.get("id")) for n in ui.get("nodes", [])) if i is not None}
    state = ui.get("state") if isinstance(ui.get("state"), Mapping) else {}
    last = max(0, state.get("lastNodeId") or 0) if ui.get("version") != 0.4 else ui.get("last_node_id") or 0
    remapped: dict[str, dict[int, int]] = {}
    for definition in definitions:
        mapping: dict[int, int] = {}
        for node in definition.get("nodes", []):
            node_id = _int_id(node.get("id"))
            if node_id is None:
                continue
            if node_id in used:
                while last + 1 in used:
                    last += 1
                last += 1
                mapping[node_id] = node["id"] = last
                used.add(last)
            else:
                used.add(node_id)
                last = max(last, node_id)
        if mapping:
            remapped[definition["id"]] = mapping
            for link in definition.get("links", []):
                if isinstance(link, dict):
                    link["origin_id"] = mapping.get(link["origin_id"], link["origin_id"])
                    link["target_id"] = mapping.get(link["target_id"], link["target_id"])
            for widget in definition.get("widgets", []) or []:
                widget["id"] = mapping.get(widget.get("id"), widget.get("id"))
    return ui


def _link(raw: list | Mapping[str, Any]) -> Link:
    """A link from the root's array form [id, origin, slot, target, slot, type] or a subgraph's dict."""
    if isinstance(raw, Mapping):
        raw = [raw["id"], raw["origin_id"], raw["origin_slot"], raw["target_id"], raw["target_slot"]]
    link_id, origin_id, origin_slot, target_id, target_slot = raw[:5]
    return Link(link_id, str(origin_id), origin_slot, str(target_id), target_slot)


def _scope(graph: Mapping[str, Any], definition: Mapping[str, Any] | None) -> Scope:
    """Index a graph's nodes by string id and its links by id."""
    nodes = {str(node["id"]): node for node in graph.get("nodes", [])}
    links = {link.id: link for link in map(_link, graph.get("links", []) or [])}
    return Scope(nodes, links, definition)


def _definitions(graph: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every subgraph definition in a graph, including those nested in other definitions."""
    for definition in (graph.get("definitions") or {}).get("subgraphs", []):
        yield definition
        yield from _definitions(definition)


# --- walking the flattened graph ----------------------------------------------------------------

def _exec_id(frame: Frame, node: Mapping[str, Any]) -> str:
    """The API id of a node: the instance path and the node's own id joined by ':'."""
    return ":".join((*frame.path, str(node["id"])))


def _mode(ctx: Context, exec_id: str, node: Mapping[str, Any]) -> int:
    """A node's mode, with the nodes listed in ``enable`` switched back on."""
    return 0 if exec_id in ctx.enabled else node.get("mode", 0)


def _walk(ctx: Context, frame: Frame, active: bool, root: bool) -> Iterator[Entry]:
    """Every node of a frame and, recursively, of the subgraph instances in it.

    Only an instance on the root graph hides its inside when muted or bypassed: the frontend
    expands nested instances whatever their mode.
    """
    for node in frame.scope.nodes.values():
        exec_id = _exec_id(frame, node)
        mode = _mode(ctx, exec_id, node)
        yield Entry(exec_id, node, frame, mode, active)
        if node["type"] in ctx.scopes:
            inside = active and not (root and mode in (MUTED, BYPASSED))
            yield from _walk(ctx, _child_frame(ctx, frame, node), inside, False)


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
    """Whether a node appears in API format: active, not muted or bypassed, not the frontend's own."""
    return (entry.active and entry.mode not in (MUTED, BYPASSED)
            and entry.node["type"] not in VIRTUAL_CLASSES and entry.node["type"] not in ctx.scopes)


def _child_frame(ctx: Context, frame: Frame, instance: Mapping[str, Any]) -> Frame:
    """The frame of a subgraph instance's inner nodes."""
    if instance["type"] in _enclosing_subgraphs(frame):
        raise WorkflowImportError(f"node {_exec_id(frame, instance)}: subgraph {instance['type']} contains itself")
    path = (*frame.path, str(instance["id"]))
    return Frame(path, ctx.scopes[instance["type"]], instance, frame)


def _enclosing_subgraphs(frame: Frame | None) -> set[str]:
    """The subgraph definition ids a frame is nested in."""
    ids = set()
    while frame is not None and frame.instance is not None:
        ids.add(frame.instance["type"])
        frame = frame.parent
    return ids


# --- one API node -------------------------------------------------------------------------------

def _spec(ctx: Context, node: Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """The catalogue entry of a node's class."""
    spec = ctx.catalog.get(node["type"])
    if spec is None:
        raise WorkflowImportError(f"{where}: class is not in the node catalogue (a custom node? the frontend "
                                  "would export it without a class_type, which ComfyUI refuses)")
    return spec


def _api_node(ctx: Context, entry: Entry) -> dict:
    """One API node: its exported widget values, then its linked inputs resolved, with its title."""
    class_type = entry.node["type"]
    where = f"node {entry.exec_id} ({class_type})"
    spec = _spec(ctx, entry.node, where)
    widgets = _widgets(ctx, entry.frame, entry.node, where)
    inputs: dict[str, Any] = {}
    for widget in widgets:
        if widget.exported and widget.name:
            value = (fw.custom_combo_index(widgets) if class_type == "CustomCombo" and widget.name == "index"
                     else fw.export_value(class_type, widget, lambda text: _replace_text(ctx, text)))
            _put(inputs, widget.name, value)
    for name, link_id in _input_links(ctx, entry.node):
        if link_id is None:
            continue
        resolved = _resolve_link(ctx, entry.frame, link_id, _input_type(ctx, entry.node, name), frozenset())
        if isinstance(resolved, Source):
            inputs[name] = [resolved.node_id, resolved.slot]
        elif isinstance(resolved, Value):
            _put(inputs, name, {"__value__": resolved.value} if isinstance(resolved.value, list) else resolved.value)
    order = ispec.input_names(spec)
    ordered = sorted(inputs, key=lambda k: (order.index(k.split(".")[0]) if k.split(".")[0] in order else len(order)))
    return {"inputs": {k: inputs[k] for k in ordered}, "class_type": class_type,
            "_meta": {"title": _title(ctx, entry.node, spec)}}


def _put(inputs: dict[str, Any], name: str, value: Any) -> None:
    """Set an input; an undefined value (JavaScript ``undefined``) leaves it out, as JSON does."""
    if value is MISSING:
        inputs.pop(name, None)
    else:
        inputs[name] = value


def _title(ctx: Context, node: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    """The title the frontend shows: the node's own, else its English class name."""
    class_type = node["type"]
    return node.get("title") or ctx.display_names.get(class_type) or spec.get("display_name") or class_type


def _widgets(ctx: Context, frame: Frame, node: Mapping[str, Any], where: str) -> list[Widget]:
    """A node's widgets once the workflow is loaded (cached per node: subgraph inside is shared)."""
    key = id(node)
    if key not in ctx.widgets:
        spec = _spec(ctx, node, where)
        values = node.get("widgets_values")
        if values is None:
            values = []
        if isinstance(values, Mapping):
            values = list(values.values())
        if not isinstance(values, list):
            raise WorkflowImportError(f"{where}: widgets_values is not a list")
        fresh = fw.node_widgets(node["type"], spec)
        values = fw.migrate_values(spec, fresh, values)
        assigned, used = fw.assign(node["type"], fresh, values)
        _warn_about_values(where, assigned, values, used)
        ctx.widgets[key] = _primitive_values(ctx, frame, node, fw.after_load(node["type"], assigned))
    return ctx.widgets[key]


def _warn_about_values(where: str, widgets: list[Widget], values: list, used: int) -> None:
    """Warn where ``widgets_values`` and the catalogue's widgets are out of step (the editor would
    load the node anyway, as the importer does; lint then says what ComfyUI would refuse)."""
    saved = [w for w in widgets if w.slot][:used]
    for widget in saved:
        if widget.spec is not None and not fw.fits(widget, widget.value):
            log.warning("%s: widget value %r does not fit input %r (%s); widgets_values does not match the "
                        "catalogue's widgets, so check this node", where, widget.value, widget.name, widget.kind)
    if used < len(values):
        log.warning("%s: ignoring %d widget value(s) the catalogue has no widget for: %r",
                    where, len(values) - used, values[used:])
    defaults = [w.name for w in widgets if w.slot and w.spec is not None and not w.control][len(saved):]
    if defaults and values:
        log.warning("%s: no saved value for %s; the catalogue default is used, as in the editor",
                    where, ", ".join(map(repr, defaults)))


def _primitive_values(ctx: Context, frame: Frame, node: Mapping[str, Any], widgets: list[Widget]) -> list[Widget]:
    """The widgets after every PrimitiveNode linked to one has written its value into it."""
    for slot in node.get("inputs", []):
        link = frame.scope.links.get(slot.get("link")) if slot.get("link") is not None else None
        source = frame.scope.nodes.get(link.origin_id) if link else None
        target = slot.get("name")
        if source is None or source["type"] != "PrimitiveNode" or not any(w.name == target for w in widgets):
            continue
        value = (source.get("widgets_values") or [MISSING])[0]
        widgets = [w if w.name != target else _with_value(w, value) for w in widgets]
    return widgets


def _with_value(widget: Widget, value: Any) -> Widget:
    """A widget holding another value."""
    return Widget(widget.name, value, widget.slot, widget.exported, widget.spec, widget.control)


def _replace_text(ctx: Context, text: str) -> str:
    """The frontend's ``applyTextReplacements`` for a save node's prefix: ``%Node.widget%`` becomes that
    widget's value (the node named by its "Node name for S&R" property, else by title); ``%date:..%``
    stays (the frontend puts in the date of the export)."""
    def substitute(match: re.Match) -> str:
        parts = match.group(1).split(".")
        if len(parts) != 2:
            return match.group(0)
        nodes = [n for n in ctx.all_nodes if (n.get("properties") or {}).get("Node name for S&R") == parts[0]]
        nodes = nodes or [n for n in ctx.all_nodes if _shown_title(ctx, n) == parts[0]]
        if not nodes or nodes[0]["type"] not in ctx.catalog:
            return match.group(0)
        widgets = ctx.widgets.get(id(nodes[0])) or _loaded_widgets(ctx, nodes[0])
        widget = next((w for w in widgets if w.name == parts[1]), None)
        if widget is None:
            return match.group(0)
        value = "" if widget.value is MISSING or widget.value is None else _js_string(widget.value)
        return re.sub(r'[/?<>\\:*|"\x00-\x1f\x7f]', "_", value)
    return re.sub(r"%([^%]+)%", substitute, text)


def _loaded_widgets(ctx: Context, node: Mapping[str, Any]) -> list[Widget]:
    """A node's widgets with its saved values (for a text replacement)."""
    spec = ctx.catalog[node["type"]]
    fresh = fw.node_widgets(node["type"], spec)
    return fw.assign(node["type"], fresh, node.get("widgets_values") or [])[0]


def _shown_title(ctx: Context, node: Mapping[str, Any]) -> str:
    """A node's title as the editor shows it."""
    spec = ctx.catalog.get(node["type"], {})
    return node.get("title") or ctx.display_names.get(node["type"]) or spec.get("display_name") or node["type"]


def _js_string(value: Any) -> str:
    """``String(value)`` in JavaScript, for the values widgets hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- inputs and links ---------------------------------------------------------------------------

def _input_links(ctx: Context, node: Mapping[str, Any]) -> list[tuple[str, int | None]]:
    """A node's inputs as the frontend holds them after loading: (name, link id)."""
    return [(slot["name"], slot["link"]) for slot in _input_links_of(ctx, node)]


def _input_links_of(ctx: Context, node: Mapping[str, Any]) -> list[dict]:
    """A node's input slots with their links: an instance's bound to its definition, others as saved."""
    if node["type"] in ctx.scopes:
        return _instance_inputs(ctx, node)
    return [{"name": s["name"], "type": s.get("type"), "link": s.get("link")}
            for s in node.get("inputs", []) or [] if isinstance(s, Mapping) and "name" in s]


def _instance_inputs(ctx: Context, instance: Mapping[str, Any]) -> list[dict]:
    """A subgraph instance's inputs: one per definition input, in its order, with the link of the
    saved input of that name (``ComfyNode.configure`` merges saved inputs by name; others are
    dropped). Each carries ``slot``: the index of the definition input it stands for."""
    slots = list(ctx.scopes[instance["type"]].definition.get("inputs", []))
    saved = {s["name"]: s for s in instance.get("inputs", []) or [] if isinstance(s, Mapping) and "name" in s}
    return [{"name": slot["name"], "type": slot.get("type"), "link": (saved.get(slot["name"]) or {}).get("link"),
             "slot": index} for index, slot in enumerate(slots)]


def _input_type(ctx: Context, node: Mapping[str, Any], name: str) -> Any:
    """The type of a node's input as the frontend holds it (the catalogue's, else the saved one)."""
    spec = ctx.catalog.get(node["type"])
    input_spec = ispec.input_spec(spec, name) if spec else None
    if input_spec is not None:
        return ispec.kind(input_spec)
    return next((s.get("type") for s in _node_inputs(ctx, node) if s["name"] == name), "")


def _node_inputs(ctx: Context, node: Mapping[str, Any]) -> list[dict]:
    """A node's input slots in the frontend's order: link-only inputs of the class, then its widget
    inputs, then any others saved; each {name, type, link}."""
    if node["type"] in ctx.scopes:
        return _instance_inputs(ctx, node)
    saved = {s["name"]: s for s in node.get("inputs", []) if isinstance(s, Mapping) and "name" in s}
    spec = ctx.catalog.get(node["type"])
    if spec is None:
        return [dict(s) for s in saved.values()]
    ordered = fw.ordered_inputs(node["type"], spec)
    names = [n for n, s in ordered if not fw.has_widget(s) and ispec.kind(s) not in (ispec.AUTOGROW,)]
    names += [n for n, s in ordered if fw.has_widget(s) and fw.widget_kind(s) not in fw.UI_WIDGETS]
    types = dict((n, ispec.kind(s)) for n, s in ordered)
    slots = [{"name": n, "type": types[n], "link": (saved.get(n) or {}).get("link")} for n in names]
    slots += [{"name": n, "type": s.get("type"), "link": s.get("link")} for n, s in saved.items() if n not in names]
    return slots


def _node_outputs(ctx: Context, node: Mapping[str, Any]) -> list[Any]:
    """A node's output types as the frontend holds them (the class's, a match type as '*')."""
    if node["type"] in ctx.scopes:
        return [o.get("type") for o in ctx.scopes[node["type"]].definition.get("outputs", [])]
    spec = ctx.catalog.get(node["type"])
    saved = [o.get("type") for o in node.get("outputs", []) or []]
    if spec is None:
        return saved
    own = ["COMBO" if isinstance(t, list) else (MATCH_TYPE_OUTPUT if t == ispec.MATCH_TYPE else t)
           for t in spec.get("output", [])]
    return own + saved[len(own):]


def _valid_connection(a: Any, b: Any) -> bool:
    """LiteGraph's ``isValidConnection``: wildcards match, comma lists match on any common type."""
    a = 0 if a in ("", "*") else a
    b = 0 if b in ("", "*") else b
    if not a or not b or a == b:
        return True
    left, right = str(a).lower(), str(b).lower()
    if "," not in left and "," not in right:
        return left == right
    return any(_valid_connection(x, y) for x in left.split(",") for y in right.split(","))


def _bypass_slot(inputs: list[dict], slot: int, output_type: Any, want: Any) -> int | None:
    """The input a bypassed node passes to output ``slot`` (``_getBypassSlotIndex``)."""
    if want in ("*", ""):
        return slot if len(inputs) > slot else 0
    if slot < len(inputs) and _valid_connection(inputs[slot]["type"], output_type) \
            and _valid_connection(inputs[slot]["type"], want):
        return slot
    exact = next((i for i, s in enumerate(inputs) if s["type"] == want), None)
    if exact is not None:
        return exact
    return next((i for i, s in enumerate(inputs)
                 if _valid_connection(s["type"], output_type) and _valid_connection(s["type"], want)), None)


def _resolve_link(ctx: Context, frame: Frame, link_id: int, want: Any, seen: frozenset) -> Resolved:
    """Follow a link back to a real output, a value, or nothing (a muted source, an unconnected input)."""
    link = frame.scope.links.get(link_id)
    where = ":".join(frame.path) or "root"
    if link is None:
        log.warning("graph %s: link %s is not in the workflow's links; the input is left unconnected", where, link_id)
        return None
    if link.origin_id == SUBGRAPH_INPUT_NODE:
        return _resolve_subgraph_input(ctx, frame, link.origin_slot, want, seen)
    node = frame.scope.nodes.get(link.origin_id)
    if node is None:
        log.warning("graph %s: link %s comes from node %s, which is not in the workflow; the input is left "
                    "unconnected", where, link_id, link.origin_id)
        return None
    return _resolve_output(ctx, frame, node, link.origin_slot, want, seen)


def _resolve_subgraph_input(ctx: Context, frame: Frame, index: int, want: Any, seen: frozenset) -> Resolved:
    """A subgraph input: the instance input at that position; its outer link, else the widget it shows."""
    inputs = _instance_inputs(ctx, frame.instance)
    if index >= len(inputs):
        raise WorkflowImportError(f"node {':'.join(frame.path)}: no input {index} on the subgraph instance")
    slot = inputs[index]
    if slot["link"] is not None:
        return _resolve_link(ctx, frame.parent, slot["link"], slot["type"], seen)
    widget = _promoted_widget(ctx, frame, slot["slot"])
    return None if widget is None else Value(widget.value)


def _promoted_widget(ctx: Context, frame: Frame, index: int) -> Widget | None:
    """The inner widget a subgraph input shows on its instance: the first one it feeds."""
    scope = frame.scope
    for link_id in scope.definition["inputs"][index].get("linkIds", []) or []:
        link = scope.links.get(link_id)
        node = scope.nodes.get(link.target_id) if link else None
        slot = next((s for s in _input_links_of(ctx, node) if s["link"] == link_id), None) if node else None
        if slot is None:
            continue
        if node["type"] in ctx.scopes:
            widget = _promoted_widget(ctx, _child_frame(ctx, frame, node), slot["slot"])
        elif node["type"] in ctx.catalog:
            widgets = _widgets(ctx, frame, node, f"node {_exec_id(frame, node)}")
            widget = next((w for w in widgets if w.name == slot["name"] and not w.control), None)
        else:
            widget = None
        if widget is not None:
            return widget
    return None


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
    if node["type"] in ctx.scopes:
        return _resolve_subgraph_output(ctx, _child_frame(ctx, frame, node), slot, want, seen)
    if node["type"] == "Reroute":
        link = next((s.get("link") for s in node.get("inputs", [])), None)
        return None if link is None else _resolve_link(ctx, frame, link, want, seen)
    if node["type"] in VIRTUAL_CLASSES:
        return None  # a PrimitiveNode has written its value into the widget already
    return Source(exec_id, slot)


def _resolve_bypass(ctx: Context, frame: Frame, node: Mapping[str, Any], slot: int, want: Any,
                    seen: frozenset) -> Resolved:
    """A bypassed node's output: whatever feeds its matching input, or nothing."""
    inputs = _node_inputs(ctx, node)
    outputs = _node_outputs(ctx, node)
    output_type = outputs[slot] if slot < len(outputs) else ""
    index = _bypass_slot(inputs, slot, output_type, want)
    if index is None or index >= len(inputs) or inputs[index]["link"] is None:
        return None
    return _resolve_link(ctx, frame, inputs[index]["link"], inputs[index]["type"], seen)


def _resolve_subgraph_output(ctx: Context, inner: Frame, slot: int, want: Any, seen: frozenset) -> Resolved:
    """A subgraph instance's output: the inner link into the subgraph's output node."""
    outputs = inner.scope.definition.get("outputs", [])
    link_ids = (outputs[slot].get("linkIds") or []) if slot < len(outputs) else []
    return _resolve_link(ctx, inner, link_ids[0], want, seen) if link_ids else None
