"""Load spec/mappings.yaml: check it against the meta-schema, compile it, and check every
mapping against its template, collecting every problem so the author sees them all at once."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from . import files
from .errors import SpecError
from .expressions import compile_expression, compile_program
from .graph import is_link
from .render import RUNTIME_NAMES
from .schema_messages import CUSTOM_MESSAGE, describe, format_path
from .spec import Spec
from .workflow import Bypass, NodeRef, SelectionKey, Target, Workflow

REQUEST_SCHEMA_DRAFT = Draft7Validator
"""Request schemas are JSON Schema draft 7 unless they say otherwise with ``$schema``: checking a
schema against draft 2020-12's meta-schema costs ~12 ms each, draft 7's ~2 ms (start-up time)."""


@lru_cache(maxsize=1)
def _meta_validator() -> Draft202012Validator:
    return Draft202012Validator(files.meta_schema("mappings.schema.yaml"))


def load_spec(path: Path | str | None = None, templates_dir: Path | str | None = None) -> Spec:
    """Load and fully check the spec; raises SpecError listing every problem found.

    Templates are read from ``templates_dir``, by default the ``templates/`` folder beside the
    spec's folder (so a copied checkout lints on its own).
    """
    spec_path = Path(path) if path else files.SPEC
    templates = Path(templates_dir) if templates_dir else spec_path.parent.parent / "templates"
    raw = files.read_yaml(spec_path)
    meta_errors = sorted(_meta_validator().iter_errors(raw), key=lambda e: list(e.absolute_path))
    if meta_errors:
        raise SpecError([f"{spec_path.name}: {p or '(top)'}: {rule}" for p, rule in map(describe, meta_errors)])
    problems: list[str] = []
    selection = tuple(
        SelectionKey(name, entry["default"], entry.get("description", ""))
        for name, entry in (raw.get("selection") or {}).items()
    )
    workflows = {}
    for name, entry in raw["workflows"].items():
        try:
            workflows[name] = _load_workflow(name, entry, spec_path.parent, templates, selection)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(mapping_problems(workflows[name]))
    problems.extend(_selection_problems(workflows, selection))
    if problems:
        raise SpecError(problems)
    return Spec(path=spec_path, workflows=workflows, selection=selection)


def _load_workflow(
    name: str,
    entry: Mapping[str, Any],
    spec_dir: Path,
    templates: Path,
    selection: tuple[SelectionKey, ...],
) -> Workflow:
    """One workflow compiled from its spec entry; its fit to the template is checked by the caller."""
    where = f"workflows.{name}"
    template_file = templates / entry["template"]
    template = files.read_json(template_file, f"{where}.template")
    graph_problems = list(_template_shape_problems(template, f"{where}.template ({entry['template']})"))
    if graph_problems:
        raise SpecError(graph_problems)
    schema = _request_schema(name, entry, spec_dir, selection)
    validator = validator_for(schema, default=REQUEST_SCHEMA_DRAFT)(schema)
    let = compile_program(list((entry.get("let") or {}).items()), f"{where}.let")
    targets = tuple(
        (param, tuple(_target(t, template, f"{where}.targets.{param}[{i}]") for i, t in enumerate(items)))
        for param, items in entry["targets"].items()
    )
    bypass = tuple(_bypass(b, template, f"{where}.bypass[{i}]") for i, b in enumerate(entry.get("bypass") or []))
    outputs = {key: _node_ref(ref, template, f"{where}.outputs.{key}") for key, ref in entry["outputs"].items()}
    return Workflow(
        name=name,
        description=entry.get("description", ""),
        template_file=template_file,
        template=template,
        template_text=json.dumps(template, ensure_ascii=False, separators=(",", ":")),
        select=dict(entry.get("select") or {}),
        schema=schema,
        validator=validator,
        defaults={k: v["default"] for k, v in schema.get("properties", {}).items() if "default" in v},
        let=let,
        targets=targets,
        bypass=bypass,
        outputs=outputs,
        report=tuple(entry.get("report") or ()),
    )


def _request_schema(
    name: str, entry: Mapping[str, Any], spec_dir: Path, selection: tuple[SelectionKey, ...]
) -> dict[str, Any]:
    """The workflow's request schema plus the selecting fields (``workflow``, selection keys)."""
    where = f"workflows.{name}.schema"
    source = entry["schema"]
    schema = copy.deepcopy(files.read_yaml(spec_dir / source) if isinstance(source, str) else source)
    try:
        validator_for(schema, default=REQUEST_SCHEMA_DRAFT).check_schema(schema)
    except SchemaError as exc:
        raise SpecError([f"{where}: not a valid JSON Schema: {format_path(exc.absolute_path)}: {exc.message}"]) from exc
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        raise SpecError([f"{where}: must be an object schema with additionalProperties: false, so unknown fields are rejected"])
    selecting = {
        "workflow": {
            "const": name,
            "description": "Selects this workflow by name.",
            CUSTOM_MESSAGE: f"must be {name!r} for this workflow",
        }
    }
    defaults = {key.name: key.default for key in selection}
    for key, value in (entry.get("select") or {}).items():
        selecting[key] = {"const": value, CUSTOM_MESSAGE: f"must be {value!r} for workflow {name} (or omit it)"}
        if defaults.get(key) == value:
            selecting[key]["default"] = value
    schema["properties"] = {**selecting, **schema.get("properties", {})}
    return schema


