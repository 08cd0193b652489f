"""Fixtures of the client's tests: the fake RunPod endpoint, scripts of real worker progress, the CLI's env."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.client.fake_runpod import Answer, FakeRunPod
from tests.client.helpers import MP4, b64, clean_env
from tests.support import sampler_graph

METADATA = {"workflow": "ltx2-t2v-fast", "seed": 42, "width": 1280, "height": 704, "frames": 241, "fps": 24,
            "duration_s": 10.0, "camera_lora": "static", "enhance_prompt": True,
            "enhanced_prompt": "A red fox trots across fresh snow at dawn, its breath visible.",
            "timings": {"queue_wait_s": 0.01, "execution_s": 84.2, "total_s": 85.1}}
"""A result's metadata as the worker reports it (docs/handler.md, "Result")."""
REQUEST = '{"prompt": "A red fox trots across fresh snow at dawn"}'


def worker_progress() -> list[dict]:
    """Progress payloads exactly as the worker computes them (worker/progress.py) for a two-stage graph."""
    from worker.progress import ProgressTracker

    tracker = ProgressTracker(sampler_graph())
    events = [("execution_start", {}), ("executing", {"node": "92:10"}),
              ("progress", {"node": "92:10", "value": 5, "max": 8}), ("executing", {"node": "92:20"}),
              ("progress", {"node": "92:20", "value": 2, "max": 3}), ("executing", {"node": "2"})]
    return [tracker.update(event, data) for event, data in events]


def walk(end: Answer, progress: list[dict] | None = None) -> list[Answer]:
    """A job's /status answers: queued, running without progress, each progress payload, then ``end``."""
    payloads = worker_progress() if progress is None else progress
    return [Answer("IN_QUEUE"), Answer("IN_PROGRESS"), *(Answer("IN_PROGRESS", p) for p in payloads), end]


def completed(**extra) -> Answer:
    return Answer("COMPLETED", {"video": b64(MP4), **METADATA, **extra})


@pytest.fixture
def runpod():
    """The fake RunPod endpoint on loopback."""
    with FakeRunPod() as server:
        yield server


@pytest.fixture
def env(runpod) -> dict[str, str]:
    """The client's environment: RUNPOD_API_KEY is the fake's caller key."""
    return clean_env(RUNPOD_API_KEY=runpod.api_key)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where the video goes; the folder holds nothing else, so a leftover temporary file shows."""
    folder = tmp_path / "videos"
    folder.mkdir()
    return folder / "out.mp4"
