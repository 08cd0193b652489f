"""Every error the project raises on purpose, in one tree; ``str()`` is the message for whoever must act.

    Error                       root: the message is one line (or one headline plus one line per problem)
    ├── RequestError            the caller's request is invalid: names the field and the rule
    │   └── ImageInputError     the request's image cannot be used (URL, download, content)
    ├── SpecError               the author's spec, template, schema or manifest is wrong (found at load or lint)
    │   ├── ExpressionError     a spec expression failed on a request the schema accepted
    │   ├── RenderError         a rendered patch did not fit the template
    │   └── WorkflowImportError a UI-format workflow cannot be converted faithfully
    ├── ConfigError             an operator setting (environment variable, command-line option) is wrong
    ├── WorkerError             one job's I/O failed; ``refresh_worker`` asks RunPod for a fresh worker
    │   ├── ComfyUnreachable    ComfyUI does not answer (refresh_worker)
    │   ├── ComfyRejected       ComfyUI refused the graph at validation
    │   ├── ComfyFailed         ComfyUI ran the graph and it failed, was interrupted or made no output
    │   ├── JobTimeout          the job ran past its deadline
    │   └── DeliveryError       the video exists but cannot be returned
    └── DeployError             the container cannot start serving
        ├── PreflightError      the running ComfyUI lacks what the enabled workflows need
        └── DownloadError       model files could not be fetched

The tree lives here, in the bottom layer, because every layer raises from it: the pure history
parser raises ComfyFailed, the worker RequestError. Each layer's boundary turns the tree into its
own outcome once: the worker's job into ``{"error": ...}``, the CLI and the container start-up
into a line on stderr and exit 1. Anything else that escapes is a bug. The caller's client adds its
own two under the same root (client/errors.py: JobError, EndpointError).
"""

from __future__ import annotations

from typing import Sequence

from .quote import one_line


class Error(Exception):
    """Root of every error raised on purpose; str() is the caller-facing message."""


class RequestError(Error):
    """The request is invalid: names the field and the rule it broke, on one line of at most 300 characters."""

    def __init__(self, field: str, rule: str):
        self.field = field
        self.rule = rule
        super().__init__(one_line(f"{field}: {rule}" if field else rule))


class ImageInputError(RequestError):
    """The request's input image cannot be used (bad URL, blocked address, too big, not an image)."""


class SpecError(Error):
    """The spec, a template or a schema is wrong: a workflow author's mistake.

    Carries every problem found (one line each) so lint can print them all.
    """

    def __init__(self, problems: Sequence[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        first = self.problems[0] if self.problems else "invalid spec"
        more = len(self.problems) - 1
        super().__init__(first if more == 0 else f"{first} (and {more} more problem(s))")


class ExpressionError(SpecError):
    """A spec expression failed on a request the schema accepted (the expression's fault)."""


class RenderError(SpecError):
    """A rendered value or patch did not fit the template (a mapping bug, caught before the GPU)."""


class WorkflowImportError(SpecError):
    """A UI workflow that cannot be converted faithfully; the message names the node."""


class ConfigError(Error):
    """An environment variable or command-line option is missing, malformed or inconsistent."""


class WorkerError(Error):
    """A job's I/O failed. ``refresh_worker`` tells RunPod to replace this worker (ComfyUI is dead or wedged)."""

    refresh_worker: bool = False

    def __init__(self, message: str, *, refresh_worker: bool | None = None):
        super().__init__(message)
        if refresh_worker is not None:
            self.refresh_worker = refresh_worker


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


class DeployError(Error):
    """The worker cannot start serving: says what failed and where to look."""


class PreflightError(DeployError):
    """The worker cannot serve its enabled workflows; one line per problem after the headline."""

    def __init__(self, headline: str, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join([headline, *(f"  - {p}" for p in self.problems)]))


class DownloadError(DeployError):
    """One or more model files could not be fetched: one line per file, naming it and what to do."""

    def __init__(self, problems: Sequence[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))
