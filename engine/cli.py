"""Command line: ``python -m engine render|lint|schema|workflows|golden|import|models ...``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Sequence


from .authoring.golden import check, regenerate
from .authoring.lint import lint
from . import files
from .authoring.starter_entry import dump_entry, starter_entry
from .comfy.catalog import load_catalog
from .comfy.importer import convert, dumps
from .errors import ConfigError, Error, RequestError, SpecError, WorkflowImportError
from .loader import load_spec
from .manifest import gigabytes, load_manifest, needed_models
from .render import new_random_seed
from .schema_messages import is_forbidden
from .spec import pick_workflows


def _read_request(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RequestError("request", f"cannot read {source}: {reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError("request", f"not valid JSON: {exc}") from exc


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
        "random_seed": new_random_seed(),
        "input_image": args.input_image,
    }
    rendered = spec.render(spec.prepare(request), runtime)
    _dump(rendered.patch if args.patch else rendered.graph)
    print(json.dumps(rendered.metadata), file=sys.stderr)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    """Print one line per problem; exit 1 if there is any (--comfy-url: against a running ComfyUI)."""
    if args.comfy_url:
        from deploy.preflight import live_checks

        catalog, model_check = live_checks(args.comfy_url, args.models)
        problems = lint(catalog, args.spec, args.models, model_check)
    else:
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
        raise ConfigError(f"workflow: {args.workflow!r} is not one of {sorted(spec.workflows)}")
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
    return rule + (f" (default {_json(schema['default'])})" if "default" in schema else "")


def _json(value: Any) -> str:
    """A value as a caller writes it in JSON (true, not True), strings bare."""
    return value if isinstance(value, str) else json.dumps(value)


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
    spec = load_spec(args.spec)
    if args.check:
        stale = check(spec, Path(args.dir))
        for line in stale:
            print(line)
        if not stale:
            print(f"ok: every golden file in {args.dir} is what the spec renders", file=sys.stderr)
        return 1 if stale else 0
    for path in regenerate(spec, Path(args.dir)):
        print(f"wrote {path}")
    return 0


def _import_target(args: argparse.Namespace) -> Path:
    """templates/NAME.json, once NAME is a valid workflow name that is new (or ``--force`` is given)."""
    pattern = files.meta_schema("mappings.schema.yaml")["properties"]["workflows"]["propertyNames"]["pattern"]
    if not re.fullmatch(pattern, args.name):
        raise WorkflowImportError(f"import --name {json.dumps(args.name)}: a workflow name must match {pattern} "
                                  "(lowercase letters, digits and dashes)")
    out = Path(args.templates) / f"{args.name}.json"
    if args.force:
        return out
    if out.exists():
        raise WorkflowImportError(f"import --name {json.dumps(args.name)}: {out} exists already; pass --force "
                                  "to overwrite it")
    spec_path = Path(args.spec) if args.spec else files.SPEC
    spec = files.read_yaml(spec_path) if spec_path.exists() else None
    if isinstance(spec, dict) and isinstance(spec.get("workflows"), dict) and args.name in spec["workflows"]:
        raise WorkflowImportError(f"import --name {json.dumps(args.name)}: {spec_path} has a workflow of that name "
                                  "already; pass --force to write its template anyway")
    return out


def cmd_import(args: argparse.Namespace) -> int:
    """Convert a UI-format workflow into templates/NAME.json and print a starter spec entry."""
    out = _import_target(args)
    try:
        ui = json.loads(Path(args.workflow).read_text(encoding="utf-8"))
        graph = convert(ui, load_catalog(args.object_info), args.enable)
    except (OSError, json.JSONDecodeError, SpecError) as exc:
        raise WorkflowImportError(f"import {args.workflow}: {exc}") from exc
    out.write_text(dumps(graph), encoding="utf-8")
    print(f"wrote {out}; add this to spec/mappings.yaml, keep the targets you want and delete each 'current':", file=sys.stderr)
    sys.stdout.write(dump_entry(starter_entry(args.name, graph)))
    return 0


def _model_plan(args: argparse.Namespace) -> dict[str, list[Any]]:
    """{workflow: [ModelFile]} for the workflows --workflows picks."""
    spec = load_spec(args.spec)
    return needed_models(spec, load_manifest(args.models), pick_workflows(spec.workflows, args.workflows))


def cmd_models_list(args: argparse.Namespace) -> int:
    """Print what each workflow needs, every file with its size and, with --models-dir, where it is."""
    plan = _model_plan(args)
    files = {m.name: m for models in plan.values() for m in models}
    print(f"{'workflow':<16} {'files':>5} {'size':>9}")
    for workflow, models in plan.items():
        print(f"{workflow:<16} {len(models):>5} {gigabytes(sum(m.size_gb for m in models)):>9}")
    print()
    dirs = args.models_dir or []
    missing = []
    for model in sorted(files.values(), key=lambda m: (m.folder, m.name)):
        users = ", ".join(w for w, models in plan.items() if model in models)
        gated = " [gated: needs HF_TOKEN]" if model.gated else ""
        line = f"{model.where:<72} {gigabytes(model.size_gb):>9}  {model.repo}{gated}  needed by {users}"
        if dirs:
            found = model.find(dirs)
            missing += [] if found else [model]
            line = f"{'present' if found else 'MISSING':<8}" + line
        print(line)
    total = sum(m.size_gb for m in files.values())
    summary = f"total: {len(files)} files, {gigabytes(total)} (sizes approximate)"
    if dirs:
        summary += (f"; missing under {', '.join(dirs)}: {len(missing)} files, "
                    f"{gigabytes(sum(m.size_gb for m in missing))}")
    print(summary)
    return 0


def cmd_models_download(args: argparse.Namespace) -> int:
    """Fetch the missing model files of the chosen workflows into --dest."""
    from deploy.downloads import Downloader

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
    plan = _model_plan(args)
    models = list({m.name: m for ms in plan.values() for m in ms}.values())
    outcomes = Downloader(args.dest, args.models_dir or []).run(
        models, jobs=args.jobs, skip_gated_without_token=args.skip_gated_without_token)
    counts = {status: sum(o.status == status for o in outcomes) for status in ("present", "downloaded", "skipped")}
    print(f"ok: {counts['downloaded']} downloaded, {counts['present']} already present, "
          f"{counts['skipped']} skipped (gated, no HF_TOKEN) in {args.dest}", file=sys.stderr)
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
    lint.add_argument("--comfy-url", help="check against a running ComfyUI (its /object_info and model folders)")
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
    importer.add_argument("--force", action="store_true", help="overwrite an existing template or workflow name")
    importer.set_defaults(func=cmd_import)

    golden = sub.add_parser("golden", help="regenerate golden files from tests/golden/cases.yaml")
    golden.add_argument("--check", action="store_true", help="only report golden files that differ")
    golden.add_argument("--dir", default="tests/golden", help="golden directory (default: tests/golden)")
    golden.set_defaults(func=cmd_golden)

    models = sub.add_parser("models", help="model files: what each workflow needs; download what is missing")
    models.add_argument("--models", help="model manifest (default: spec/models.yaml)")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="{list,download}")
    workflows_help = "comma-separated workflow names or patterns such as '*-fast' (default: all)"
    listing = models_sub.add_parser("list", help="files each workflow needs, sizes, totals, what is present")
    listing.add_argument("--workflows", help=workflows_help)
    listing.add_argument("--models-dir", action="append", help="a models directory to look in (repeatable)")
    listing.set_defaults(func=cmd_models_list)
    download = models_sub.add_parser("download", help="fetch missing files from Hugging Face (HF_TOKEN, HF_ENDPOINT)")
    download.add_argument("--workflows", help=workflows_help)
    download.add_argument("--dest", default="models", help="models directory to download into (default: models)")
    download.add_argument("--models-dir", action="append",
                          help="another models directory whose files count as present (repeatable)")
    download.add_argument("--jobs", type=int, default=3, help="files downloaded in parallel (default: 3)")
    download.add_argument("--skip-gated-without-token", action="store_true",
                          help="without HF_TOKEN, skip gated files instead of failing (e.g. an image build)")
    download.set_defaults(func=cmd_models_download)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; an error raised on purpose prints its message on stderr and exits 1."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        code = handler(args)
        sys.stdout.flush()  # inside the try: a reader that left early fails this write
        return code
    except Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader left early (`| head`): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
