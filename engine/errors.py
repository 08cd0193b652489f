"""The engine's exception hierarchy: every message is one line written for the caller."""

from __future__ import annotations

from typing import Sequence


class EngineError(Exception):
    """Base of every error the engine raises on purpose; str() is the caller-facing line."""


class SpecError(EngineError):
    """The spec, a template or a schema is wrong: a workflow author's mistake, found at load time.

    Carries every problem found (one line each) so lint can print them all.
    """

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        first = self.problems[0] if self.problems else "invalid spec"
        more = len(self.problems) - 1
        super().__init__(first if more == 0 else f"{first} (and {more} more problem(s))")


class RequestError(EngineError):
    """The request is invalid: names the field and the rule it broke."""

    def __init__(self, field: str, rule: str):
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}" if field else rule)


class RenderError(EngineError):
    """A rendered value or patch did not fit the template (a mapping bug, caught before the GPU)."""
