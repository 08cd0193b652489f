"""The widgets ComfyUI's frontend (1.45.20, the one ComfyUI 0.27.0 serves) gives a node, and their values.

The importer needs exactly what the editor holds after opening a workflow, because Export (API)
writes the node's widget values. The rules, from the frontend's source (``litegraphService.ts``
``addInputs``, ``scripts/widgets.ts``, ``core/graph/widgets/dynamicWidgets.ts``, the core
extensions under ``extensions/core/``) and checked class by class against the widgets the real
frontend creates (tests/engine/comfy/test_importer_library.py):

- Inputs are taken in the catalogue's ``input_order`` (required, then optional), then the inputs
  extensions add (an upload button, an audio player, a 3D view). An input gets a widget when its
  type (or ``widgetType``) has a widget constructor and it is not ``forceInput``; INT inputs named
  ``seed``/``noise_seed`` or with ``control_after_generate`` (FLOAT and COMBO: with it) get a
  ``control_after_generate`` companion. A dynamic combo's chosen option adds its sub-inputs'
  widgets, as ``combo.sub``, right after the combo.
- A new widget holds its default: the input's ``default``, else 0 (numbers), false, "" or the
  combo's first option (a combo with no options and no default has none: JavaScript
  ``undefined``, left out of the export).
- Loading assigns ``widgets_values`` in widget order to every widget that takes a slot
  (``widget.serialize !== false``) until the values run out: widgets without a saved value keep
  their default. Setting a dynamic combo swaps its sub-widgets at once, so the next values go to
  the new ones. A file saved before an input became ``forceInput`` has its value dropped first
  (``migrateWidgetsValues``).
- Export (API) writes every widget whose ``options.serialize`` is not false, under its name: lists
  boxed as ``{"__value__": [...]}`` (a curve's as ``{"__type__": "CURVE", ...}``), multiline
  prompts through the dynamic-prompt pass (comments removed), save nodes' ``filename_prefix``
  through the ``%Node.widget%`` replacement (done by the importer, which sees the whole graph).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping

from . import input_spec as ispec

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<undefined>"})()
"""A widget value JavaScript holds as ``undefined``: JSON.stringify leaves such an input out."""

DYNAMIC_COMBO = ispec.DYNAMIC_COMBO
VALUE_TYPES = frozenset({"INT", "FLOAT", "BOOLEAN", "STRING", "COMBO", "MARKDOWN", "COLOR", "CURVE",
                         "BOUNDING_BOX", "BOUNDING_BOXES", "CHART", "GALLERIA", "PAINTER", "TEXTAREA",
                         "RANGE", "COLORS"})
"""Input types whose widget takes a saved value and is exported (``ComfyWidgets`` in scripts/widgets.ts)."""
UI_WIDGETS: Mapping[str, tuple[bool, bool, Any]] = {
    "IMAGEUPLOAD": (True, False, "image"),
    "AUDIOUPLOAD": (True, False, MISSING),
    "AUDIO_UI": (False, True, ""),
    "AUDIO_RECORD": (True, True, ""),  # and a second, unexported widget of the same name
    "IMAGECOMPARE": (False, True, ["", ""]),
    "PREVIEW_3D": (True, True, ""),
    "LOAD_3D": (True, True, ""),
    "LOAD_3D_ADVANCED": (True, True, ""),
    "WEBCAM": (True, True, ""),
}
"""Widgets of the frontend's own input types: (takes a saved value, exported, value on export).
Their values are the frontend's (an upload button, an audio player, a rendered 3D view); a value
of the 3D views and the webcam is replaced at export by what the editor renders and uploads then,
which the importer cannot know (docs/authoring.md lists the workflows this concerns)."""
AUDIO_PLAYER_CLASSES = frozenset({"LoadAudio", "SaveAudio", "PreviewAudio", "SaveAudioMP3", "SaveAudioOpus",
                                  "SaveAudioAdvanced"})
"""Classes the uploadAudio extension gives an ``audioUI`` player (extensions/core/uploadAudio.ts)."""
PREVIEW_3D_CLASSES = frozenset({"Preview3D", "SaveGLB"})
"""Classes the load3d and saveMesh extensions give an ``image`` 3D view."""
MEDIA_UPLOAD_FLAGS = ("image_upload", "video_upload", "animated_image_upload")
LEGACY_SEED_NAMES = frozenset({"seed", "noise_seed"})
"""INT inputs that get a control_after_generate companion when the catalogue says nothing."""
SAVE_CLASSES = frozenset({"SaveImage", "SaveImageAdvanced", "SaveSVGNode", "SaveVideo", "SaveAnimatedWEBP",
                          "SaveWEBM", "SaveAudio", "SaveAudioMP3", "SaveAudioOpus", "SaveAudioAdvanced",
                          "SaveGLB", "SaveAnimatedPNG", "CLIPSave", "VAESave", "ModelSave", "LoraSave",
                          "SaveLatent"})
"""Classes whose ``filename_prefix`` gets the ``%Node.widget%`` replacement (saveImageExtraOutput.ts)."""


@dataclass(frozen=True)
class Extra:
    """A widget a core extension adds when the node is created (``nodeCreated``/``onNodeCreated``)."""

    name: str
    after: str | None
    slot: bool
    exported: bool
    value: Any = MISSING


EXTENSION_WIDGETS: Mapping[str, tuple[Extra, ...]] = {
    "CustomCombo": (Extra("index", "choice", True, True), Extra("option1", "index", True, True, "")),
    "ImageCropV2": tuple(Extra(n, None, True, False, 0) for n in ("x", "y", "width", "height")),
    "Load3D": (Extra("upload 3d model", "model_file", True, True, "upload3dmodel"),
               Extra("upload extra resources", "upload 3d model", True, True, "uploadExtraResources"),
               Extra("clear", "upload extra resources", True, True, "clear")),
    "LoadImageOutput": (Extra("Auto-refresh after generation", "image", True, False, False),
                        Extra("refresh", "Auto-refresh after generation", True, True, "refresh")),
    "PreviewAny": (Extra("preview_markdown", None, False, False), Extra("preview_text", None, False, False),
                   Extra("previewMode", None, True, False, False)),
    "WebcamCapture": (Extra("waiting for camera...", None, True, True, "capture"),),
}
"""Per class, the widgets its core extension creates besides the catalogue's (``after``: placed
right after that widget, else at the end). CustomCombo's ``index`` is computed at export and its
``optionN`` list grows while values are assigned (extensions/core/customWidgets.ts)."""


@dataclass(frozen=True)
class Widget:
    """One widget of a node: its name, value and how the frontend treats it."""

    name: str
    value: Any
    slot: bool
    """Takes a position in ``widgets_values`` (``widget.serialize !== false``)."""
    exported: bool
    """Written into the API prompt (``widget.options.serialize !== false``)."""
    spec: list | None = None
    """The input spec it stands for; None for a UI-only widget."""
    control: bool = False
    """A control_after_generate companion."""

    @property
    def kind(self) -> str:
        """The input type the widget edits ('' for a UI-only widget)."""
        return widget_kind(self.spec) if self.spec is not None else ""


def widget_kind(spec: list) -> str:
    """The widget type an input asks for: its ``widgetType`` option, else its type."""
    return ispec.options(spec).get("widgetType") or ispec.kind(spec)


def ordered_inputs(class_type: str, entry: Mapping[str, Any]) -> list[tuple[str, list]]:
    """A class's inputs in the frontend's widget order, with the inputs its extensions add at the end."""
    sections = entry.get("input", {})
    order = entry.get("input_order") or {}
    found: list[tuple[str, list]] = []
    for section in ("required", "optional"):
        inputs = sections.get(section, {})
        found += [(name, inputs[name]) for name in order.get(section, inputs) if name in inputs]
    seen = {name for name, _ in found}
    found += [(n, s) for section in ("required", "optional") for n, s in sections.get(section, {}).items()
              if n not in seen]
    required = sections.get("required", {})
    replaced = {name: spec for name, spec in _extension_inputs(class_type, {}) if name in required}
    found = [(name, replaced.get(name, spec)) for name, spec in found]
    return found + _extension_inputs(class_type, required)


def _extension_inputs(class_type: str, required: Mapping[str, list]) -> list[tuple[str, list]]:
    """The inputs core extensions add to a class's definition (``beforeRegisterNodeDef``)."""
    added: list[tuple[str, list]] = []
    media = next((s for s in required.values() if _is_media_upload(s)), None)
    if media is not None:
        added.append(("upload", ["IMAGEUPLOAD", {}]))
    if class_type in AUDIO_PLAYER_CLASSES:
        added.append(("audioUI", ["AUDIO_UI", {}]))
    if any(ispec.options(s).get("audio_upload") is True for s in required.values()):
        added.append(("upload", ["AUDIOUPLOAD", {}]))
    if class_type in PREVIEW_3D_CLASSES:
        added.append(("image", ["PREVIEW_3D", {}]))
    if class_type == "Load3DAdvanced":
        added.append(("viewport_state", ["LOAD_3D_ADVANCED", {}]))
    return [(name, spec) for name, spec in added if name not in required]