def _template_shape_problems(template: Any, where: str) -> Iterator[str]:
    """The template must be an API-format graph: {id: {class_type, inputs}}."""
    if not isinstance(template, dict) or not template:
        yield f"{where}: must be a non-empty JSON object of nodes (ComfyUI API format)"
        return
    for node_id, node in template.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) or not isinstance(node.get("inputs"), dict):
            yield f"{where}: node {node_id} must have a class_type string and an inputs object"


def _resolve_node(node: Any, template: Mapping[str, Any], where: str) -> str:
    """A node id as written (int or str), or the one node whose _meta.title matches."""
    if not isinstance(node, dict):
        return str(node)
    title = node["title"]
    found = [nid for nid, n in template.items() if n.get("_meta", {}).get("title") == title]
    if not found:
        raise SpecError([f"{where}.node: no node has the title {title!r} (titles are the nodes' _meta.title)"])
    if len(found) > 1:
        raise SpecError([f"{where}.node: {len(found)} nodes ({', '.join(found)}) have the title {title!r}; "
                         "titles used as node references must be unique"])
    return found[0]


def _node_ref(entry: Mapping[str, Any], template: Mapping[str, Any], where: str) -> NodeRef:
    return NodeRef(node=_resolve_node(entry["node"], template, where), class_type=entry["class_type"], where=where)


def _target(entry: Mapping[str, Any], template: Mapping[str, Any], where: str) -> Target:
    value = entry.get("value")
    return Target(
        node=_resolve_node(entry["node"], template, where),
        class_type=entry["class_type"],
        where=where,
        input=entry["input"],
        value=compile_expression(value, f"{where}.value") if value is not None else None,
    )


def _bypass(entry: Mapping[str, Any], template: Mapping[str, Any], where: str) -> Bypass:
    node = _resolve_node(entry["node"], template, where)
    consumers = tuple(
        (consumer_id, input_name, (value[0], value[1]))
        for consumer_id, consumer in template.items()
        for input_name, value in consumer["inputs"].items()
        if is_link(value) and value[0] == node
    )
    return Bypass(
        node=node,
        consumers=consumers,
        class_type=entry["class_type"],
        where=where,
        when=compile_expression(entry["when"], f"{where}.when"),
        outputs={int(slot): name for slot, name in (entry.get("outputs") or {}).items()},
    )


def _node_problem(ref: NodeRef, template: Mapping[str, Any], role: str) -> str | None:
    """Why ``ref`` does not match the template, or None when it does."""
    node = template.get(ref.node)
    if node is None:
        return f"{ref.where}: {role}: node {ref.node} is not in the template (expected a {ref.class_type})"
    if node["class_type"] != ref.class_type:
        return f"{ref.where}: {role}: node {ref.node} is a {node['class_type']}, expected a {ref.class_type}"
    return None


def mapping_problems(workflow: Workflow) -> Iterator[str]:
    """Every way the workflow's mapping does not fit its template or its schema."""
    template = workflow.template
    known = set(workflow.parameters) | set(RUNTIME_NAMES) | {name for name, _ in workflow.let.steps}
    for param, targets in workflow.targets:
        if param not in known:
            yield (
                f"workflows.{workflow.name}.targets.{param}: {param!r} is not a request field, "
                "runtime value or derived (let) value"
            )
        for target in targets:
            role = f"parameter {param}"
            problem = _node_problem(target, template, role)
            if problem:
                yield problem
            elif target.input not in template[target.node]["inputs"]:
                yield f"{target.where}: {role}: node {target.node} ({target.class_type}) has no input {target.input!r}"
            elif is_link(template[target.node]["inputs"][target.input]):
                yield (
                    f"{target.where}: {role}: node {target.node} input {target.input!r} is linked to node "
                    f"{template[target.node]['inputs'][target.input][0]}; writing a value would cut that link"
                )
    for name in workflow.report:
        if name not in known:
            yield f"workflows.{workflow.name}.report: {name!r} is not a request field, runtime value or derived value"
    for key, ref in workflow.outputs.items():
        problem = _node_problem(ref, template, f"output {key}")
        if problem:
            yield problem
    yield from _bypass_problems(workflow)


def _bypass_problems(workflow: Workflow) -> Iterator[str]:
    """A bypassed node's consumed outputs must each map to one of its linked inputs."""
    template = workflow.template
    for bypass in workflow.bypass:
        problem = _node_problem(bypass, template, "bypass")
        if problem:
            yield problem
            continue
        inputs = template[bypass.node]["inputs"]
        for slot, name in bypass.outputs.items():
            if not is_link(inputs.get(name)):
                yield f"{bypass.where}.outputs.{slot}: node {bypass.node} has no linked input {name!r} to pass through"
        for consumer_id, input_name, (_, slot) in bypass.consumers:
            if slot not in bypass.outputs:
                yield (
                    f"{bypass.where}.outputs: output {slot} of node {bypass.node} feeds node "
                    f"{consumer_id} input {input_name!r}; say which input replaces it"
                )


def _selection_problems(workflows: Mapping[str, Workflow], selection: tuple[SelectionKey, ...]) -> Iterator[str]:
    """Every selecting workflow names every selection key, and no two share a selection."""
    seen: dict[tuple[str, ...], str] = {}
    names = [key.name for key in selection]
    for workflow in workflows.values():
        if not workflow.select:
            continue
        missing = [n for n in names if n not in workflow.select]
        extra = [k for k in workflow.select if k not in names]
        if missing or extra:
            yield f"workflows.{workflow.name}.select: must give exactly the selection keys {names} (missing {missing}, unknown {extra})"
            continue
        combo = tuple(workflow.select[n] for n in names)
        if combo in seen:
            yield f"workflows.{workflow.name}.select: same selection as workflow {seen[combo]}"
        seen[combo] = workflow.name
