"""The fake keeps to RunPod's documented endpoint API, and to the worker API the runpod SDK's job loop uses."""

from __future__ import annotations

import requests

from tests.client.conftest import completed
from tests.client.fake_runpod import Answer
from tests.client.helpers import wait_until


def call(runpod, method: str, path: str, body=None, key: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {runpod.api_key if key is None else key}"}
    return requests.request(method, runpod.url + path, json=body, headers=headers, timeout=10)


def take(runpod) -> requests.Response:
    """GET job-take as the SDK does (its URL, the worker's key)."""
    url = runpod.worker_env()["RUNPOD_WEBHOOK_GET_JOB"].replace("$ID", "fake-worker") + "&job_in_progress=0"
    return requests.get(url, headers={"Authorization": runpod.worker_key}, timeout=10)


def test_run_status_cancel_and_runsync_answer_as_runpod_documents(runpod):
    assert call(runpod, "POST", "/run", {"input": {}}, key="wrong").status_code == 401
    assert call(runpod, "POST", "/run", {"prompt": "no input"}).status_code == 400
    runpod.script = [Answer("IN_PROGRESS", {"percent": 5}), completed()]
    queued = call(runpod, "POST", "/run", {"input": {"workflow": "smoke"}}).json()
    assert set(queued) == {"id", "status"} and queued["status"] == "IN_QUEUE"
    first = call(runpod, "GET", f"/status/{queued['id']}").json()
    assert (first["status"], first["output"]) == ("IN_PROGRESS", {"percent": 5})
    done = call(runpod, "POST", f"/status/{queued['id']}").json()
    assert done["status"] == "COMPLETED" and {"delayTime", "executionTime", "output"} <= set(done)
    assert call(runpod, "GET", f"/status/{queued['id']}").json()["status"] == "COMPLETED"
    assert call(runpod, "POST", f"/cancel/{queued['id']}").json() == {"id": queued["id"], "status": "COMPLETED"}
    assert call(runpod, "GET", "/status/unknown").status_code == 404
    synced = call(runpod, "POST", "/runsync", {"input": {}}).json()
    assert synced["status"] == "COMPLETED" and "video" in synced["output"]
    assert call(runpod, "GET", "/health").json()["jobs"]["completed"] == 2


def test_a_queued_job_is_taken_by_a_worker_and_a_cancel_becomes_its_stop_signal(runpod):
    queued = call(runpod, "POST", "/run", {"input": {"workflow": "smoke"}}).json()
    assert take(runpod).json() == {"id": queued["id"], "input": {"workflow": "smoke"}}
    assert take(runpod).status_code == 204  # nothing else queued
    assert call(runpod, "GET", f"/status/{queued['id']}").json()["status"] == "IN_PROGRESS"
    assert call(runpod, "POST", f"/cancel/{queued['id']}").json()["status"] == "CANCELLED"
    stop_url = runpod.worker_env()["RUNPOD_WEBHOOK_GET_JOB"].replace("/job-take/", "/job-stop/")
    stops = requests.get(stop_url.replace("$ID", "fake-worker"), headers={"Authorization": runpod.worker_key})
    assert stops.json() == {"jobsToStop": [queued["id"]]}


def test_progress_posts_show_in_status_and_an_execution_timeout_times_the_job_out(runpod):
    queued = call(runpod, "POST", "/run", {"input": {}, "policy": {"executionTimeout": 200}}).json()
    take(runpod)
    done_url = (runpod.worker_env()["RUNPOD_WEBHOOK_POST_OUTPUT"].replace("$RUNPOD_POD_ID", "fake-worker")
                .replace("$ID", queued["id"]) + "&isStream=false")
    posted = requests.post(done_url, data='{"status": "IN_PROGRESS", "output": {"percent": 40}}',
                           headers={"Authorization": runpod.worker_key,
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert posted.status_code == 200
    assert call(runpod, "GET", f"/status/{queued['id']}").json()["output"] == {"percent": 40}
    wait_until(lambda: runpod.status_of(queued["id"]) == "TIMED_OUT", "RunPod's execution timeout")
    requests.post(done_url, data='{"output": {"video": "late"}}', headers={"Authorization": runpod.worker_key})
    assert call(runpod, "GET", f"/status/{queued['id']}").json()["status"] == "TIMED_OUT"
