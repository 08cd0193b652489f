"""Render a validated request onto its workflow's template with the workflow's write plan.

Pure: the same workflow, request and runtime values always give the same graph. Every expression
of a render runs in one sandboxed scope; every write checks that its node is still what the
mapping expects, so a template whose ids moved fails loudly with the parameter and node named,
never as a silently wrong graph. The RFC 6902 operations equal to the render (``Rendered.patch``)
are built only when asked for.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .errors import RenderError
from .expressions import Scope
from .plan import Writes
from .prepare import Prepared
from .workflow import Workflow

RUNTIME_NAMES = ("job_id", "random_seed", "input_image")
"""Values the caller (handler or CLI) supplies per job, visible to spec expressions."""

RANDOM_SEED_LIMIT = 2**53
"""Random seeds stay below 2**53 so JavaScript callers can send them back exactly."""


def new_random_seed() -> int:
    """A fresh ``random_seed`` runtime value for one job."""
    return secrets.randbelow(RANDOM_SEED_LIMIT)


@dataclass(frozen=True)
class Rendered:
    """The result of rendering: the graph to queue, what to report, and how it was made.

    ``graph`` is a new dict whose written nodes are its own; the others are the template's read-only
    nodes (``copy.deepcopy(graph)`` gives a graph that is all yours).
    """

    workflow: str
    graph: dict[str, Any]
    metadata: dict[str, Any]
    outputs: dict[str, str]
    """Output name -> node id, for the output nodes this graph has (a bypassed one is left out)."""
    _workflow: Workflow = field(repr=False, compare=False)
    _writes: Writes = field(repr=False, compare=False)
    _taken: tuple[int, ...] = field(repr=False, compare=False)

    @property
    def patch(self) -> list[dict[str, Any]]:
        """The RFC 6902 patch that turns the template into ``graph``, for review, golden files and ``--patch``."""
        return self._workflow.plan.operations(self._writes, self._taken)

    def parameters_for(self, node_id: str, inputs: Iterable[str] = ()) -> list[str]:
        """The request fields written into ``node_id`` (``inputs`` narrows), see Workflow.parameters_for."""
        return self._workflow.parameters_for(node_id, inputs)


def render(prepared: Prepared, runtime: Mapping[str, Any]) -> Rendered:
    """Render a validated request (defaults filled) with the caller's runtime values.

    In order, in one scope: the request and runtime values, the ``let`` values, every bypass
    ``when``, then each target's value (a target is skipped when its value is undefined or its node
    bypassed).
    """
    workflow, plan = prepared.workflow, prepared.workflow.plan
    unknown = set(runtime) - set(RUNTIME_NAMES)
    if unknown:
        raise RenderError(f"unknown runtime value(s) {sorted(unknown)}; known: {list(RUNTIME_NAMES)}")
    scope = Scope(prepared.request)
    for name, value in runtime.items():
        if value is not None:
            scope.define(name, value)
    workflow.let.run(scope)
    values = scope.values
    taken = tuple(i for i, bypass in enumerate(workflow.bypass) if scope.evaluate(bypass.when))
    bypassed = {workflow.bypass[i].node for i in taken}
    writes = [(write, scope.evaluate(write.value) if write.value else values[write.param])
              for write in plan.writes if write.param in values and write.node not in bypassed]
    graph = plan.graph(writes, taken)
    metadata = {"workflow": workflow.name}
    metadata.update((name, values[name]) for name in workflow.report if name in values)
    return Rendered(
        workflow=workflow.name,
        graph=graph,
        metadata=metadata,
        outputs={key: ref.node for key, ref in workflow.outputs.items() if ref.node in graph},
        _workflow=workflow,
        _writes=writes,
        _taken=taken,
    )
