"""Small pure helpers over ComfyUI API-format graphs ({node_id: {class_type, inputs}})."""

from __future__ import annotations

from typing import Any

from jsonpointer import JsonPointer


def is_link(value: Any) -> bool:
    """True for an API-format link ``[node_id, output_index]``."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def pointer(*parts: str) -> str:
    """A JSON pointer to ``parts``, escaped (node ids may hold any character)."""
    return JsonPointer.from_parts(parts).path
