"""The client's errors, under the project's one root (engine.errors.Error); str() is one line to show.

    JobError        the job ended without a video: FAILED, CANCELLED, TIMED_OUT, or a result with no video
    EndpointError   the endpoint could not be reached, refused the call, or answered something unexpected

A bad request is the engine's own ``engine.errors.RequestError``, raised before anything is sent.
"""

from __future__ import annotations

from engine.errors import Error


def one_line(message: str) -> str:
    """A message on one line: a headline ending in ':' keeps its colon, the lines after it join with '; '."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else ""
    return f"{lines[0]} {'; '.join(lines[1:])}"


class JobError(Error):
    """The job's error: ``status`` is RunPod's final status, ``error`` the worker's message, ``job_id`` the job."""

    def __init__(self, job_id: str | None, status: str, error: str):
        self.job_id = job_id
        self.status = status
        self.error = one_line(error)
        super().__init__(self.error)


class EndpointError(Error):
    """The endpoint could not be reached, refused the call (HTTP status in ``http_status``) or made no sense."""

    def __init__(self, message: str, http_status: int | None = None):
        self.http_status = http_status
        super().__init__(one_line(message))
