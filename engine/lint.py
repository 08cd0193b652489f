"""Lint: the spec, every template and every schema example against ComfyUI's node catalogue
and the model manifest. Returns one line per problem; an empty list means all is well."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .catalog import ModelCheck, graph_problems
from .errors import EngineError, SpecError
from .loader import load_spec
from .models import Manifest, load_manifest, workflow_graphs
from .spec import Workflow

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
    """Every graph the workflow can produce (models.workflow_graphs: the template, each schema example,
    each enum value) checked against the catalogue; each problem once, at the first graph showing it."""
    check = model_check or manifest.problem
    problems: dict[str, str] = {}
    if not workflow.schema.get("examples"):
        problems["no examples"] = f"{workflow.name}: schema has no examples; add at least one request so lint can render it"

    def example_failed(label: str, exc: EngineError) -> None:
        problems[f"{label}: {exc}"] = f"{workflow.name}: {label}: {exc}"

    for label, graph in workflow_graphs(spec, workflow, example_failed):
        rendered = "" if label.startswith("template ") else "rendered graph: "
        for problem in graph_problems(graph, catalog, check):
            problems.setdefault(problem, f"{workflow.name}: {label}: {rendered}{problem}")
    return list(problems.values())
