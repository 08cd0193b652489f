"""ComfyUI's input-spec format (GET /object_info), parsed in one place.

A class's ``input`` has ``required`` and ``optional`` sections of ``name: [type, options]``. The type
is a name (``INT``, ``IMAGE``, ``COMBO``, ``COMFY_DYNAMICCOMBO_V3``, "A,B" for several) or, in the
old combo form, the list of allowed values itself.
"""

from __future__ import annotations

from typing import Any, Mapping

DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"
MATCH_TYPE = "COMFY_MATCHTYPE_V3"
AUTOGROW = "COMFY_AUTOGROW_V3"


def kind(spec: list) -> str:
    """An input's type name; an old-style combo (a list of options) is COMBO."""
    return "COMBO" if isinstance(spec[0], list) else spec[0]


def options(spec: list) -> Mapping[str, Any]:
    """An input's option dict (min, max, options, control_after_generate, ...); empty when it has none."""
    return spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}


def combo_values(spec: list) -> list | None:
    """The allowed values of a combo input, or None when the input is not a combo."""
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO":
        return list(options(spec).get("options", []))
    return None


def without_combo_values(spec: list) -> list:
    """A copy of a combo input's spec that allows no value (its options list one machine's files)."""
    if isinstance(spec[0], list):
        return [[], *spec[1:]]
    if len(spec) > 1 and isinstance(spec[1], Mapping):
        return [spec[0], {**spec[1], "options": []}, *spec[2:]]
    return list(spec)


def declared(sections: Mapping[str, Any]) -> tuple[dict[str, list], set[str]]:
    """All inputs an ``input`` section declares, by name, and the names that are required."""
    required = dict(sections.get("required", {}))
    return {**sections.get("optional", {}), **required}, set(required)


def input_names(entry: Mapping[str, Any]) -> list[str]:
    """A class's input names in the catalogue's order: required, then optional."""
    order = entry.get("input_order") or {s: list(entry["input"].get(s, {})) for s in ("required", "optional")}
    return [*order.get("required", []), *order.get("optional", [])]


def input_spec(entry: Mapping[str, Any], name: str) -> list | None:
    """The spec of one top-level input of a class, or None."""
    sections = entry.get("input", {})
    return sections.get("required", {}).get(name) or sections.get("optional", {}).get(name)
