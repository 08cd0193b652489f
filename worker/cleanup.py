"""Remove one job's files from ComfyUI's input and output directories, whatever the job's outcome.

The job records what it asked ComfyUI to write (``JobFiles``): the input image names it uploaded
and the output nodes' ``filename_prefix``es. Removal looks only there: the uploaded files by name,
and in each prefix's folder the files ComfyUI's save nodes name after the prefix
(``<prefix>_00001_.mp4``), finished or partial. It never walks the directories, so its cost does not
grow with the files other jobs left on a shared volume.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

log = logging.getLogger("worker.cleanup")
MIN_JOB_ID_LENGTH = 12  # the job id is matched inside file names: a short one could match other files
_COUNTER = re.compile(r"_\d{5,}_\.[^./]+")
"""What ComfyUI's save nodes append to a filename_prefix: ``_00001_.mp4``."""


@dataclass
class JobFiles:
    """What one job asked ComfyUI to write."""

    uploads: list[str] = field(default_factory=list)
    """Input image names relative to ComfyUI's input directory ('<job id>.png', 'sub/<job id>.png')."""
    prefixes: list[str] = field(default_factory=list)
    """Output filename_prefixes relative to ComfyUI's output directory ('smoke/<job id>')."""

    def add_outputs(self, graph: Mapping[str, Any]) -> None:
        """Record the filename_prefix of every node of the graph queued for the job."""
        for node in graph.values():
            prefix = node.get("inputs", {}).get("filename_prefix")
            if isinstance(prefix, str) and prefix not in self.prefixes:
                self.prefixes.append(prefix)


def _within(directory: str, relative: str) -> str | None:
    """``directory/relative`` when it stays inside ``directory`` (or is it), else None."""
    root = os.path.realpath(directory)
    path = os.path.realpath(os.path.join(root, relative))
    return path if os.path.commonpath([root, path]) == root else None


def _remove(path: str, removed: list[str]) -> None:
    try:
        os.remove(path)
        removed.append(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        log.warning("could not remove %s: %s", path, err)


def remove_job_files(job_id: str, directories: Sequence[str], files: JobFiles | None = None) -> list[str]:
    """Delete the job's files; ``directories`` are ComfyUI's input and output directories. Returns the removed paths.

    Only names that contain ``job_id`` are touched (every name the worker chooses does), so a
    template's fixed prefix never costs another job its files. A missing directory (ComfyUI on
    another machine) is skipped; removal errors are logged, never raised.
    """
    if len(job_id) < MIN_JOB_ID_LENGTH:
        raise ValueError(f"job id {job_id!r} is too short to match files safely")
    input_dir, output_dir = directories
    files = files or JobFiles()
    removed: list[str] = []
    for name in files.uploads:
        path = _within(input_dir, name) if input_dir and job_id in os.path.basename(name) else None
        if path is not None:
            _remove(path, removed)
    for prefix in files.prefixes:
        folder = _within(output_dir, os.path.dirname(prefix)) if output_dir and job_id in prefix else None
        if folder is None:
            continue
        name = os.path.basename(prefix)
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # not on this machine, or nothing written yet
        for entry in entries:
            if entry.name.startswith(name) and _COUNTER.fullmatch(entry.name, len(name)) and \
                    entry.is_file(follow_symlinks=False):
                _remove(entry.path, removed)
    return removed
