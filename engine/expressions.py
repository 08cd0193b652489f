"""Derived values: Jinja2 expressions from the spec, evaluated in the sandbox over request data.

Each expression compiles as Jinja2's ``compile_expression`` does (a one-line template assigning
the expression's value), so the result keeps its native type and request text is only ever data:
a prompt of ``{{ 7*7 }}`` or ``[1, 2]`` stays that exact string. (Jinja2's NativeEnvironment would
``literal_eval`` string results, turning a prompt of ``42`` into an int, which is why it is not
used.) Loading the spec parses each expression and checks its filters and tests, which finds every
error Jinja2's compiler would; the Python code is generated on first evaluation (about 0.5 ms per
distinct expression, a cost that would otherwise dominate loading the spec).

A render evaluates all its expressions (``let``, bypass ``when``, target ``value``) in one
``Scope``: one sandboxed Jinja2 context over the values, instead of a new context, and a copy of
every value, per expression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, Mapping, Sequence

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, Undefined, meta, nodes
from jinja2.exceptions import TemplateRuntimeError
from jinja2.parser import Parser
from jinja2.runtime import Context
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
_RESULT = "result"
"""The name each compiled expression assigns its value to, in the scope's own variables (the
values themselves are the context's parent, so a value may be called ``result`` too)."""

_FAILURES = (TemplateRuntimeError, TypeError, ValueError, ArithmeticError, LookupError)
"""What evaluating a spec expression over a request may raise (undefined names, sandbox, maths)."""


@dataclass(frozen=True)
class Expression:
    """A checked spec expression; ``where`` names its place in the spec for error messages."""

    source: str
    where: str

    @cached_property
    def template(self) -> Template:
        """The compiled one-line template ``result = (source)``, shared by every use of the same source."""
        return _compiled(self.source)

    @property
    def names(self) -> frozenset[str]:
        """The names the expression reads (for tracing a value back to request fields); parsed on
        first use, as only error messages need it."""
        return _names(self.source)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Evaluate over ``context``; an undefined name or sandbox violation is an ExpressionError."""
        return Scope(context).evaluate(self)


class Scope:
    """The values of one render and the one sandboxed Jinja2 context its expressions run in.

    ``values`` holds what ``define`` added, in order (request fields, runtime values, derived
    values); expressions also see Jinja2's globals (``range``, ``dict``, ...), which are not values.
    """

    __slots__ = ("values", "_names", "_context")

    def __init__(self, values: Mapping[str, Any] = ()) -> None:
        self.values: dict[str, Any] = dict(values)
        self._names = {**_ENV.globals, **self.values}
        self._context: Context = _ENV.context_class(_ENV, self._names, None, {})

    def define(self, name: str, value: Any) -> None:
        """Add (or shadow) a value that later expressions see."""
        self.values[name] = value
        self._names[name] = value

    def evaluate(self, expression: Expression) -> Any:
        """The expression's value over the current values; failures are ExpressionErrors naming its place."""
        context = self._context
        try:
            next(expression.template.root_render_func(context), None)
            result = context.vars.pop(_RESULT)
        except _FAILURES as exc:
            context.vars.pop(_RESULT, None)
            raise ExpressionError([f"{expression.where}: expression {expression.source!r} failed: {exc}"]) from exc
        if isinstance(result, Undefined):
            raise ExpressionError([f"{expression.where}: expression {expression.source!r} is undefined for this request"])
        return result


@lru_cache(maxsize=1024)
def _parsed(source: str) -> nodes.Expr:
    """The expression's syntax tree, its filters and tests checked; raises TemplateSyntaxError.

    Unknown filters and tests are the errors Jinja2's compiler adds to the parser's (it defers one
    inside a conditional to when it is reached; here it is refused wherever it is), so a source that
    passes here compiles.
    """
    parser = Parser(_ENV, source, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    for node in expression.find_all((nodes.Filter, nodes.Test)):
        kind, known = ("filter", _ENV.filters) if isinstance(node, nodes.Filter) else ("test", _ENV.tests)
        if node.name not in known:
            raise TemplateSyntaxError(f"No {kind} named {node.name!r}.", node.lineno, None, None)
    return expression


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Template:
    """The one-line template ``result = (source)``; cached, as workflows share most expressions."""
    expression = _parsed(source)
    expression.set_environment(_ENV)
    return _ENV.from_string(nodes.Template([nodes.Assign(nodes.Name(_RESULT, "store"), expression, lineno=1)], lineno=1))


@lru_cache(maxsize=1024)
def _names(source: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(_ENV.parse(f"{{{{ ({source}) }}}}")))


def compile_expression(source: str, where: str) -> Expression:
    """Compile one spec expression, reporting syntax errors with their spec location."""
    try:
        _parsed(source)
    except TemplateSyntaxError as exc:
        raise SpecError([f"{where}: invalid expression {source!r}: {exc.message}"]) from exc
    return Expression(source=source, where=where)


@dataclass(frozen=True)
class Program:
    """Named expressions (a workflow's ``let``) evaluated in order, each seeing the values before it."""

    steps: tuple[tuple[str, Expression], ...]

    def run(self, scope: Scope) -> None:
        """Define every step's value in ``scope``; the first failure is an ExpressionError naming its step."""
        for name, expression in self.steps:
            scope.define(name, scope.evaluate(expression))

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


def compile_program(steps: Sequence[tuple[str, str]], where: str) -> Program:
    """Compile ``(name, source)`` steps, each reporting a syntax error at ``where.name``."""
    return Program(steps=tuple((name, compile_expression(source, f"{where}.{name}")) for name, source in steps))
