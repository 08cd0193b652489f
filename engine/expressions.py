"""Derived values: Jinja2 expressions from the spec, evaluated in the sandbox over request data.

Expressions are compiled with ``compile_expression`` (not rendered as templates), so the result
keeps its native type and request text is only ever data: a prompt of ``{{ 7*7 }}`` or
``[1, 2]`` stays that exact string. (Jinja2's NativeEnvironment would ``literal_eval`` string
results, turning a prompt of ``42`` into an int, which is why it is not used.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import SpecError


def round_to(value: float, multiple: float) -> int | float:
    """Round to the nearest multiple, halves away from zero (Python's round() is banker's)."""
    steps = math.floor(abs(value) / multiple + 0.5)
    result = math.copysign(steps * multiple, value)
    return int(result) if float(result).is_integer() else result


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    env.filters["round_to"] = round_to
    return env


_ENV = _environment()


@dataclass(frozen=True)
class Expression:
    """A compiled spec expression; ``where`` names its place in the spec for error messages."""

    source: str
    where: str
    _fn: Callable[..., Any] = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Evaluate over ``context``; an undefined name or sandbox violation is a SpecError."""
        try:
            result = self._fn(**context)
        except (UndefinedError, SecurityError, TypeError, ValueError, ZeroDivisionError, KeyError) as exc:
            raise SpecError([f"{self.where}: expression {self.source!r} failed: {exc}"]) from exc
        if isinstance(result, Undefined):
            raise SpecError([f"{self.where}: expression {self.source!r} is undefined for this request"])
        return result


def compile_expression(source: str, where: str) -> Expression:
    """Compile one spec expression, reporting syntax errors with their spec location."""
    try:
        fn = _ENV.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise SpecError([f"{where}: invalid expression {source!r}: {exc.message}"]) from exc
    return Expression(source=source, where=where, _fn=fn)
