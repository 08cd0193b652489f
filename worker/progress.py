"""Progress: ComfyUI websocket events -> stage / step / percent payloads, throttled before they reach RunPod."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

SAMPLER_CLASSES = frozenset({"SamplerCustomAdvanced", "SamplerCustom", "KSampler", "KSamplerAdvanced"})
SAMPLING_WEIGHT = 90.0  # percent of the bar given to sampler steps; the other nodes share the rest


class ProgressTracker:
    """Follows one prompt's events and computes where it is: stage k/n, step i/m, overall percent.

    Sampler nodes are the stages (in the order they start) and carry 90 % of the bar, split evenly;
    all other nodes share the remaining 10 %. Without samplers every node weighs the same.
    """

    def __init__(self, graph: Mapping[str, Any]):
        self.class_of = {node_id: str(node.get("class_type", "")) for node_id, node in graph.items()}
        self.samplers = {n for n, c in self.class_of.items() if c in SAMPLER_CLASSES}
        self.others = len(self.class_of) - len(self.samplers)
        self.stage_of: dict[str, int] = {}
        self.done: set[str] = set()
        self.node: str | None = None
        self.step = 0
        self.steps = 0

    def _fraction(self) -> float:
        """The current node's completed fraction (from its last progress message)."""
        return self.step / self.steps if self.steps else 0.0

    def percent(self) -> int:
        """Overall percent, 0..99 (100 is the finished result, not a progress update)."""
        current = self._fraction()
        if self.samplers:
            done_samplers = len(self.done & self.samplers) + (current if self.node in self.samplers else 0.0)
            done_others = len(self.done - self.samplers) + (current if self.node not in self.samplers else 0.0)
            value = SAMPLING_WEIGHT * done_samplers / len(self.samplers)
            value += (100.0 - SAMPLING_WEIGHT) * done_others / max(self.others, 1)
        else:
            value = 100.0 * (len(self.done) + current) / max(len(self.class_of), 1)
        return max(0, min(99, int(value)))

    def update(self, event: str, data: Mapping[str, Any]) -> dict | None:
        """Apply one websocket event; returns the new progress payload, or None if nothing changed."""
        if event == "execution_cached":
            self.done.update(n for n in data.get("nodes") or [] if n in self.class_of)
        elif event == "executing" and data.get("node") is not None:
            if self.node is not None:
                self.done.add(self.node)
            self.node, self.step, self.steps = str(data["node"]), 0, 0
            if self.node in self.samplers and self.node not in self.stage_of:
                self.stage_of[self.node] = len(self.stage_of) + 1
        elif event == "progress" and data.get("node") is not None:
            self.node = str(data["node"])
            self.step, self.steps = int(data.get("value") or 0), int(data.get("max") or 0)
        elif event != "execution_start":
            return None
        return self.payload(event)

    def payload(self, event: str = "") -> dict:
        """The progress value sent to RunPod (shown to callers polling /status)."""
        percent = self.percent()
        if event == "execution_start" or self.node is None:
            return {"status": "running", "percent": percent, "message": f"started, {percent}%"}
        out: dict[str, Any] = {"status": "running", "node": self.node, "node_type": self.class_of.get(self.node),
                               "percent": percent}
        parts = []
        if self.node in self.stage_of:
            out.update(status="sampling", stage=self.stage_of[self.node], stages=len(self.samplers))
            parts.append(f"stage {out['stage']}/{out['stages']}")
        else:
            parts.append(f"node {self.node} ({out['node_type']})")
        if self.steps:
            out.update(step=self.step, steps=self.steps)
            parts.append(f"step {self.step}/{self.steps}")
        out["message"] = ", ".join(parts + [f"{percent}%"])
        return out


class Throttle:
    """Pass at most one payload per ``interval`` seconds to ``send`` (progress_update costs a thread + HTTP call)."""

    def __init__(self, send: Callable[[dict], None], interval: float,
                 clock: Callable[[], float] = time.monotonic):
        self.send = send
        self.interval = interval
        self.clock = clock
        self.last_sent: float | None = None
        self.pending: dict | None = None
        self.sent = 0

    def __call__(self, payload: dict) -> bool:
        """Send now if the interval has passed since the last send, else keep it as pending."""
        now = self.clock()
        if self.last_sent is not None and now - self.last_sent < self.interval:
            self.pending = payload
            return False
        self.last_sent, self.pending = now, None
        self.sent += 1
        self.send(payload)
        return True

    def flush(self) -> bool:
        """Send the held-back payload once the interval allows (so a quiet phase shows the latest state)."""
        return self(self.pending) if self.pending is not None else False


class ProgressReporter:
    """Websocket event callback: tracks progress and forwards it, throttled."""

    def __init__(self, graph: Mapping[str, Any], send: Callable[[dict], None], interval: float,
                 clock: Callable[[], float] = time.monotonic):
        self.tracker = ProgressTracker(graph)
        self.throttle = Throttle(send, interval, clock)

    def __call__(self, event: str, data: Mapping[str, Any]) -> None:
        """Feed one event; sends a payload when it changed something and the throttle allows."""
        payload = self.tracker.update(event, data)
        if payload is not None:
            self.throttle(payload)

    def idle(self) -> None:
        """Called when ComfyUI has been quiet for a while: deliver the latest held-back state."""
        self.throttle.flush()
