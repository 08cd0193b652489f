"""Values quoted for messages the way a JSON caller wrote them, and cut short.

Callers send JSON, so a message says ``null``, ``true`` and ``"text"``, never Python's ``None``,
``True`` and ``'text'``; and an echoed value is an excerpt with its length, never the whole 50 MB.
"""

from __future__ import annotations

import json
import math
from typing import Any

EXCERPT = 40
"""Characters of a string kept in a message before it is cut."""
MESSAGE_LIMIT = 300
"""The longest message line: longer ones are cut (a message is always one line)."""


def json_type(value: Any) -> str:
    """The JSON name of a value's type: null, boolean, integer, number, string, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def quote(value: Any, limit: int = EXCERPT) -> str:
    """``value`` as JSON, cut to about ``limit`` characters: '"aaaa..." (1048576 characters)'."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        if len(value) <= limit:
            return json.dumps(value, ensure_ascii=False)
        return f"{json.dumps(value[:limit], ensure_ascii=False)[:-1]}...\" ({len(value)} characters)"
    if isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        if len(text) <= limit:
            return text
        kind = "an array of" if isinstance(value, (list, tuple)) else "an object with"
        return f"{kind} {len(value)} {'items' if isinstance(value, (list, tuple)) else 'keys'}"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)[:limit]


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` on one line of at most ``limit`` characters (whitespace runs collapsed)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
