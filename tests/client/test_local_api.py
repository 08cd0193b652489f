"""The client against the worker's local API (``python handler.py --rp_serve_api``), as the runpod SDK 1.12
serves it: POST only, the job runs inside POST /status/{id}, no progress meanwhile, no /cancel."""

from __future__ import annotations

import json

import pytest
import requests

from tests.client.helpers import PtyRun, clean_env, comfy_env, error_lines, local_api, run_cli, wait_until
from tests.client.test_progress_bar import frames
from tests.support import files_under
from tests.support.comfyui_standin import MP4_HEADER, ComfyStandIn, Scenario

LOCAL = "running on the worker's local API (no progress until it ends)"


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    inputs, outputs = tmp_path_factory.mktemp("input"), tmp_path_factory.mktemp("output")
    with ComfyStandIn(inputs, outputs) as server:
        yield server


@pytest.fixture(scope="module")
def api(standin, tmp_path_factory) -> str:
    """The local API's URL, its worker pointed at the stand-in."""
    process, url = local_api(comfy_env(standin.url, standin.input_dir, standin.output_dir),
                             tmp_path_factory.mktemp("log") / "local-api.log")
    yield url
    process.stop()


@pytest.fixture(autouse=True)
def succeed(standin):
    standin.scenario = Scenario()


def test_generate_on_the_local_api_writes_the_video(api, standin, out):
    run = PtyRun("generate", "--url", api, "--input", '{"workflow": "smoke", "width": 128, "height": 96}',
                 "--output", str(out), "--poll-first", "0.01", env=clean_env())
    try:
        status, stdout, screen = run.finish()
    finally:
        run.kill()
    assert status == 0, screen
    assert out.read_bytes().startswith(MP4_HEADER)
    metadata = json.loads(stdout)
    assert (metadata["workflow"], metadata["width"], metadata["height"]) == ("smoke", 128, 96)
    labels = [line.split(":")[0] for line in frames(screen) if "%|" in line]
    assert labels[-1] == "done" and LOCAL in labels, frames(screen)
    assert set(labels[labels.index(LOCAL):]) == {LOCAL, "done"}  # nothing more to show until the job ends
    assert files_under(standin.input_dir, standin.output_dir) == []


def test_a_job_failing_on_the_local_api_fails_in_one_line(api, standin, out):
    standin.scenario = Scenario(outcome="execution_error")
    result = run_cli("generate", "--url", api, "--input", '{"workflow": "smoke"}', "--output", str(out),
                     "--poll-first", "0.01", env=clean_env())
    assert result.returncode == 1
    assert error_lines(result.stderr) == ["error: ComfyUI failed in node 3 (SaveVideo): SafetensorError: Error while "
                                          "deserializing header: header too small"]
    assert not out.exists()


def test_ctrl_c_on_the_local_api_says_the_job_runs_on_there(api, standin, out):
    standin.scenario = Scenario(outcome="hang")
    run = PtyRun("generate", "--url", api, "--input", '{"workflow": "smoke"}', "--output", str(out),
                 "--poll-first", "0.01", env=clean_env())
    try:
        run.wait_for(LOCAL)
        wait_until(lambda: standin._running is not None, "the job running on ComfyUI")
        run.interrupt()
        status, stdout, screen = run.finish()
    finally:
        run.kill()
        requests.post(f"{standin.url}/interrupt", json={})  # end the job the local API goes on running
    assert status == 130 and stdout == ""
    job_line = frames(screen)[-1]
    assert job_line.startswith("interrupted: job test-")
    assert job_line.endswith(" runs on to its end on the worker's local API, which has no /cancel (stop the "
                             "server to stop it)")
    assert standin.cancels == [] and not out.exists()
    wait_until(lambda: standin._running is None, "the interrupted job to end")


def test_cancel_on_the_local_api_says_it_has_none(api):
    result = run_cli("cancel", "--url", api, "test-123", env=clean_env())
    assert (result.returncode, error_lines(result.stderr)) == (1, [
        f"error: POST {api}/cancel/test-123: HTTP 404: no job test-123 there, or no /cancel at all (the worker's "
        "local API has none: stop the server to stop its job)"])
