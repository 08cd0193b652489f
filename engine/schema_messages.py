"""Turn jsonschema validation errors into one readable line: where, then the rule broken, with values
quoted as the JSON caller wrote them (``null``, ``"text"``) and cut short (engine.quote)."""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

from .quote import quote

CUSTOM_MESSAGE = "x-error"
"""Schema keyword whose text replaces jsonschema's message when that subschema fails."""


def format_path(parts: Iterable[object]) -> str:
    """Render a JSON path as ``a.b[0].c`` (the way the YAML or request reads)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def is_forbidden(schema: object) -> bool:
    """A property declared only to be refused with a message (``{not: {}, x-error: ...}``)."""
    return isinstance(schema, dict) and schema.get("not") == {}


def _allowed(schema: dict) -> list[str]:
    """The property names an object schema accepts."""
    return sorted(k for k, v in schema.get("properties", {}).items() if not is_forbidden(v))


def _alternative_fields(error: ValidationError) -> str | None:
    """For oneOf/anyOf over ``required`` lists, the fields involved (``a/b``)."""
    if error.validator not in ("oneOf", "anyOf"):
        return None
    fields = [f for alt in error.validator_value if isinstance(alt, dict) for f in alt.get("required", [])]
    return "/".join(format_path([*error.absolute_path, f]) for f in fields) or None


def _types(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    return " or ".join(json.dumps(name) for name in names)


_RULES: dict[str, Callable[[Any, Any], str]] = {
    "type": lambda value, rule: f"{quote(value)} is not of type {_types(rule)}",
    "enum": lambda value, rule: f"{quote(value)} is not one of {quote(rule, 200)}",
    "const": lambda value, rule: f"{quote(rule)} was expected, got {quote(value)}",
    "minimum": lambda value, rule: f"{quote(value)} is less than the minimum of {quote(rule)}",
    "maximum": lambda value, rule: f"{quote(value)} is greater than the maximum of {quote(rule)}",
    "exclusiveMinimum": lambda value, rule: f"{quote(value)} is less than or equal to the minimum of {quote(rule)}",
    "exclusiveMaximum": lambda value, rule: f"{quote(value)} is greater than or equal to the maximum of {quote(rule)}",
    "multipleOf": lambda value, rule: f"{quote(value)} is not a multiple of {quote(rule)}",
    "minLength": lambda value, rule: f"{quote(value)} is shorter than {rule} character(s)",
    "maxLength": lambda value, rule: f"{quote(value)} is longer than {rule} characters",
    "pattern": lambda value, rule: f"{quote(value)} does not match {quote(rule)}",
    "minItems": lambda value, rule: f"{quote(value)} has fewer than {rule} item(s)",
    "maxItems": lambda value, rule: f"{quote(value)} has more than {rule} items",
}
"""jsonschema's messages for each keyword, rewritten in JSON terms (its own use Python's repr)."""


def describe(error: ValidationError, owner: str | None = None) -> tuple[str, str]:
    """Return (path, rule) for the error, naming the offending field itself where possible.

    ``owner`` says whose fields these are in "unknown field" messages (e.g. "workflow smoke").
    """
    path = format_path(error.absolute_path)
    value = error.validator_value
    if error.validator == "not" and isinstance(value, dict) and CUSTOM_MESSAGE in value:
        fields = value.get("required", [])
        return " + ".join(format_path([*error.absolute_path, f]) for f in fields) or path, value[CUSTOM_MESSAGE]
    custom = error.schema.get(CUSTOM_MESSAGE) if isinstance(error.schema, dict) else None
    if custom:
        return _alternative_fields(error) or path, custom
    if error.validator == "required":
        missing = [name for name in value if name not in error.instance]
        return format_path([*error.absolute_path, missing[0] if missing else "?"]), "is required"
    if error.validator == "additionalProperties" and value is False:
        allowed = _allowed(error.schema)
        unexpected = sorted(k for k in error.instance if k not in allowed)
        name = unexpected[0] if unexpected else "?"
        whose = f" for {owner}" if owner else ""
        if len(name) > 40:
            name = quote(name)
        return format_path([*error.absolute_path, name]), f"unknown field{whose} (allowed: {', '.join(allowed) or 'none'})"
    if error.validator in _RULES:
        return path, _RULES[error.validator](error.instance, value)
    return path, error.message


def first_error(errors: Iterable[ValidationError]) -> ValidationError | None:
    """The most relevant error (jsonschema's best_match), or None when there is none."""
    return best_match(errors)
