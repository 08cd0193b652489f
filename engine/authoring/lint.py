"""Lint: the spec, every template and every schema example against ComfyUI's node catalogue
and the model manifest. Returns one line per problem; an empty list means all is well."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Mapping

from ..comfy.catalog import ModelCheck, graph_problems
from ..errors import Error, SpecError
from ..loader import load_spec
from ..manifest import Manifest, load_manifest
from ..spec import Spec
from ..variants import ExampleError, workflow_graphs
from ..workflow import Workflow


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


def workflow_graph_problems(spec: Spec, workflow: Workflow, catalog: Mapping[str, Any], model_check: ModelCheck,
                            on_example_error: ExampleError | None = None) -> Iterator[tuple[str, str]]:
    """(graph label, problem) over every graph the workflow can produce (variants.workflow_graphs),
    each problem once, at the first graph showing it. Lint and the preflight both run this loop."""
    seen: set[str] = set()
    for label, graph in workflow_graphs(spec, workflow, on_example_error):
        for problem in graph_problems(graph, catalog, model_check):
            if problem not in seen:
                seen.add(problem)
                yield label, problem


def workflow_problems(spec: Spec, workflow: Workflow, catalog: Mapping[str, Any], manifest: Manifest,
                      model_check: ModelCheck | None = None) -> list[str]:
    """Lint's lines for one workflow: a missing example, examples that fail, and graph problems."""
    problems: dict[str, str] = {}
    if not workflow.schema.get("examples"):
        problems["no examples"] = f"{workflow.name}: schema has no examples; add at least one request so lint can render it"

    def example_failed(label: str, exc: Error) -> None:
        problems[f"{label}: {exc}"] = f"{workflow.name}: {label}: {exc}"

    checks = workflow_graph_problems(spec, workflow, catalog, model_check or manifest.problem, example_failed)
    for label, problem in checks:
        rendered = "" if label.startswith("template ") else "rendered graph: "
        problems.setdefault(problem, f"{workflow.name}: {label}: {rendered}{problem}")
    return list(problems.values())
