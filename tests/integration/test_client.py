"""``python -m client`` against the worker on the tier's real ComfyUI: through the worker's local API
(``python handler.py --rp_serve_api``), and through the fake RunPod endpoint with the runpod SDK's
production job loop in front of the worker, where Ctrl-C reaches the worker's cancellation."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import engine
from tests.client.fake_runpod import FakeRunPod
from tests.client.helpers import PtyRun, clean_env, comfy_env, error_lines, local_api, run_cli, sdk_worker, wait_until
from tests.client.test_progress_bar import frames
from tests.integration.helpers import decode_video, wait_for_prompt
from tests.support.real_comfyui import files_in
from tests.support.tcp_proxy import TcpProxy

SMOKE = {"workflow": "smoke", "width": 64, "height": 64}


@pytest.fixture(scope="module")
def api(tier, tmp_path_factory) -> str:
    """The worker's local API on the tier's ComfyUI; its URL."""
    process, url = local_api(comfy_env(tier.url, tier.input_dir, tier.output_dir, JOB_TIMEOUT_S=120),
                             tmp_path_factory.mktemp("client") / "local-api.log")
    yield url
    process.stop()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    folder.mkdir()
    return folder / "out.mp4"


def files_of(tier, job_id: str) -> list[str]:
    return sorted(f for f in files_in(tier.input_dir, tier.output_dir) if job_id in f)


def test_generate_through_the_local_api_writes_a_playable_mp4(api, tier, out):
    result = run_cli("generate", "--url", api, "--input", json.dumps(SMOKE), "--output", str(out), timeout=180)
    assert result.returncode == 0, result.stderr
    metadata = json.loads(result.stdout)
    video = decode_video(base64.b64encode(out.read_bytes()).decode())
    assert (video["width"], video["height"], video["frames"]) == (64, 64, metadata["frames"])
    assert (metadata["workflow"], metadata["width"], metadata["height"]) == ("smoke", 64, 64)
    job_id = error_lines(result.stderr)[-1].rsplit(" ", 1)[-1]
    assert job_id.startswith("test-") and files_of(tier, job_id) == []


def test_a_bad_request_is_refused_before_anything_reaches_the_endpoint(api, out):
    host, port = api.removeprefix("http://").split(":")
    with TcpProxy(host, int(port)) as proxy:
        result = run_cli("generate", "--url", proxy.url, "--input", '{"workflow": "smoke", "height": 15}',
                         "--output", str(out))
        accepted = proxy.accepted
    try:
        engine.load_spec().prepare({"workflow": "smoke", "height": 15})
    except engine.RequestError as err:
        expected = f"error: {err}"
    assert result.returncode == 2
    assert error_lines(result.stderr) == [expected] and expected.startswith("error: height: ")
    assert accepted == 0, "the client connected to the endpoint"
    assert not out.exists()


def test_a_job_comfyui_cannot_run_fails_in_one_line_and_writes_nothing(api, out):
    request = {"prompt": "A red fox trots across fresh snow at dawn", "width": 256, "height": 256}  # no weights here
    result = run_cli("generate", "--url", api, "--input", json.dumps(request), "--output", str(out), timeout=180)
    assert result.returncode == 1 and result.stdout == ""
    lines = error_lines(result.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith(("error: ComfyUI rejected the workflow", "error: ComfyUI failed in node")), lines
    assert sorted(p.name for p in out.parent.iterdir()) == []


def test_ctrl_c_takes_the_job_back_from_comfyui_through_runpods_job_loop(tier, blockers, out, tmp_path):
    http = tier.http
    blockers.post(frames=48)  # the job waits behind it on ComfyUI
    wait_for_prompt(http, blockers.prefixes[-1], "running")
    with FakeRunPod(job_prefix=tier.job_id("client")) as runpod:
        worker = sdk_worker(runpod, comfy_env(tier.url, tier.input_dir, tier.output_dir), tmp_path / "worker.log")
        try:
            run = PtyRun("generate", "--url", runpod.url, "--input", json.dumps(SMOKE), "--output", str(out),
                         "--poll-first", "0.05", "--poll-max", "0.2", env=clean_env(RUNPOD_API_KEY=runpod.api_key))
            try:
                job_id = wait_until(lambda: next(iter(runpod.jobs), None), "the job to reach the endpoint")
                prompt_id = wait_for_prompt(http, job_id, "pending", 60)
                run.wait_for("running")
                run.interrupt()
                status, _, screen = run.finish()
            finally:
                run.kill()
            assert status == 130, screen
            assert frames(screen)[-1] == f"interrupted: cancelled job {job_id} (CANCELLED)"
            assert http.wait_gone([prompt_id], 15) == set(), "the worker left its prompt on ComfyUI"
            wait_until(lambda: f"job {job_id} cancelled" in worker.log(), "the worker logging the cancel")
            assert runpod.status_of(job_id) == "CANCELLED" and not out.exists()
            wait_until(lambda: files_of(tier, job_id) == [], "the job's files to be removed")
        finally:
            worker.stop()
