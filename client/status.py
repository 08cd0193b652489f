"""What the endpoint says about a job: RunPod's status, the worker's progress payload, the result or error."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

QUEUED, RUNNING = "IN_QUEUE", "IN_PROGRESS"
COMPLETED, FAILED, CANCELLED, TIMED_OUT = "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, TIMED_OUT})
WHY = {
    CANCELLED: "the job was cancelled (CANCELLED)",
    TIMED_OUT: "the job ran past the endpoint's execution timeout and RunPod stopped it (TIMED_OUT)",
    FAILED: "the job failed without an error message (FAILED)",
}
"""The error shown when RunPod ends a job without the worker's message."""


@dataclass(frozen=True)
class Progress:
    """The worker's progress payload (worker/progress.py): stage k/n, step i/m, percent 0-99, node."""

    status: str
    percent: int
    message: str = ""
    stage: int | None = None
    stages: int | None = None
    step: int | None = None
    steps: int | None = None
    node: str | None = None
    node_type: str | None = None

    @classmethod
    def from_payload(cls, payload: Any) -> "Progress | None":
        """The payload as a Progress, or None when it is not one (no progress yet, or another worker)."""
        if not isinstance(payload, Mapping) or not isinstance(payload.get("percent"), (int, float)):
            return None
        number = {k: payload[k] for k in ("stage", "stages", "step", "steps") if isinstance(payload.get(k), int)}
        return cls(status=str(payload.get("status", "running")), percent=int(payload["percent"]),
                   message=str(payload.get("message", "")), node=payload.get("node"),
                   node_type=payload.get("node_type"), **number)

    def where(self) -> str:
        """Where the job is, without the percent: 'stage 1/2, step 5/8' or 'node 92:97 (CreateVideo)'."""
        parts = []
        if self.stage is not None and self.stages is not None:
            parts.append(f"stage {self.stage}/{self.stages}")
        elif self.node is not None:
            parts.append(f"node {self.node} ({self.node_type})" if self.node_type else f"node {self.node}")
        if self.step is not None and self.steps:
            parts.append(f"step {self.step}/{self.steps}")
        return ", ".join(parts) or "started"


def sdk_error(error: Any) -> str:
    """The error RunPod reports, readable: the SDK sends a handler's exception as a JSON string."""
    if isinstance(error, str):
        try:
            info = json.loads(error)
        except ValueError:
            return error
        error = info
    if isinstance(error, Mapping) and "error_message" in error:
        kind = str(error.get("error_type", "")).removeprefix("<class '").removesuffix("'>")
        return f"{error['error_message']} ({kind})" if kind else str(error["error_message"])
    return error if isinstance(error, str) else json.dumps(error)


@dataclass(frozen=True)
class JobStatus:
    """One answer of /run, /status or /cancel. ``local_api``: from the worker's local API (no progress there)."""

    id: str
    status: str
    output: Any = None
    error: str | None = None
    local_api: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any], job_id: str | None = None, local_api: bool = False) -> "JobStatus":
        """Parse RunPod's answer ({"id", "status", "output"?, "error"?, ...})."""
        error = answer.get("error")
        return cls(id=str(answer.get("id") or job_id or ""), status=str(answer.get("status", "")),
                   output=answer.get("output"), error=None if error in (None, "") else sdk_error(error),
                   local_api=local_api, raw=dict(answer))

    @property
    def done(self) -> bool:
        """The job has ended (COMPLETED, FAILED, CANCELLED or TIMED_OUT)."""
        return self.status in TERMINAL

    @property
    def progress(self) -> Progress | None:
        """The worker's latest progress while the job runs, if it sent any."""
        return Progress.from_payload(self.output) if self.status == RUNNING else None

    def failure(self) -> str | None:
        """The job's error when it ended without a result, else None."""
        if self.status == COMPLETED:
            if isinstance(self.output, Mapping) and self.output.get("error"):
                return sdk_error(self.output["error"])
            return None
        if self.status in TERMINAL:
            return self.error or WHY.get(self.status, self.status)
        return None

    def shown(self) -> dict[str, Any]:
        """The answer as printed by ``status``: an inline video replaced by its size."""
        answer = dict(self.raw)
        if isinstance(answer.get("output"), Mapping) and isinstance(answer["output"].get("video"), str):
            video = answer["output"]["video"]
            size = len(video) * 3 // 4 - video[-2:].count("=")
            answer["output"] = {**answer["output"], "video": f"<{size} bytes as base64>"}
        return answer
