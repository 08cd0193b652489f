"""Load spec/mappings.yaml: check it against the meta-schema, compile it, and check every
mapping against its template, collecting every problem so the author sees them all at once."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from . import files
from .errors import SpecError
from .expressions import compile_expression, compile_program
from .graph import is_link
from .plan import frozen_object
from .render import RUNTIME_NAMES
from .schema_messages import CUSTOM_MESSAGE, describe, format_path
from .spec import Spec
from .workflow import Bypass, NodeRef, SelectionKey, Target, Workflow

REQUEST_SCHEMA_DRAFT = Draft7Validator
"""Request schemas are JSON Schema draft 7 unless they say otherwise with ``$schema``: checking a
schema against draft 2020-12's meta-schema costs ~12 ms each, draft 7's ~2 ms (start-up time)."""


Check = Callable[[Any], bool]


class Validity:
    """Whether an instance is valid against a JSON Schema: the same answer as jsonschema's
    ``is_valid``, several times faster, so that jsonschema only runs to word the errors of an
    instance that is not valid (a spec, a request schema, a request).

    The common keywords are compiled into plain checks, each as jsonschema defines it; a keyword
    whose meaning does not depend on its siblings is otherwise asked of jsonschema alone, and a
    subschema with any other (or with ``$ref`` beside other keywords, which drafts read differently)
    is asked of jsonschema whole, so the answer stays exact. Keywords jsonschema does not know
    (``description``, ``x-error``, ...) are ignored, as jsonschema ignores them. Compiled on first use.
    """

    _WHOLE = frozenset({"patternProperties", "prefixItems", "additionalItems", "unevaluatedProperties",
                        "unevaluatedItems", "if", "contains", "$dynamicRef"})
    """Keywords that change what their siblings mean: their subschema is asked of jsonschema whole."""
    _PYTHON_TYPES = {"object": dict, "array": list, "string": str}
    """JSON types whose jsonschema definition is exactly one isinstance check."""
    _SIZES = {"minLength": (str, 1), "maxLength": (str, -1), "minItems": (list, 1), "maxItems": (list, -1),
              "minProperties": (dict, 1), "maxProperties": (dict, -1)}
    _BOUNDS = {"minimum": lambda x, b: x >= b, "maximum": lambda x, b: x <= b,
               "exclusiveMinimum": lambda x, b: x > b, "exclusiveMaximum": lambda x, b: x < b}

    def __init__(self, validator: Validator, shared: bool = False):
        """``shared``: the instances share objects (a YAML spec's aliases), so each (subschema, object)
        pair is checked once per call instead of once per place the object appears."""
        self._validator = validator
        self._checks: dict[int, Check] = {}
        self._shared = shared
        self._seen = threading.local()

    def __call__(self, instance: Any) -> bool:
        self._seen.results = {}  # (subschema id, object id) -> result; the objects live through the call
        try:
            return self._compiled(self._validator.schema)(instance)
        finally:
            self._seen.results = {}

    def _compiled(self, schema: Any) -> Check:
        """The check of ``schema`` (a part of the root schema, which keeps it alive), compiled once."""
        check = self._checks.get(id(schema))
        if check is None:
            check = self._checks[id(schema)] = self._compile(schema)
            if self._shared and isinstance(schema, dict):
                check = self._checks[id(schema)] = self._once_per_object(check, id(schema))
        return check

    def _once_per_object(self, check: Check, key: int) -> Check:
        seen = self._seen

        def once(instance: Any) -> bool:
            if not isinstance(instance, (dict, list)):
                return check(instance)
            results = seen.results
            found = results.get((key, id(instance)))
            if found is None:
                found = results[(key, id(instance))] = check(instance)
            return found
        return once

    def _asked(self, schema: Any) -> Check:
        return self._validator.evolve(schema=schema).is_valid

    def _compile(self, schema: Any) -> Check:
        if isinstance(schema, bool):
            return lambda instance: schema
        if not isinstance(schema, dict):
            return self._asked(schema)
        keywords = [k for k in schema if k in self._validator.VALIDATORS]
        if self._WHOLE.intersection(keywords) or ("$ref" in keywords and len(keywords) > 1):
            return self._asked(schema)
        checks = [self._keyword(k, schema[k], schema) or self._asked({k: schema[k]}) for k in keywords]
        if len(checks) == 1:
            return checks[0]

        def every(instance: Any) -> bool:
            for check in checks:
                if not check(instance):
                    return False
            return True
        return every

    def _number(self) -> Check:
        is_type = self._validator.is_type
        return lambda x: x.__class__ in (int, float) or is_type(x, "number")

    def _keyword(self, keyword: str, value: Any, schema: Mapping[str, Any]) -> Check | None:
        """The check of one keyword as jsonschema defines it, or None to ask jsonschema."""
        if keyword == "type":
            if isinstance(value, str) and value in self._PYTHON_TYPES:
                kind = self._PYTHON_TYPES[value]
                return lambda x: isinstance(x, kind)
            types, is_type = [value] if isinstance(value, str) else list(value), self._validator.is_type
            return lambda x: any(is_type(x, t) for t in types)
        if keyword in ("enum", "const"):
            values = value if keyword == "enum" else [value]
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
                strings = frozenset(values)  # jsonschema compares a string to anything by ==
                return lambda x: isinstance(x, str) and x in strings
            if isinstance(values, list) and values and all(v.__class__ in (int, float) for v in values):
                numbers = frozenset(values)  # and numbers by value, never equal to a bool
                return lambda x: x.__class__ in (int, float) and x in numbers
            return None
        if keyword == "required":
            return lambda x: not isinstance(x, dict) or all(name in x for name in value)
        if keyword == "properties":
            props = [(name, self._compiled(sub)) for name, sub in value.items()]

            def properties(x: Any) -> bool:
                if isinstance(x, dict):
                    for name, check in props:
                        if name in x and not check(x[name]):
                            return False
                return True
            return properties
        if keyword == "additionalProperties":
            known, extra = schema.get("properties", {}), self._compiled(value)

            def additional(x: Any) -> bool:
                if isinstance(x, dict):
                    for name, item in x.items():
                        if name not in known and not extra(item):
                            return False
                return True
            return additional
        if keyword == "propertyNames":
            names = self._compiled(value)
            return lambda x: not isinstance(x, dict) or all(map(names, x))
        if keyword == "items" and not isinstance(value, list):
            items = self._compiled(value)
            return lambda x: not isinstance(x, list) or all(map(items, x))
        if keyword == "pattern":
            search = re.compile(value).search
            return lambda x: not isinstance(x, str) or search(x) is not None
        if keyword in self._SIZES:
            (kind, sign), limit = self._SIZES[keyword], value
            return lambda x: not isinstance(x, kind) or sign * len(x) >= sign * limit
        if keyword in self._BOUNDS and not isinstance(value, bool):
            bound, number = self._BOUNDS[keyword], self._number()
            return lambda x: not number(x) or bound(x, value)
        if keyword == "multipleOf" and value.__class__ is int:
            number = self._number()
            return lambda x: not number(x) or not x % value
        if keyword in ("allOf", "anyOf", "oneOf"):
            subs = [self._compiled(sub) for sub in value]
            if keyword == "allOf":
                return lambda x: all(sub(x) for sub in subs)
            if keyword == "anyOf":
                return lambda x: any(sub(x) for sub in subs)
            return lambda x: sum(1 for sub in subs if sub(x)) == 1
        if keyword == "not":
            negated = self._compiled(value)
            return lambda x: not negated(x)
        if keyword == "$ref" and value.startswith("#"):
            target = self._validator.schema
            for part in filter(None, value[1:].split("/")):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            resolved: list[Check] = []  # compiled on first use: a reference may be recursive
            return lambda x: (resolved or resolved.append(self._compiled(target)) or resolved)[0](x)
        return None


class FastValidator:
    """A jsonschema validator whose ``iter_errors`` is empty at once for a valid instance (checked by
    Validity) and otherwise jsonschema's own; everything else is the wrapped validator's."""

    def __init__(self, validator: Validator):
        self._validator = validator
        self._valid = Validity(validator)

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        """jsonschema's errors for ``instance``, none without asking jsonschema when it is valid."""
        return iter(()) if self._valid(instance) else self._validator.iter_errors(instance)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._validator, name)


