"""Command line: ``python -m engine render|lint|schema|workflows|golden ...``."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from .catalog import load_catalog
from .errors import EngineError
from .loader import load_spec
from .schema_errors import is_forbidden

RANDOM_SEED_LIMIT = 2**53
"""Random seeds stay below 2**53 so JavaScript callers can send them back exactly."""


def _read_request(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EngineError(f"request: not valid JSON: {exc}") from exc


def _dump(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def cmd_render(args: argparse.Namespace) -> int:
    """Print the patched graph (or the patch) for one request."""
    spec = load_spec(args.spec)
    request = _read_request(args.request)
    if isinstance(request, dict) and set(request) == {"input"}:
        request = request["input"]
    runtime = {
        "job_id": args.job_id,
        "random_seed": secrets.randbelow(RANDOM_SEED_LIMIT),
        "input_image": args.input_image,
    }
    rendered = spec.render(spec.prepare(request), runtime)
    _dump(rendered.patch if args.patch else rendered.graph)
    print(json.dumps(rendered.metadata), file=sys.stderr)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    """Print one line per problem; exit 1 if there is any."""
    from .lint import lint

    problems = lint(load_catalog(args.object_info), args.spec, args.models)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("ok: spec, templates, examples and model manifest are consistent", file=sys.stderr)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print a workflow's request JSON Schema (or all of them by name)."""
    spec = load_spec(args.spec)
    if args.workflow is None:
        _dump({name: dict(w.schema) for name, w in spec.workflows.items()})
        return 0
    if args.workflow not in spec.workflows:
        raise EngineError(f"workflow: {args.workflow!r} is not one of {sorted(spec.workflows)}")
    _dump(dict(spec.workflows[args.workflow].schema))
    return 0


def _rule(schema: dict[str, Any]) -> str:
    """A parameter's rule in a few words: type or allowed values, bounds, default."""
    if "enum" in schema:
        rule = "one of " + ", ".join(map(str, schema["enum"]))
    elif "const" in schema:
        rule = f"= {schema['const']}"
    else:
        rule = str(schema.get("type", "any"))
    bounds = [f"{op} {schema[key]}" for key, op in (("minimum", ">="), ("maximum", "<=")) if key in schema]
    if bounds:
        rule += " " + ", ".join(bounds)
    return rule + (f" (default {schema['default']})" if "default" in schema else "")


def _parameters(workflow) -> list[tuple[str, dict[str, Any], bool]]:
    """(name, schema, required) for each parameter a caller may send, selecting fields excluded."""
    required = set(workflow.schema.get("required", []))
    return [
        (name, schema, name in required)
        for name, schema in workflow.parameters.items()
        if not is_forbidden(schema) and "const" not in schema
    ]


def cmd_workflows(args: argparse.Namespace) -> int:
    """List workflows, how to select them and their parameters (or a Markdown reference table)."""
    spec = load_spec(args.spec)
    if args.markdown:
        sys.stdout.write(markdown_reference(spec))
        return 0
    for workflow in spec.workflows.values():
        select = " ".join(f"{k}={v}" for k, v in workflow.select.items())
        print(f"{workflow.name}  (workflow={workflow.name}{' or ' + select if select else ''})")
        print(f"  {workflow.description}")
        for name, schema, required in _parameters(workflow):
            print(f"    {name}: {_rule(schema)}{' [required]' if required else ''}. {schema.get('description', '')}".rstrip())
    return 0


