"""The Python API against the fake RunPod endpoint: progress callbacks, polling backoff, retries, cancel, errors.

The client's ``sleep`` is recorded instead of slept, so the waits it asks for are checked exactly."""

from __future__ import annotations

import re

import pytest

import engine
from client import Client, EndpointError, JobError, JobStatus, Poll, Progress
from tests.client.conftest import METADATA, completed, walk, worker_progress
from tests.client.fake_runpod import Answer
from tests.client.helpers import MP4

REQUEST = {"prompt": "A red fox trots across fresh snow at dawn"}


class Waits(list):
    """A ``sleep`` that records the wait instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


POLL = Poll(first_s=1.0, max_s=4.0, factor=2.0, retries=2)


def client_for(runpod, **kw) -> Client:
    return Client(runpod.url, api_key=runpod.api_key, poll=POLL, sleep=Waits(), **kw)


def test_generate_reports_every_answer_and_returns_the_video_and_metadata(runpod, out):
    runpod.script = walk(completed())
    seen: list[JobStatus] = []
    with client_for(runpod) as client:
        video = client.generate(REQUEST, out, on_progress=seen.append)
    assert video.path == out and video.size == len(MP4) and out.read_bytes() == MP4
    assert video.metadata == METADATA and video.job_id in runpod.jobs
    assert [s.status for s in seen] == ["IN_QUEUE", "IN_QUEUE", "IN_PROGRESS"] + ["IN_PROGRESS"] * len(worker_progress())
    assert [s.progress for s in seen[3:]] == [Progress.from_payload(p) for p in worker_progress()]
    step = next(s.progress for s in seen if s.progress and s.progress.step == 5)
    assert (step.stage, step.stages, step.step, step.steps, step.node_type) == (1, 2, 5, 8, "SamplerCustomAdvanced")
    assert step.where() == "stage 1/2, step 5/8"


def test_polling_backs_off_while_nothing_changes_and_starts_over_on_a_change(runpod, out):
    started = {"status": "running", "percent": 0, "message": "started, 0%"}
    runpod.script = [Answer("IN_QUEUE")] * 4 + [Answer("IN_PROGRESS", started)] * 2 + [completed()]
    with client_for(runpod) as client:
        client.generate(REQUEST, out)
    # after /run: queued x4 (no change: 1, 2, 4, 4), running (a change: back to 1), running again, completed
    assert client.sleep == [1.0, 2.0, 4.0, 4.0, 4.0, 1.0, 2.0]


def test_transient_errors_are_retried_and_too_many_fail_in_one_line(runpod, out):
    runpod.script = walk(completed())
    runpod.status_failures = [503, 502]
    with client_for(runpod) as client:
        assert client.generate(REQUEST, out).metadata == METADATA
    runpod.status_failures = [503, 503, 503]
    with client_for(runpod) as client, pytest.raises(EndpointError) as raised:
        client.generate(REQUEST, out)
    assert raised.value.http_status == 503
    assert str(raised.value).startswith(f"GET {runpod.url}/status/")
    assert str(raised.value).endswith(': HTTP 503: {"error": "service unavailable"}')


def test_the_job_error_carries_the_job_its_status_and_the_workers_message(runpod, out):
    runpod.script = walk(Answer("FAILED", error="ComfyUI is not reachable at http://127.0.0.1:8188: refused"))
    with client_for(runpod) as client, pytest.raises(JobError) as raised:
        client.generate(REQUEST, out)
    job_id = next(iter(runpod.jobs))
    assert (raised.value.job_id, raised.value.status, raised.value.error) == (
        job_id, "FAILED", "ComfyUI is not reachable at http://127.0.0.1:8188: refused")
    assert isinstance(raised.value, engine.Error) and not out.exists()


def test_a_completed_result_without_a_video_is_a_job_error(runpod, out):
    runpod.script = [Answer("COMPLETED", METADATA)]
    with client_for(runpod) as client, pytest.raises(JobError, match="neither video nor video_url"):
        client.generate(REQUEST, out)
    assert not out.exists()


def test_a_bad_request_raises_the_engines_request_error_and_sends_nothing(runpod, out):
    with client_for(runpod) as client, pytest.raises(engine.RequestError) as raised:
        client.generate({"workflow": "smoke", "fps": 0}, out)
    assert raised.value.field == "fps"
    assert runpod.calls == [] and not out.exists()


def test_ctrl_c_cancels_the_job_then_propagates_with_a_note(runpod, out):
    runpod.script = [Answer("IN_PROGRESS", p) for p in worker_progress()]  # runs until cancelled

    def press_ctrl_c(status: JobStatus) -> None:
        if status.progress and status.progress.step:
            raise KeyboardInterrupt

    with client_for(runpod) as client, pytest.raises(KeyboardInterrupt) as raised:
        client.generate(REQUEST, out, on_progress=press_ctrl_c)
    job_id = next(iter(runpod.jobs))
    assert runpod.cancels == [job_id] and runpod.status_of(job_id) == "CANCELLED"
    assert raised.value.__notes__ == [f"cancelled job {job_id} (CANCELLED)"]
    assert not out.exists()


def test_status_and_cancel_verbs(runpod):
    runpod.script = [Answer("IN_PROGRESS", worker_progress()[2]), completed()]
    with client_for(runpod) as client:
        job = client.submit(REQUEST)
        assert job.status == "IN_QUEUE"
        now = client.status(job.id)
        assert now.progress == Progress.from_payload(worker_progress()[2]) and not now.done
        assert client.cancel(job.id).status == "CANCELLED"
        assert client.status(job.id).failure() == "the job was cancelled (CANCELLED)"
        with pytest.raises(EndpointError) as raised:
            client.status("no-such-job")
    assert raised.value.http_status == 404
    assert client.local_api is False


def test_schema_and_workflows_come_from_this_checkouts_spec():
    spec = engine.load_spec()
    assert Client.schema("smoke") == dict(spec.workflows["smoke"].schema)
    assert list(Client.workflows()) == list(spec.workflows)
    with pytest.raises(engine.errors.ConfigError, match="workflow: 'nope' is not one of"):
        Client.schema("nope")


def test_an_endpoint_is_a_url_or_a_runpod_id_and_runpod_needs_a_key(monkeypatch):
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    assert Client(endpoint="abc123", api_key="k").url == "https://api.runpod.ai/v2/abc123"
    monkeypatch.setenv("RUNPOD_API_KEY", "from-env")
    assert Client(endpoint="abc123").http.api_key == "from-env"
    monkeypatch.delenv("RUNPOD_API_KEY")
    for kwargs, message in ((dict(endpoint="abc123"), "set RUNPOD_API_KEY"),
                            (dict(url="ftp://x"), "is not an http(s) URL"),
                            (dict(url="http://x", endpoint="y"), "one of them"),
                            (dict(endpoint="a/b"), "is not a RunPod endpoint id")):
        with pytest.raises(engine.errors.ConfigError, match=re.escape(message)):
            Client(**kwargs)
