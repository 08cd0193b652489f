"""The benchmark's results as JSON and as a Markdown table (no torch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = [("case", "case"), ("status", "status"), ("size", "size x frames"), ("wall_s", "wall s"),
           ("execution_s", "ComfyUI s"), ("samplers", "sampler runs s"), ("peak_gpu_mib", "peak GPU MiB"),
           ("decoded", "mp4 decodes as reported")]


def _cell(row: dict[str, Any], key: str) -> str:
    """One table cell; absent values as a dash."""
    if key == "size":
        video = row.get("video") or {}
        return f"{video['width']}x{video['height']} x {video['frames']}" if video.get("width") else "-"
    if key == "samplers":
        runs = row.get("samplers") or []
        return " + ".join(f"{r['seconds']:g} ({r['steps']})" for r in runs) or "-"
    if key == "decoded":
        decoded = row.get("decoded")
        return "-" if decoded is None else ("yes" if decoded else "NO")
    value = row.get(key)
    return "-" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))


def markdown(results: dict[str, Any]) -> str:
    """The results table (one row per case; cases not run are listed as such)."""
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in results["rows"]:
        lines.append("| " + " | ".join(_cell(row, key).replace("|", "/") for key, _ in COLUMNS) + " |")
    notes = [f"- {row['case']}: {row['error']}" for row in results["rows"] if row.get("error")]
    def seconds(key: str) -> str:
        return "-" if results.get(key) is None else f"{results[key]:g} s"
    header = [f"# GPU benchmark: {results.get('device') or 'no GPU'}", "",
              f"Started {results.get('started')}; {seconds('elapsed_s')} in all; weights written in "
              f"{seconds('weights_s')}; ComfyUI started in {seconds('comfyui_start_s')}.", ""]
    return "\n".join(header + lines + ([""] + notes if notes else [])) + "\n"


def write(results: dict[str, Any], out: Path) -> None:
    """results.json and results.md into ``out`` (rewritten after every job, so a cut run keeps its rows)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(markdown(results))