def _is_media_upload(spec: list) -> bool:
    """Whether an input is a file combo with an upload button (``isMediaUploadComboInput``)."""
    options = ispec.options(spec)
    return any(options.get(flag) is True for flag in MEDIA_UPLOAD_FLAGS) and ispec.kind(spec) == "COMBO"


def has_widget(spec: list) -> bool:
    """Whether the frontend gives this input a widget (a linked one keeps its widget)."""
    kind = widget_kind(spec)
    return not ispec.options(spec).get("forceInput") and (kind in VALUE_TYPES or kind in UI_WIDGETS
                                                           or kind == DYNAMIC_COMBO)


def default_value(spec: list) -> Any:
    """What a new widget holds before a saved value is assigned."""
    kind = widget_kind(spec)
    options = ispec.options(spec)
    if kind in UI_WIDGETS:
        return UI_WIDGETS[kind][2]
    if kind == DYNAMIC_COMBO:
        keys = [o["key"] for o in options.get("options", [])]
        return keys[0] if keys else MISSING
    if kind == "COMBO":
        values = ispec.combo_values(spec) or []
        if options.get("default"):
            return options["default"]
        return values[0] if values else ("Loading..." if options.get("remote") else MISSING)
    fallback = {"INT": 0, "FLOAT": 0, "BOOLEAN": False, "COLOR": "#000000"}.get(kind, "")
    default = options.get("default", MISSING)
    if kind in ("INT", "FLOAT", "BOOLEAN", "STRING", "COLOR", "MARKDOWN"):
        return fallback if default is MISSING or default is None else default
    return default if default is not MISSING else (fallback if kind in ("STRING", "TEXTAREA") else MISSING)


