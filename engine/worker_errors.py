"""The worker's I/O error hierarchy: str() is the one-line (or one-line-per-node) message for the caller."""

from __future__ import annotations


class WorkerError(Exception):
    """Base of every failure the worker reports on purpose.

    ``refresh_worker`` tells RunPod to replace this worker after the job (ComfyUI is dead or wedged).
    """

    refresh_worker: bool = False

    def __init__(self, message: str, *, refresh_worker: bool | None = None):
        super().__init__(message)
        if refresh_worker is not None:
            self.refresh_worker = refresh_worker


class ConfigError(WorkerError):
    """An environment variable is missing, malformed or inconsistent."""


class ImageInputError(WorkerError):
    """The request's input image cannot be used (bad URL, blocked address, too big, not an image)."""


class ComfyUnreachable(WorkerError):
    """ComfyUI does not answer: the worker cannot run anything and must be replaced."""

    refresh_worker = True


class ComfyRejected(WorkerError):
    """ComfyUI refused the graph at validation (400 or 200 with node_errors)."""


class ComfyFailed(WorkerError):
    """ComfyUI ran the graph and it failed, was interrupted or produced no output."""


class JobTimeout(WorkerError):
    """The job ran past its deadline and was interrupted."""


class DeliveryError(WorkerError):
    """The video exists but cannot be returned (too big inline, upload failed)."""
