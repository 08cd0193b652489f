"""Every graph a workflow can produce: its template, each schema example, and each example again with
every value of each enum or boolean parameter. Lint, the model list and the preflight all check these."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from .errors import Error, RequestError, SpecError
from .spec import Spec
from .workflow import Workflow

RENDER_RUNTIME = {"job_id": "models", "random_seed": 0, "input_image": "models-input.png"}
"""Runtime values used when rendering a workflow to see which model files it can name."""


def _variants(workflow: Workflow) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(label, request, is an example): each schema example, then each example with one enum (or
    boolean) parameter set to each of its values."""
    examples = list(workflow.schema.get("examples") or [{}])
    for index, example in enumerate(examples):
        yield f"schema.examples[{index}]", example, True
    for index, example in enumerate(examples):
        for name, schema in workflow.parameters.items():
            values = schema.get("enum") or ([True, False] if schema.get("type") == "boolean" else [])
            for value in values:
                if example.get(name, object()) != value:
                    yield f"schema.examples[{index}] with {name}={value!r}", {**example, name: value}, False


ExampleError = Callable[[str, Error], None]
"""Told (label, error) when a schema example itself fails to render (lint reports it)."""


def workflow_graphs(
    spec: Spec, workflow: Workflow, on_example_error: ExampleError | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, graph): the template, then every graph rendered from ``_variants``.

    Enum parameters such as camera_lora choose model files, so rendering each value finds every file a
    request can make the workflow load, which schema examples alone would miss. Variants the schema
    refuses are skipped; an example that fails goes to ``on_example_error``.
    """
    yield f"template {workflow.template_file.name}", workflow.template
    for label, request, is_example in _variants(workflow):
        try:
            yield label, spec.render(spec.prepare({**request, "workflow": workflow.name}), RENDER_RUNTIME).graph
        except (RequestError, SpecError) as exc:
            if is_example and on_example_error is not None:
                on_example_error(label, exc)