@lru_cache(maxsize=1)
def _meta_validator() -> Draft202012Validator:
    return Draft202012Validator(files.meta_schema("mappings.schema.yaml"))


@lru_cache(maxsize=1)
def _meta_validity() -> Check:
    return Validity(_meta_validator(), shared=True)


@lru_cache(maxsize=None)
def _schema_validity(cls: type[Validator]) -> Check:
    """Whether a schema passes ``cls.check_schema`` (its meta-schema, formats included)."""
    return Validity(cls(cls.META_SCHEMA, format_checker=cls.FORMAT_CHECKER))


def load_spec(path: Path | str | None = None, templates_dir: Path | str | None = None) -> Spec:
    """Load and fully check the spec; raises SpecError listing every problem found.

    Templates are read from ``templates_dir``, by default the ``templates/`` folder beside the
    spec's folder (so a copied checkout lints on its own).
    """
    spec_path = Path(path) if path else files.SPEC
    templates = Path(templates_dir) if templates_dir else spec_path.parent.parent / "templates"
    raw = files.read_yaml(spec_path)
    if not _meta_validity()(raw):
        meta_errors = sorted(_meta_validator().iter_errors(raw), key=lambda e: list(e.absolute_path))
        raise SpecError([f"{spec_path.name}: {p or '(top)'}: {rule}" for p, rule in map(describe, meta_errors)])
    checked = _SchemaChecks()
    problems: list[str] = []
    selection = tuple(
        SelectionKey(name, entry["default"], entry.get("description", ""))
        for name, entry in (raw.get("selection") or {}).items()
    )
    workflows = {}
    for name, entry in raw["workflows"].items():
        try:
            workflows[name] = _load_workflow(name, entry, spec_path.parent, templates, selection, checked)
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
    checked: _SchemaChecks,
) -> Workflow:
    """One workflow compiled from its spec entry; its fit to the template is checked by the caller."""
    where = f"workflows.{name}"
    template_file = templates / entry["template"]
    template = files.read_json(template_file, f"{where}.template", frozen_object)
    graph_problems = list(_template_shape_problems(template, f"{where}.template ({entry['template']})"))
    if graph_problems:
        raise SpecError(graph_problems)
    schema = _request_schema(name, entry, spec_dir, selection, checked)
    validator = FastValidator(validator_for(schema, default=REQUEST_SCHEMA_DRAFT)(schema))
    let = compile_program(list((entry.get("let") or {}).items()), f"{where}.let")
    index = _Index(template)
    targets = tuple(
        (param, tuple(_target(t, index, f"{where}.targets.{param}[{i}]") for i, t in enumerate(items)))
        for param, items in entry["targets"].items()
    )
    bypass = tuple(_bypass(b, index, f"{where}.bypass[{i}]") for i, b in enumerate(entry.get("bypass") or []))
    outputs = {key: _node_ref(ref, index, f"{where}.outputs.{key}") for key, ref in entry["outputs"].items()}
    return Workflow(
        name=name,
        description=entry.get("description", ""),
        template_file=template_file,
        template=template,
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


class _SchemaChecks:
    """The request schemas (and their parameters) one load has checked, so that a schema or parameter
    several workflows share through a YAML alias is checked against its meta-schema once."""

    def __init__(self) -> None:
        self._done: dict[int, Any] = {}  # id -> the schema itself, which keeps the id from being reused

    def check(self, schema: Any) -> None:
        """Raise SchemaError, as check_schema does, unless ``schema`` is a valid request schema.

        A schema is valid when it is without its ``properties`` and each property's subschema is (the
        meta-schemas check every property against the whole meta-schema): each part is checked once.
        """
        cls = validator_for(schema, default=REQUEST_SCHEMA_DRAFT)
        if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
            cls.check_schema(schema)
            return
        self._check_once(cls, {k: v for k, v in schema.items() if k != "properties"}, key=schema)
        for name, subschema in schema.get("properties", {}).items():
            try:
                self._check_once(cls, subschema)
            except SchemaError as exc:
                exc.path.extendleft([name, "properties"])
                raise

    def _check_once(self, cls: type[Validator], schema: Any, key: Any = None) -> None:
        key = schema if key is None else key
        if id(key) in self._done:
            return
        if not _schema_validity(cls)(schema):
            cls.check_schema(schema)  # raises, with jsonschema's words for what is wrong
        self._done[id(key)] = key


def _request_schema(
    name: str, entry: Mapping[str, Any], spec_dir: Path, selection: tuple[SelectionKey, ...], checked: _SchemaChecks
) -> dict[str, Any]:
    """The workflow's request schema plus the selecting fields (``workflow``, selection keys).

    The schema itself is not copied: only its top level, whose ``properties`` gain those fields.
    """
    where = f"workflows.{name}.schema"
    source = entry["schema"]
    authored = files.read_yaml(spec_dir / source) if isinstance(source, str) else source
    try:
        checked.check(authored)
    except SchemaError as exc:
        raise SpecError([f"{where}: not a valid JSON Schema: {format_path(exc.absolute_path)}: {exc.message}"]) from exc
    if not isinstance(authored, dict) or authored.get("type") != "object" or authored.get("additionalProperties") is not False:
        raise SpecError([f"{where}: must be an object schema with additionalProperties: false, so unknown fields are rejected"])
    schema = dict(authored)
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


class _Index:
    """A template's nodes by title, and the links that read each node, found in one pass."""

    def __init__(self, template: Mapping[str, Any]):
        self.titles: dict[Any, list[str]] = {}
        self.readers: dict[str, list[tuple[str, str, tuple[str, int]]]] = {}
        for node_id, node in template.items():
            self.titles.setdefault(node.get("_meta", {}).get("title"), []).append(node_id)
            for input_name, value in node["inputs"].items():
                if is_link(value):
                    self.readers.setdefault(value[0], []).append((node_id, input_name, (value[0], value[1])))


def _resolve_node(node: Any, index: _Index, where: str) -> str:
    """A node id as written (int or str), or the one node whose _meta.title matches."""
    if not isinstance(node, dict):
        return str(node)
    title = node["title"]
    found = index.titles.get(title, [])
    if not found:
        raise SpecError([f"{where}.node: no node has the title {title!r} (titles are the nodes' _meta.title)"])
    if len(found) > 1:
        raise SpecError([f"{where}.node: {len(found)} nodes ({', '.join(found)}) have the title {title!r}; "
                         "titles used as node references must be unique"])
    return found[0]


def _node_ref(entry: Mapping[str, Any], index: _Index, where: str) -> NodeRef:
    return NodeRef(node=_resolve_node(entry["node"], index, where), class_type=entry["class_type"], where=where)


def _target(entry: Mapping[str, Any], index: _Index, where: str) -> Target:
    value = entry.get("value")
    return Target(
        node=_resolve_node(entry["node"], index, where),
        class_type=entry["class_type"],
        where=where,
        input=entry["input"],
        value=compile_expression(value, f"{where}.value") if value is not None else None,
    )


def _bypass(entry: Mapping[str, Any], index: _Index, where: str) -> Bypass:
    node = _resolve_node(entry["node"], index, where)
    return Bypass(
        node=node,
        consumers=tuple(index.readers.get(node, ())),
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