def _has_control(name: str, spec: list) -> bool:
    """Whether a widget gets a control_after_generate companion."""
    kind = widget_kind(spec)
    control = ispec.options(spec).get("control_after_generate")
    if kind == "INT":
        return bool(name in LEGACY_SEED_NAMES if control is None else control)
    return kind in ("FLOAT", "COMBO") and bool(control)


def input_widgets(name: str, spec: list) -> list[Widget]:
    """The widgets one input gets, its companions and (dynamic combo) its default option's sub-widgets."""
    if not has_widget(spec):
        return []
    kind = widget_kind(spec)
    slot, exported = UI_WIDGETS[kind][:2] if kind in UI_WIDGETS else (True, True)
    widgets = [Widget(name, default_value(spec), slot, exported, spec)]
    if kind == "AUDIO_RECORD":
        widgets.append(Widget(name, MISSING, True, False))
    if _has_control(name, spec):
        control = ispec.options(spec).get("control_after_generate")
        named = isinstance(control, str)
        widgets.append(Widget(control if named else "control_after_generate", control if named else "randomize",
                              True, False, None, control=True))
    if kind == DYNAMIC_COMBO:
        widgets += option_widgets(name, spec, widgets[0].value)
    return widgets


def option_widgets(name: str, spec: list, key: Any) -> list[Widget]:
    """The sub-widgets of a dynamic combo's option ``key`` (none for a value that is no option)."""
    option = next((o for o in ispec.options(spec).get("options", []) if o["key"] == key), None)
    if option is None:
        return []
    sections = option.get("inputs") or {}
    return [w for section in ("required", "optional") for sub, sub_spec in (sections.get(section) or {}).items()
            for w in input_widgets(f"{name}.{sub}", sub_spec)]


def node_widgets(class_type: str, entry: Mapping[str, Any]) -> list[Widget]:
    """A new node's widgets, in order, holding their defaults."""
    widgets = [w for name, spec in ordered_inputs(class_type, entry) for w in input_widgets(name, spec)]
    for extra in EXTENSION_WIDGETS.get(class_type, ()):
        widget = Widget(extra.name, extra.value, extra.slot, extra.exported)
        names = [w.name for w in widgets]
        widgets.insert(names.index(extra.after) + 1 if extra.after in names else len(widgets), widget)
    return widgets


def migrate_values(entry: Mapping[str, Any], widgets: list[Widget], values: list) -> list:
    """Drop the values a file saved for inputs that are now ``forceInput`` (``migrateWidgetsValues``)."""
    names = {w.name for w in widgets}
    positions: list[bool] = []
    for section in ("required", "optional"):
        for name, spec in (entry.get("input", {}).get(section) or {}).items():
            forced = bool(ispec.options(spec).get("forceInput"))
            if name in names or forced:
                positions += [forced, False] if ispec.options(spec).get("control_after_generate") else [forced]
    if len(positions) != len(values):
        return values
    return [value for value, forced in zip(values, positions) if not forced]


