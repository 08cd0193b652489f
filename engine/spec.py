"""The loaded spec: every workflow, how requests select one, and the two steps a request takes."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import ConfigError
from .prepare import Prepared, prepare
from .render import Rendered, render
from .workflow import SelectionKey, Workflow


@dataclass(frozen=True)
class Spec:
    """The whole loaded spec: every workflow and how requests select one."""

    path: Path
    workflows: Mapping[str, Workflow]
    selection: tuple[SelectionKey, ...]

    def prepare(self, request: Any) -> Prepared:
        """Select the workflow and validate the request; raises RequestError."""
        return prepare(self.workflows, self.selection, request)

    def render(self, prepared: Prepared, runtime: Mapping[str, Any] | None = None) -> Rendered:
        """Render a prepared request onto its workflow's template; raises RenderError or ExpressionError."""
        return render(prepared, runtime or {})


def pick_workflows(available: Iterable[str], patterns: str | None, what: str = "--workflows") -> list[str]:
    """Workflow names matching comma-separated names or glob patterns ('all' or empty: every workflow).

    ``what`` names the setting in the error (``ENABLED_WORKFLOWS``, ``--workflows``).
    """
    names = list(available)
    wanted = [p.strip() for p in (patterns or "").split(",") if p.strip()]
    if not wanted or wanted == ["all"]:
        return names
    picked: list[str] = []
    for pattern in wanted:
        matches = fnmatch.filter(names, pattern)
        if not matches:
            raise ConfigError(f"{what}: {pattern!r} matches no workflow (have: {', '.join(names)})")
        picked += [m for m in matches if m not in picked]
    return picked