def markdown_reference(spec) -> str:
    """The request reference as a Markdown table, generated from the schemas (kept in the README)."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    for workflow in spec.workflows.values():
        for name, schema, required in _parameters(workflow):
            rule = _rule(schema) + (", required" if required else "")
            rows.setdefault((name, rule, schema.get("description", "")), []).append(workflow.name)
    lines = ["| field | rule | workflows | meaning |", "|---|---|---|---|"]
    for (name, rule, description), workflows in rows.items():
        where = "all" if len(workflows) == len(spec.workflows) else ", ".join(workflows)
        lines.append(f"| `{name}` | {rule} | {where} | {description} |")
    return "\n".join(lines) + "\n"


def cmd_golden(args: argparse.Namespace) -> int:
    """Regenerate the golden files (or, with --check, list those that differ)."""
    from .golden import check, regenerate

    spec = load_spec(args.spec)
    if args.check:
        stale = check(spec, Path(args.dir))
        for line in stale:
            print(line)
        return 1 if stale else 0
    for path in regenerate(spec, Path(args.dir)):
        print(f"wrote {path}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Convert a UI-format workflow into templates/NAME.json and print a starter spec entry."""
    import yaml

    from .importer import WorkflowImportError, convert, dumps
    from .starter import starter_entry

    try:
        ui = json.loads(Path(args.workflow).read_text(encoding="utf-8"))
        graph = convert(ui, load_catalog(args.object_info), args.enable)
    except (OSError, json.JSONDecodeError, WorkflowImportError) as exc:
        raise EngineError(f"import {args.workflow}: {exc}") from exc
    out = Path(args.templates) / f"{args.name}.json"
    out.write_text(dumps(graph), encoding="utf-8")
    print(f"wrote {out}; add this to spec/mappings.yaml, keep the targets you want and delete each 'current':", file=sys.stderr)
    sys.stdout.write(yaml.safe_dump(starter_entry(args.name, graph), sort_keys=False, allow_unicode=True, width=100))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per job."""
    parser = argparse.ArgumentParser(prog="python -m engine", description=__doc__)
    parser.add_argument("--spec", help="spec file (default: spec/mappings.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="render a request to a ComfyUI API graph")
    render.add_argument("--request", required=True, help="JSON file with the job input ('-' reads stdin)")
    render.add_argument("--patch", action="store_true", help="print the JSON-patch operations instead of the graph")
    render.add_argument("--job-id", default="cli", help="job id used in output file names (default: cli)")
    render.add_argument("--input-image", default="input.png", help="uploaded image name for i2v (default: input.png)")
    render.set_defaults(func=cmd_render)

    lint = sub.add_parser("lint", help="check spec, templates and examples against the node catalogue")
    lint.add_argument("--object-info", help="a saved GET /object_info answer (default: spec/object_info.json)")
    lint.add_argument("--models", help="model manifest (default: spec/models.yaml)")
    lint.set_defaults(func=cmd_lint)

    schema = sub.add_parser("schema", help="print the request JSON Schema")
    schema.add_argument("workflow", nargs="?", help="workflow name (default: all)")
    schema.set_defaults(func=cmd_schema)

    workflows = sub.add_parser("workflows", help="list workflows and their parameters")
    workflows.add_argument("--markdown", action="store_true", help="print the request reference table for the README")
    workflows.set_defaults(func=cmd_workflows)

    importer = sub.add_parser("import", help="convert a UI-format workflow (.json the editor saves) into a template")
    importer.add_argument("workflow", help="the UI-format workflow file")
    importer.add_argument("--name", required=True, help="workflow name; writes templates/NAME.json")
    importer.add_argument("--enable", nargs="*", default=[], help="ids of bypassed/muted nodes to switch on (e.g. 92:105)")
    importer.add_argument("--object-info", help="node catalogue (default: spec/object_info.json)")
    importer.add_argument("--templates", default="templates", help="output folder (default: templates)")
    importer.set_defaults(func=cmd_import)

    golden = sub.add_parser("golden", help="regenerate golden files from tests/golden/cases.yaml")
    golden.add_argument("--check", action="store_true", help="only report golden files that differ")
    golden.add_argument("--dir", default="tests/golden", help="golden directory (default: tests/golden)")
    golden.set_defaults(func=cmd_golden)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; an engine error prints one line on stderr and exits 1."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
