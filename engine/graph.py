"""Small pure helpers over ComfyUI API-format graphs ({node_id: {class_type, inputs}})."""

from __future__ import annotations

from typing import Any

from jsonpointer import JsonPointer


def is_link(value: Any) -> bool:
    """True for an API-format link ``[node_id, output_index]``."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def pointer(*parts: str) -> JsonPointer:
    """A parsed JSON pointer to ``parts`` (node ids may hold any character; they are escaped).

    Patch operations carry these objects so jsonpatch does not re-parse paths on every render.
    """
    return JsonPointer.from_parts(parts)
