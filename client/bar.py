"""The terminal progress bar, drawn with tqdm from the worker's progress payloads (stage, step, percent).

tqdm, not rich: it is already installed with the runpod SDK (tqdm-loggable), it draws one line with
carriage returns that any terminal, pseudo-terminal or CI log shows as text, and it turns itself off
when stderr is not a terminal, so piped runs stay quiet.
"""

from __future__ import annotations

import sys
from typing import IO

from tqdm import tqdm

from .status import QUEUED, JobStatus

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {elapsed}"


def describe(status: JobStatus) -> str:
    """The bar's label: queued, where the worker is (stage/step or node), or what the endpoint cannot tell."""
    if status.status == QUEUED:
        return "queued"
    if status.local_api:
        return "running on the worker's local API (no progress until it ends)"
    progress = status.progress
    return progress.where() if progress is not None else "running"


class ProgressBar:
    """An ``on_progress`` callback that draws the bar on ``file`` (by default only when it is a terminal)."""

    def __init__(self, file: IO[str] = sys.stderr, enabled: bool | None = None):
        self.file = file
        self.disable = None if enabled is None else not enabled
        self.bar: tqdm | None = None

    def __call__(self, status: JobStatus) -> None:
        """Show one answer: label and percent, drawn at once (every payload is seen, none throttled away).

        The bar starts with the first answer, so a request refused before sending draws nothing."""
        if self.bar is None:
            self.bar = tqdm(total=100, file=self.file, bar_format=BAR_FORMAT, desc=describe(status), leave=True,
                            dynamic_ncols=True, disable=self.disable)
        progress = status.progress
        if progress is not None:
            self.bar.n = max(0, min(100, progress.percent))
        self.bar.set_description_str(describe(status), refresh=False)
        self.bar.refresh()

    def close(self, done: bool) -> None:
        """End the line: at 100 % when the job completed, where it stopped otherwise."""
        if self.bar is None:
            return
        if done:
            self.bar.n = 100
            self.bar.set_description_str("done", refresh=False)
            self.bar.refresh()
        self.bar.close()
        self.bar = None
