"""Turn a raw job input into a prepared request: select the workflow, validate, fill defaults."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .errors import RequestError
from .schema_messages import describe, first_error
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
    if name is not None:
        if not isinstance(name, str) or name not in workflows:
            raise RequestError("workflow", f"{name!r} is not one of {sorted(workflows)}")
        return workflows[name]
    chosen = {key.name: request.get(key.name, key.default) for key in selection}
    for workflow in workflows.values():
        if workflow.select and all(workflow.select[k] == v for k, v in chosen.items()):
            return workflow
    for key in selection:
        allowed = sorted({w.select[key.name] for w in workflows.values() if w.select})
        if chosen[key.name] not in allowed:
            raise RequestError(key.name, f"{chosen[key.name]!r} is not one of {allowed}")
    wanted = ", ".join(f"{k}={v}" for k, v in chosen.items())
    raise RequestError("workflow", f"no workflow serves {wanted}; name one of {sorted(workflows)}")


def prepare(workflows: Mapping[str, Workflow], selection: Sequence[SelectionKey], request: Any) -> Prepared:
    """Select and validate; raises RequestError naming the field and the rule it broke."""
    if not isinstance(request, dict):
        raise RequestError("input", f"must be a JSON object, got {type(request).__name__}")
    workflow = select(workflows, selection, request)
    error = first_error(workflow.validator.iter_errors(request))
    if error is not None:
        path, rule = describe(error, owner=f"workflow {workflow.name}")
        raise RequestError(path or "input", rule)
    filled = {k: copy.deepcopy(v) if isinstance(v, (dict, list)) else v for k, v in workflow.defaults.items()}
    filled.update(request)
    return Prepared(workflow=workflow, request=filled)
