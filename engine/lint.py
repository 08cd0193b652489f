"""Lint: the spec, every template and every schema example against ComfyUI's node catalogue
and the model manifest. Returns one line per problem; an empty list means all is well."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .catalog import ModelCheck, graph_problems
from .errors import EngineError, SpecError
from .loader import load_spec
from .models import Manifest, load_manifest
from .spec import Workflow

LINT_RUNTIME = {"job_id": "lint", "random_seed": 0, "input_image": "lint-input.png"}
"""Runtime values used when lint renders the schema's examples."""


def lint(
    catalog: Mapping[str, Any],
    spec_path: Path | str | None = None,
    manifest_path: Path | str | None = None,
    model_check: ModelCheck | None = None,
) -> list[str]:
    """Every problem in the spec, templates, examples and manifest, one line each.

    ``model_check`` replaces the manifest's check of model-file inputs (a live ComfyUI's model folders).
    """
    try:
        manifest = load_manifest(manifest_path)
    except SpecError as exc:
        return exc.problems
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        return exc.problems
    problems: list[str] = []
    for workflow in spec.workflows.values():
        problems += workflow_problems(spec, workflow, catalog, manifest, model_check)
    return problems


def workflow_problems(spec, workflow: Workflow, catalog: Mapping[str, Any], manifest: Manifest,
                      model_check: ModelCheck | None = None) -> list[str]:
    """The template checked against the catalogue, then each schema example rendered and checked."""
    check = model_check or manifest.problem
    name = f"{workflow.name}: template {workflow.template_file.name}"
    problems = [f"{name}: {p}" for p in graph_problems(workflow.template, catalog, check)]
    if not workflow.schema.get("examples"):
        problems.append(f"{workflow.name}: schema has no examples; add at least one request so lint can render it")
    for index, example in enumerate(workflow.schema.get("examples", [])):
        where = f"{workflow.name}: schema.examples[{index}]"
        try:
            rendered = spec.render(spec.prepare({"workflow": workflow.name, **example}), LINT_RUNTIME)
        except EngineError as exc:
            problems.append(f"{where}: {exc}")
            continue
        problems += [f"{where}: rendered graph: {p}" for p in graph_problems(rendered.graph, catalog, check)]
    return problems
