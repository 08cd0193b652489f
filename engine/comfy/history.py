"""Read ComfyUI's /history entries: did the prompt succeed, and which files and texts did its outputs record."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import ComfyFailed

VIDEO_KEYS = ("images", "gifs", "videos")
_VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".gif", ".webp")


def check_history_status(entry: Mapping[str, Any]) -> None:
    """Raise ComfyFailed when the history entry says the prompt failed or was interrupted."""
    status = entry.get("status") or {}
    if status.get("status_str", "success") == "success":
        return
    for kind, data in reversed(status.get("messages") or []):
        node = f"node {data.get('node_id')} ({data.get('node_type')})"
        if kind == "execution_error":
            exc_type = str(data.get("exception_type") or "").rsplit(".", 1)[-1]
            message = " ".join(str(data.get("exception_message") or "").split())
            detail = f"{exc_type}: {message}" if exc_type else message
            raise ComfyFailed(f"ComfyUI failed in {node}: {detail}")
        if kind == "execution_interrupted":
            raise ComfyFailed(f"ComfyUI interrupted the job at {node} (an /interrupt was sent to ComfyUI)")
    raise ComfyFailed(f"ComfyUI reported the job as {status.get('status_str')!r} without a reason")


def find_video(entry: Mapping[str, Any], node_id: str, class_type: str | None = None) -> dict:
    """The output node's video file ({filename, subfolder, type}) from a history entry."""
    output = (entry.get("outputs") or {}).get(node_id) or {}
    for key in VIDEO_KEYS:
        for item in output.get(key) or []:
            if isinstance(item, dict) and str(item.get("filename", "")).lower().endswith(_VIDEO_SUFFIXES):
                return item
    label = f"node {node_id} ({class_type})" if class_type else f"node {node_id}"
    raise ComfyFailed(f"ComfyUI finished but {label} reported no video output")


def find_text(entry: Mapping[str, Any], node_id: str) -> str | list[str] | None:
    """The text an output node (PreviewAny) recorded in a history entry, None when it recorded none.

    ComfyUI records ``{"text": [value]}``: one string, or several when the node ran over a list.
    """
    texts = ((entry.get("outputs") or {}).get(node_id) or {}).get("text")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return None
    return texts[0] if len(texts) == 1 else texts