def assign(class_type: str, widgets: list[Widget], values: Iterable[Any]) -> tuple[list[Widget], int]:
    """The widgets after ``LGraphNode.configure`` assigns ``widgets_values`` to them, in order, and
    how many values were used."""
    widgets = list(widgets)
    stream = iter(values)
    index = used = 0
    while index < len(widgets):
        widget = widgets[index]
        if widget.slot:
            value = next(stream, MISSING)
            if value is MISSING:
                break
            used += 1
            widgets[index] = widget = replace(widget, value=value)
            if widget.kind == DYNAMIC_COMBO:
                prefix = widget.name + "."
                widgets = [w for w in widgets if not w.name.startswith(prefix)]
                widgets[index + 1:index + 1] = option_widgets(widget.name, widget.spec, value)
            elif class_type == "CustomCombo" and widget.name.startswith("option") and widget is widgets[-1] and value:
                widgets.append(Widget(f"option{len(widgets) - 1}", "", True, True))
        index += 1
    return widgets, used


def fits(widget: Widget, value: Any) -> bool:
    """Whether a value has the type of the input a widget edits (catches values shifted onto the
    wrong widget: a file saved by another ComfyUI version, or a key-sorted catalogue)."""
    kind = widget.kind
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "INT":
        return number and float(value).is_integer()
    if kind == "FLOAT":
        return number
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if kind == "STRING":
        return isinstance(value, str)
    if kind == DYNAMIC_COMBO:
        return value in _combo_options(widget.spec)
    if kind == "COMBO":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return True


def after_load(class_type: str, widgets: list[Widget]) -> list[Widget]:
    """The fixes ``app.loadGraphData`` makes once the graph is configured: an empty combo takes its
    first option; a KSampler's old ``sample_`` sampler names lose the prefix."""
    fixed = []
    for widget in widgets:
        value = widget.value
        if widget.kind in ("COMBO", DYNAMIC_COMBO) and (value is None or value is MISSING):
            values = _combo_options(widget.spec)
            value = values[0] if values else value
        if (class_type in ("KSampler", "KSamplerAdvanced") and widget.name == "sampler_name"
                and isinstance(value, str) and value.startswith("sample_")):
            value = value[len("sample_"):]
        fixed.append(widget if value is widget.value else replace(widget, value=value))
    return fixed


def _combo_options(spec: list) -> list:
    """A combo's values, or a dynamic combo's option keys."""
    if widget_kind(spec) == DYNAMIC_COMBO:
        return [o["key"] for o in ispec.options(spec).get("options", [])]
    return ispec.combo_values(spec) or []


def custom_combo_index(widgets: list[Widget]) -> int:
    """CustomCombo's ``index``: where its choice is among its option widgets, -1 if none."""
    choice = widgets[0].value if widgets else MISSING
    options = [w.value for w in widgets[2:]]
    return options.index(choice) if choice in options else -1


def strip_comments(text: str) -> str:
    """Remove C-style comments, as the frontend's dynamic-prompt pass does before it queues a prompt."""
    return re.sub(r"/\*[\s\S]*?\*/|//.*", "", text)


def dynamic_prompt(text: str) -> tuple[str, bool]:
    """The frontend's ``processDynamicPrompt``: comments removed, each ``{a|b}`` block replaced by one
    of its options, escapes of ``{}|`` undone. Returns the text with each block's first option and
    whether any block had a choice (the frontend picks one at random there)."""
    text = strip_comments(text)
    position, result, chose = 0, "", False

    def escape() -> str:
        nonlocal position
        following = text[position] if position < len(text) else "undefined"
        position += 1
        return "\\" + following

    def block() -> str:
        nonlocal position, chose
        options, choice, depth = [], "", 0
        while position < len(text):
            char = text[position]
            position += 1
            if char == "\\":
                choice += escape()
                continue
            if char == "{":
                depth += 1
            elif char == "}":
                if not depth:
                    break
                depth -= 1
            elif char == "|" and not depth:
                options.append(choice)
                choice = ""
                continue
            choice += char
        options.append(choice)
        inner, inner_chose = dynamic_prompt(options[0])
        chose = chose or inner_chose or len(options) > 1
        return inner

    while position < len(text):
        char = text[position]
        position += 1
        result += escape() if char == "\\" else block() if char == "{" else char
    return re.sub(r"\\([{}|])", r"\1", result), chose


def export_value(class_type: str, widget: Widget, resolve_text: Callable[[str], str]) -> Any:
    """The value Export (API) writes for a widget (``MISSING``: left out).

    A prompt whose ``{a|b}`` choices the frontend would pick at random keeps its text as saved.
    """
    value = widget.value
    options = ispec.options(widget.spec) if widget.spec is not None else {}
    if isinstance(value, str) and options.get("dynamicPrompts") is True:
        processed, chose = dynamic_prompt(value)
        value = value if chose else processed
    if widget.name == "filename_prefix" and class_type in SAVE_CLASSES and isinstance(value, str):
        value = resolve_text(value)
    if isinstance(value, list):
        return {"__type__": "CURVE", "__value__": value} if widget.kind == "CURVE" else {"__value__": value}
    return value
