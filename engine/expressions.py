"""Derived values: Jinja2 expressions from the spec, evaluated in the sandbox over request data.

Expressions are compiled with ``compile_expression`` (not rendered as templates), so the result
keeps its native type and request text is only ever data: a prompt of ``{{ 7*7 }}`` or
``[1, 2]`` stays that exact string. (Jinja2's NativeEnvironment would ``literal_eval`` string
results, turning a prompt of ``42`` into an int, which is why it is not used.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, meta
from jinja2.exceptions import TemplateRuntimeError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import ExpressionError, SpecError


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

_FAILURES = (TemplateRuntimeError, TypeError, ValueError, ArithmeticError, LookupError)
"""What evaluating a spec expression over a request may raise (undefined names, sandbox, maths)."""


@dataclass(frozen=True)
class Expression:
    """A compiled spec expression; ``where`` names its place in the spec for error messages."""

    source: str
    where: str
    _fn: Callable[..., Any] = field(repr=False, compare=False)

    @property
    def names(self) -> frozenset[str]:
        """The names the expression reads (for tracing a value back to request fields); parsed on
        first use, as only error messages need it."""
        return _names(self.source)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Evaluate over ``context``; an undefined name or sandbox violation is an ExpressionError."""
        try:
            result = self._fn(**context)
        except _FAILURES as exc:
            raise ExpressionError([f"{self.where}: expression {self.source!r} failed: {exc}"]) from exc
        if isinstance(result, Undefined):
            raise ExpressionError([f"{self.where}: expression {self.source!r} is undefined for this request"])
        return result


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Callable[..., Any]:
    """Jinja2's compiled form of an expression; cached, as workflows share most expressions."""
    return _ENV.compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=1024)
def _names(source: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(_ENV.parse(f"{{{{ ({source}) }}}}")))


@lru_cache(maxsize=256)
def _compiled_program(source: str) -> Template:
    return _ENV.from_string(source)


def compile_expression(source: str, where: str) -> Expression:
    """Compile one spec expression, reporting syntax errors with their spec location."""
    try:
        fn = _compiled(source)
    except TemplateSyntaxError as exc:
        raise SpecError([f"{where}: invalid expression {source!r}: {exc.message}"]) from exc
    return Expression(source=source, where=where, _fn=fn)


@dataclass(frozen=True)
class Program:
    """Named expressions evaluated in order, each seeing the values before it, in one sandboxed
    pass (one Jinja2 context instead of one per expression: ~10x faster for a workflow's values)."""

    steps: tuple[tuple[str, Expression], ...]
    _template: Template | None = field(repr=False, compare=False)

    def run(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` plus every step's result; a failure is an ExpressionError naming the failing step."""
        out = dict(values)
        if self._template is None:
            return out
        try:
            module = self._template.make_module(out)
        except _FAILURES:
            return self._run_stepwise(values)
        results = {name: getattr(module, name) for name, _ in self.steps}
        if any(isinstance(v, Undefined) for v in results.values()):
            return self._run_stepwise(values)
        out.update(results)
        return out

    def sources(self, name: str, fields: set[str]) -> list[str]:
        """The request fields (among ``fields``) that value ``name`` is or derives from, nearest first.

        A derived value that shadows a field (``width`` snapped) counts as that field too.
        """
        steps = dict(self.steps)
        found: list[str] = []
        pending, seen = [name], set()
        while pending:
            current = pending.pop(0)
            if current in seen:
                continue
            seen.add(current)
            if current in fields:
                found.append(current)
            if current in steps:
                pending += sorted(steps[current].names)
        return found

    def _run_stepwise(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Evaluate one step at a time, so the error raised names the step that failed."""
        out = dict(values)
        for name, expression in self.steps:
            out[name] = expression.evaluate(out)
        return out


def compile_program(steps: Sequence[tuple[str, str]], where: str) -> Program:
    """Compile ``(name, source)`` steps; each is also compiled alone for precise error messages."""
    compiled = tuple((name, compile_expression(source, f"{where}.{name}")) for name, source in steps)
    if not compiled:
        return Program(steps=(), _template=None)
    source = "".join(f"{{% set {name} = ({expression.source}) %}}" for name, expression in compiled)
    try:
        template = _compiled_program(source)
    except TemplateSyntaxError as exc:
        raise SpecError([f"{where}: these names cannot be used as values: {exc.message}"]) from exc
    return Program(steps=compiled, _template=template)
