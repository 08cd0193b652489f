"""Turn a raw job input into a prepared request: select the workflow, validate, fill defaults."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from .errors import RequestError
from .quote import json_type, quote
from .schema_messages import describe, first_error, format_path
from .workflow import SelectionKey, Workflow


@dataclass(frozen=True)
class Prepared:
    """A request that passed validation for ``workflow``, with schema defaults filled in."""

    workflow: Workflow
    request: dict[str, Any]


def select(workflows: Mapping[str, Workflow], selection: Sequence[SelectionKey],
           request: Mapping[str, Any]) -> Workflow:
    """The workflow named by ``workflow``, else the one matching the selection keys (with defaults)."""
    name = request.get("workflow")
    if "workflow" in request:
        if not isinstance(name, str) or name not in workflows:
            raise RequestError("workflow", f"{quote(name)} is not one of {quote(sorted(workflows), 200)}")
        return workflows[name]
    chosen = {key.name: request.get(key.name, key.default) for key in selection}
    for workflow in workflows.values():
        if workflow.select and all(workflow.select[k] == v for k, v in chosen.items()):
            return workflow
    for key in selection:
        allowed = sorted({w.select[key.name] for w in workflows.values() if w.select})
        if chosen[key.name] not in allowed:
            raise RequestError(key.name, f"{quote(chosen[key.name])} is not one of {quote(allowed, 200)}")
    wanted = ", ".join(f"{k}={v}" for k, v in chosen.items())
    raise RequestError("workflow", f"no workflow serves {wanted}; name one of {quote(sorted(workflows), 200)}")


def prepare(workflows: Mapping[str, Workflow], selection: Sequence[SelectionKey], request: Any) -> Prepared:
    """Select and validate; raises RequestError naming the field and the rule it broke."""
    if not isinstance(request, dict):
        raise RequestError("input", f"must be a JSON object, got {quote(request) if request is None else json_type(request)}")
    for path, value in _non_finite(request, []):
        raise RequestError(format_path(path) or "input", f"must be a finite number, got {quote(value)}")
    workflow = select(workflows, selection, request)
    error = first_error(workflow.validator.iter_errors(request))
    if error is not None:
        path, rule = describe(error, owner=f"workflow {workflow.name}")
        raise RequestError(path or "input", rule)
    filled = {k: copy.deepcopy(v) if isinstance(v, (dict, list)) else v for k, v in workflow.defaults.items()}
    filled.update(request)
    return Prepared(workflow=workflow, request=filled)


def _non_finite(value: Any, path: list) -> Iterator[tuple[list, float]]:
    """Every NaN or Infinity in a request (Python's JSON parser accepts them; JSON Schema's number does too)."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, [*path, index])
