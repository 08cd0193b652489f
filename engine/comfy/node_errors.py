"""Turn ComfyUI's validation answers (400 / 200 with node_errors) into one readable line per node."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

ParametersFor = Callable[[str, Sequence[str]], list[str]]
"""(node id, failing input names) -> the request fields mapped there (Rendered.parameters_for)."""


def _lower_first(text: str) -> str:
    """'Value 5 bigger than max' -> 'value 5 bigger than max' so it reads inside a sentence."""
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _describe_error(error: Mapping[str, Any]) -> str:
    """One ComfyUI error dict -> 'input width: value 20000 bigger than max of 16384'."""
    extra = error.get("extra_info") or {}
    input_name = str(extra.get("input_name") or "")
    message = _lower_first(str(error.get("message") or error.get("type") or "invalid").strip())
    details = str(error.get("details") or "").strip()
    for separator in (": ", ", "):
        if input_name and details.startswith(input_name + separator):
            details = details[len(input_name) + len(separator):]
    if details and details not in input_name and details not in message:
        message = f"{message}: {details}"
    return f"input {input_name}: {message}" if input_name else message


def _parameters_note(node_id: str, parameters_for: ParametersFor | None, inputs: Sequence[str] = ()) -> str:
    """' (request parameter: seed)' when the failing node or input is written from the request."""
    names = parameters_for(node_id, inputs) if parameters_for else []
    if not names:
        return ""
    label = "parameter" if len(names) == 1 else "parameters"
    return f" (request {label}: {', '.join(names)})"


def _node_label(node_id: str, class_type: str | None) -> str:
    """'node 92:123 (RandomNoise)'."""
    return f"node {node_id} ({class_type})" if class_type else f"node {node_id}"


def node_error_lines(
    node_errors: Mapping[str, Any],
    graph: Mapping[str, Any] | None = None,
    parameters_for: ParametersFor | None = None,
) -> list[str]:
    """One line per failing node, its errors joined with '; ', naming mapped request parameters."""
    lines = []
    for node_id, entry in node_errors.items():
        class_type = entry.get("class_type") or ((graph or {}).get(node_id) or {}).get("class_type")
        errors = entry.get("errors") or []
        text = "; ".join(_describe_error(e) for e in errors) or "invalid"
        inputs = [str((e.get("extra_info") or {}).get("input_name")) for e in errors]
        lines.append(f"{_node_label(node_id, class_type)} {text}{_parameters_note(node_id, parameters_for, inputs)}")
    return lines


def format_rejection(
    status: int,
    body: Any,
    graph: Mapping[str, Any] | None = None,
    parameters_for: ParametersFor | None = None,
) -> str:
    """The caller's message for a refused POST /prompt: a summary line, then one line per node."""
    if not isinstance(body, dict):
        text = " ".join(str(body).split())[:300] or "empty body"
        return f"ComfyUI rejected the workflow (HTTP {status}): {text}"
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    lines = node_error_lines(body.get("node_errors") or {}, graph, parameters_for)
    summary = f" ({str(error['message']).rstrip('.')})" if error.get("message") else ""
    if not lines:
        extra = error.get("extra_info") or {}
        node_id = extra.get("node_id")
        detail = str(error.get("message") or error.get("type") or body)
        if node_id:
            label = _node_label(str(node_id), extra.get("class_type"))
            detail = f"{label}: {detail}{_parameters_note(str(node_id), parameters_for)}"
        return f"ComfyUI rejected the workflow: {detail}"
    return "\n".join([f"ComfyUI rejected the workflow{summary}:", *lines])
