"""Turn jsonschema validation errors into one readable line: where, then the rule broken."""

from __future__ import annotations

from typing import Iterable

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

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


def _unexpected(error: ValidationError) -> list[str]:
    """The property names an additionalProperties error complains about."""
    allowed = set(error.schema.get("properties", {}))
    return sorted(k for k in error.instance if k not in allowed)


def describe(error: ValidationError, owner: str = "here") -> tuple[str, str]:
    """Return (path, rule) for the error, naming the offending field itself where possible.

    ``owner`` says whose fields these are in "unknown field" messages (e.g. "workflow smoke").
    """
    path = format_path(error.absolute_path)
    if error.validator == "not" and isinstance(error.validator_value, dict):
        fields = error.validator_value.get("required", [])
        where = " + ".join(format_path([*error.absolute_path, f]) for f in fields) or path
        return where, error.validator_value.get(CUSTOM_MESSAGE, error.message)
    custom = error.schema.get(CUSTOM_MESSAGE) if isinstance(error.schema, dict) else None
    if custom:
        return path, custom
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        name = missing[0] if missing else "?"
        return format_path([*error.absolute_path, name]), "is required"
    if error.validator == "additionalProperties" and error.validator_value is False:
        names = _unexpected(error)
        allowed = ", ".join(sorted(error.schema.get("properties", {}))) or "none"
        name = names[0] if names else "?"
        return format_path([*error.absolute_path, name]), f"unknown field for {owner} (allowed: {allowed})"
    return path, error.message


def first_error(errors: Iterable[ValidationError]) -> ValidationError | None:
    """The most relevant error (jsonschema's best_match), or None when there is none."""
    return best_match(errors)
