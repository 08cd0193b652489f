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
        return format_path([*error.absolute_path, name]), f"unknown field{whose} (allowed: {', '.join(allowed) or 'none'})"
    return path, error.message


def first_error(errors: Iterable[ValidationError]) -> ValidationError | None:
    """The most relevant error (jsonschema's best_match), or None when there is none."""
    return best_match(errors)
