"""Remove one job's files from ComfyUI's input and output directories, whatever the job's outcome."""

from __future__ import annotations

import logging
import os
from typing import Iterable

log = logging.getLogger("worker.cleanup")
MIN_JOB_ID_LENGTH = 12  # the job id is matched inside file names: a short one could match other files


def remove_job_files(job_id: str, directories: Iterable[str]) -> list[str]:
    """Delete every file whose name contains ``job_id`` under the directories; returns the removed paths.

    Every input and output name the worker causes contains its unique job id (the upload name it
    chooses, and the output filename_prefix), so this also catches partial files of failed jobs.
    Missing directories (ComfyUI on another machine) are skipped; removal errors are logged, never raised.
    """
    if len(job_id) < MIN_JOB_ID_LENGTH:
        raise ValueError(f"job id {job_id!r} is too short to match files safely")
    removed = []
    for directory in directories:
        if not directory or not os.path.isdir(directory):
            continue
        for folder, _, names in os.walk(directory):
            for name in names:
                if job_id in name:
                    path = os.path.join(folder, name)
                    try:
                        os.remove(path)
                        removed.append(path)
                    except OSError as err:
                        log.warning("could not remove %s: %s", path, err)
    return removed
