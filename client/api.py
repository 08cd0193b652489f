"""The Python API: ``Client(url).generate(input, "out.mp4", on_progress=...)`` and the verbs behind the CLI.

Against RunPod (or anything speaking its endpoint API) a job is sent with POST /run and followed with
GET /status/{id}, polled with backoff, until COMPLETED, FAILED, CANCELLED or TIMED_OUT; POST /cancel/{id}
stops it. The worker's local API (``python handler.py --rp_serve_api``) answers POST only: GET /status
gets 405 there, which is how it is recognised; it then runs the job inside one POST /status/{id}, which
answers when the job has ended (no progress meanwhile), and it has no /cancel.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from . import request
from .errors import EndpointError, JobError
from .http import Endpoint, endpoint_url
from .output import check_target, metadata, write_video
from .status import QUEUED, RUNNING, JobStatus

ProgressCallback = Callable[[JobStatus], None]
"""Called with every answer while the job has not ended (IN_QUEUE, IN_PROGRESS with the worker's progress)."""


@dataclass(frozen=True)
class Poll:
    """How often /status is asked: ``first_s``, then ``factor`` times longer while nothing changes, at most
    ``max_s``; back to ``first_s`` when the status or progress changed. ``retries``: transient errors
    (connection, HTTP 429 or 5xx) in a row tolerated before giving up."""

    first_s: float = 1.0
    max_s: float = 5.0
    factor: float = 1.5
    retries: int = 5

    def next(self, delay: float, changed: bool) -> float:
        """The wait before the next poll."""
        return self.first_s if changed else min(delay * self.factor, self.max_s)


@dataclass(frozen=True)
class Video:
    """What ``generate`` made: the file, its size, the job and the result's metadata (all but the video)."""

    path: Path
    size: int
    job_id: str
    metadata: dict[str, Any]


def transient(error: EndpointError) -> bool:
    """Worth asking again: no answer at all, rate limited, or a server-side error."""
    return error.http_status is None or error.http_status == 429 or error.http_status >= 500


class Client:
    """One endpoint: RunPod's (``endpoint="<id>"`` or its URL, with ``api_key`` or RUNPOD_API_KEY) or a worker's
    local API. ``validate``: check inputs locally first (the worker's messages, nothing sent when wrong)."""

    def __init__(self, url: str | None = None, *, endpoint: str | None = None, api_key: str | None = None,
                 validate: bool = True, poll: Poll = Poll(), sleep: Callable[[float], None] = time.sleep):
        self.http = Endpoint(endpoint_url(url, endpoint), api_key)
        self.url = self.http.url
        self.validate = validate
        self.poll = poll
        self.sleep = sleep
        self.local_api: bool | None = None
        """True once the endpoint turned out to be the worker's local API (None: not known yet)."""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # the verbs

    def submit(self, job_input: Any) -> JobStatus:
        """Validate (unless disabled) and POST /run; the answer (IN_QUEUE, with the job id)."""
        job_input = request.unwrap(job_input)
        if self.validate:
            request.validate(job_input)
        try:
            answer = JobStatus.from_answer(self.http.call("POST", "/run", {"input": job_input}))
        except KeyboardInterrupt as exc:
            exc.add_note("interrupted while sending the job: if the endpoint got it, it runs (no job id came back)")
            raise
        if not answer.id:
            raise EndpointError(f"POST {self.url}/run answered without a job id: {dict(answer.raw)}")
        return answer

    def status(self, job_id: str) -> JobStatus:
        """The job's status now; on the local API this waits for the job (it runs jobs inside /status)."""
        return self._get_status(job_id) or self._run_local(job_id)

    def cancel(self, job_id: str) -> JobStatus:
        """POST /cancel/{id}: RunPod stops the job (the worker takes its prompt back from ComfyUI)."""
        path = f"/cancel/{quote(job_id, safe='')}"
        response = self.http.send("POST", path)
        if response.status_code == 404:
            raise EndpointError(f"POST {self.url}{path}: HTTP 404: no job {job_id} there, or no /cancel at all "
                                "(the worker's local API has none: stop the server to stop its job)", 404)
        return JobStatus.from_answer(self.http.answer(response, "POST", path), job_id)

    def wait(self, job_id: str, on_progress: ProgressCallback | None = None,
             first: JobStatus | None = None) -> dict[str, Any]:
        """Poll until the job ends; its output, or JobError with the job's error."""
        current = first or JobStatus(id=job_id, status=QUEUED)
        delay, errors = self.poll.first_s, 0
        while not current.done:
            if on_progress:
                on_progress(current)
            self.sleep(delay)
            try:
                new = self._get_status(job_id)
                if new is None:
                    local = JobStatus(id=job_id, status=RUNNING, local_api=True)
                    if on_progress:
                        on_progress(local)
                    new = self._run_local(job_id)
            except EndpointError as exc:
                errors += 1
                if not transient(exc) or errors > self.poll.retries:
                    raise
                delay = self.poll.next(delay, changed=False)
                continue
            errors = 0
            delay = self.poll.next(delay, changed=(new.status, new.output) != (current.status, current.output))
            current = new
        failure = current.failure()
        if failure is not None:
            raise JobError(job_id, current.status, failure)
        if not isinstance(current.output, dict):
            raise JobError(job_id, current.status, f"the job's result is not a JSON object: {current.output!r:.200}")
        return current.output

    def generate(self, job_input: Any, output: str | Path, on_progress: ProgressCallback | None = None) -> Video:
        """Send the job, follow it, write its video to ``output`` (complete or not at all); its metadata.

        Ctrl-C (KeyboardInterrupt) cancels the job first, then propagates with a note saying what happened.
        """
        target = check_target(output)
        job = self.submit(job_input)
        try:
            result = self.wait(job.id, on_progress, first=job)
        except KeyboardInterrupt as exc:
            exc.add_note(self._cancel_after_interrupt(job.id))
            raise
        try:
            size = write_video(result, target, job.id)
        except KeyboardInterrupt as exc:
            exc.add_note(f"job {job.id} had finished; interrupted while writing {target}, which was not written")
            raise
        return Video(path=target, size=size, job_id=job.id, metadata=metadata(result))

    # the workflows this checkout knows (the worker has no endpoint for them)

    @staticmethod
    def schema(workflow: str) -> dict[str, Any]:
        """A workflow's request JSON Schema."""
        return request.schema(workflow)

    @staticmethod
    def workflows() -> dict[str, str]:
        """Every workflow name with its description."""
        return request.workflows()

    # the two kinds of endpoint

    def _get_status(self, job_id: str) -> JobStatus | None:
        """GET /status/{id}; None when the endpoint is the local API (it answers GET with 405)."""
        if self.local_api:
            return None
        path = f"/status/{quote(job_id, safe='')}"
        response = self.http.send("GET", path)
        if response.status_code == 405:
            self.local_api = True
            return None
        self.local_api = False
        return JobStatus.from_answer(self.http.answer(response, "GET", path), job_id)

    def _run_local(self, job_id: str) -> JobStatus:
        """POST /status/{id} on the local API: it runs the job and answers at its end (no read timeout)."""
        answer = self.http.call("POST", f"/status/{quote(job_id, safe='')}", read_timeout=None)
        return JobStatus.from_answer(answer, job_id, local_api=True)

    def _cancel_after_interrupt(self, job_id: str) -> str:
        """Cancel the job after Ctrl-C; what happened, for the interrupt's note."""
        if self.local_api:
            return (f"job {job_id} runs on to its end on the worker's local API, which has no /cancel "
                    "(stop the server to stop it)")
        try:
            answer = self.cancel(job_id)
        except EndpointError as exc:
            return f"job {job_id} may still be running: the cancel failed: {exc}"
        return f"cancelled job {job_id} ({answer.status})"
