"""``python -m client generate`` against the fake RunPod endpoint: every way a job ends, and bad input."""

from __future__ import annotations

import json

import requests

import engine
from tests.client.conftest import METADATA, REQUEST, completed, walk
from tests.client.fake_runpod import Answer
from tests.client.helpers import MP4, clean_env, error_lines, free_port, run_cli

FAST = ("--poll-first", "0.01", "--poll-max", "0.05")


def generate(runpod, env, out, request: str = REQUEST, *extra: str):
    return run_cli("generate", "--url", runpod.url, "--input", request, "--output", str(out), *FAST, *extra, env=env)


def only_the_video(out) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


def test_a_completed_job_writes_the_video_and_prints_its_metadata(runpod, env, out):
    runpod.script = walk(completed())
    result = generate(runpod, env, out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == MP4
    assert json.loads(result.stdout) == METADATA
    job_id = next(iter(runpod.jobs))
    assert runpod.jobs[job_id].input == json.loads(REQUEST)
    assert error_lines(result.stderr) == [f"wrote {out} ({len(MP4)} bytes) from job {job_id}"]
    assert runpod.calls == [("POST", f"/v2/{runpod.endpoint_id}/run")] + [
        ("GET", f"/v2/{runpod.endpoint_id}/status/{job_id}")] * len(runpod.script)
    assert only_the_video(out) == ["out.mp4"]


def test_input_from_a_file_may_be_a_whole_job_body(runpod, env, out, tmp_path):
    body = tmp_path / "job.json"
    body.write_text(json.dumps({"input": {"workflow": "smoke", "width": 320, "height": 240}}))
    runpod.script = [completed()]
    result = generate(runpod, env, out, f"@{body}")
    assert result.returncode == 0, result.stderr
    assert next(iter(runpod.jobs.values())).input == {"workflow": "smoke", "width": 320, "height": 240}


def test_a_video_url_is_downloaded_without_the_api_key(runpod, env, out):
    runpod.files["fox.mp4"] = MP4 * 50
    runpod.script = walk(Answer("COMPLETED", {"video_url": runpod.file_url("fox.mp4"), **METADATA}))
    result = generate(runpod, env, out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == MP4 * 50
    assert json.loads(result.stdout) == {"video_url": runpod.file_url("fox.mp4"), **METADATA}
    assert runpod.file_auth == [None]


def test_a_video_url_that_cannot_be_downloaded_fails_and_leaves_no_file(runpod, env, out):
    runpod.script = [Answer("COMPLETED", {"video_url": runpod.file_url("gone.mp4"), **METADATA})]
    result = generate(runpod, env, out)
    assert result.returncode == 1
    assert error_lines(result.stderr) == ["error: downloading video_url failed: HTTP 404"]
    assert only_the_video(out) == []


def test_a_failed_job_prints_the_workers_error_on_one_line_and_writes_nothing(runpod, env, out):
    error = ("ComfyUI rejected the workflow (Prompt outputs failed validation):\n"
             "node 92:11 (RandomNoise) input noise_seed: value 5 bigger than max of 4 (request parameter: seed)")
    runpod.script = walk(Answer("FAILED", error=error))
    result = generate(runpod, env, out)
    assert result.returncode == 1
    assert error_lines(result.stderr) == [
        "error: ComfyUI rejected the workflow (Prompt outputs failed validation): node 92:11 (RandomNoise) input "
        "noise_seed: value 5 bigger than max of 4 (request parameter: seed)"]
    assert result.stdout == ""
    assert only_the_video(out) == []


def test_a_handler_exception_reported_by_the_sdk_reads_as_its_message(runpod, env, out):
    sdk = json.dumps({"error_type": "<class 'RuntimeError'>", "error_message": "boom", "error_traceback": "..."})
    runpod.script = [Answer("FAILED", error=sdk)]
    result = generate(runpod, env, out)
    assert (result.returncode, error_lines(result.stderr)) == (1, ["error: boom (RuntimeError)"])


def test_a_job_cancelled_elsewhere_or_timed_out_by_runpod_fails_in_one_line(runpod, env, out):
    for status, message in (("CANCELLED", "the job was cancelled (CANCELLED)"),
                            ("TIMED_OUT", "the job ran past the endpoint's execution timeout and RunPod stopped it "
                                          "(TIMED_OUT)")):
        runpod.script = walk(Answer(status))
        result = generate(runpod, env, out)
        assert (result.returncode, error_lines(result.stderr)) == (1, [f"error: {message}"])
        assert only_the_video(out) == []


def test_a_bad_request_is_refused_with_the_workers_message_before_anything_is_sent(runpod, env, out):
    request = {"workflow": "smoke", "width": 7}
    try:
        engine.load_spec().prepare(request)
    except engine.RequestError as err:
        expected = f"error: {err}"
    result = generate(runpod, env, out, json.dumps(request))
    assert result.returncode == 2
    assert error_lines(result.stderr) == [expected]
    assert expected.startswith("error: width: ")
    assert runpod.calls == []
    assert only_the_video(out) == []


def test_bad_json_a_missing_file_or_a_missing_folder_are_refused_before_sending(runpod, env, out, tmp_path):
    cases = [("{prompt: fox}", str(out), "error: input: not valid JSON: Expecting property name enclosed in double "
                                         "quotes: line 1 column 2 (char 1)"),
             (f"@{tmp_path}/nope.json", str(out), f"error: input: cannot read {tmp_path}/nope.json: "
                                                  "No such file or directory"),
             (REQUEST, str(tmp_path / "no" / "out.mp4"), f"error: output: the folder {tmp_path / 'no'} does not exist")]
    for request, output, expected in cases:
        result = run_cli("generate", "--url", runpod.url, "--input", request, "--output", output, env=env)
        assert (result.returncode, error_lines(result.stderr)) == (2, [expected])
    assert runpod.calls == []


def test_no_validate_sends_what_this_checkout_would_refuse(runpod, env, out):
    runpod.script = [completed()]
    result = generate(runpod, env, out, '{"workflow": "newer-workflow"}', "--no-validate")
    assert result.returncode == 0, result.stderr
    assert next(iter(runpod.jobs.values())).input == {"workflow": "newer-workflow"}


def test_a_wrong_api_key_or_no_endpoint_fails_in_one_line(runpod, out):
    wrong = run_cli("generate", "--url", runpod.url, "--input", REQUEST, "--output", str(out),
                    env=clean_env(RUNPOD_API_KEY="stale"))
    assert wrong.returncode == 1
    assert error_lines(wrong.stderr) == [f"error: POST {runpod.url}/run: HTTP 401: the endpoint refused the API key; "
                                         "set RUNPOD_API_KEY to a key with access to this endpoint"]
    port = free_port()
    down = run_cli("generate", "--url", f"http://127.0.0.1:{port}", "--input", REQUEST, "--output", str(out))
    assert down.returncode == 1
    assert error_lines(down.stderr) == [f"error: http://127.0.0.1:{port} does not answer (POST /run): "
                                        "[Errno 111] Connection refused"]
    no_key = run_cli("generate", "--endpoint", "abc123", "--input", REQUEST, "--output", str(out))
    assert (no_key.returncode, error_lines(no_key.stderr)) == (2, [
        "error: https://api.runpod.ai/v2/abc123 is RunPod's API: set RUNPOD_API_KEY to an API key with access to it"])
    assert only_the_video(out) == []


def submit(runpod) -> str:
    """A job sent straight to the fake (as another caller would); its id."""
    answer = requests.post(f"{runpod.url}/run", json={"input": {}}, headers={"Authorization": f"Bearer {runpod.api_key}"})
    return answer.json()["id"]


def test_status_and_cancel_print_the_endpoints_answer(runpod, env):
    runpod.script = [Answer("IN_PROGRESS", {"status": "running", "percent": 0, "message": "started, 0%"}),
                     completed()]
    job_id = submit(runpod)
    first = run_cli("status", "--url", runpod.url, job_id, env=env)
    assert json.loads(first.stdout)["output"]["message"] == "started, 0%"
    cancelled = run_cli("cancel", "--url", runpod.url, job_id, env=env)
    assert json.loads(cancelled.stdout) == {"id": job_id, "status": "CANCELLED"}
    unknown = run_cli("status", "--url", runpod.url, "nope", env=env)
    assert (unknown.returncode, error_lines(unknown.stderr)) == (1, [
        f'error: GET {runpod.url}/status/nope: HTTP 404: {{"error": "request does not exist"}}'])


def test_status_shows_an_inline_video_as_its_size(runpod, env):
    runpod.script = [completed()]
    job_id = submit(runpod)
    shown = json.loads(run_cli("status", "--url", runpod.url, job_id, env=env).stdout)
    assert shown["status"] == "COMPLETED"
    assert shown["output"] == {"video": f"<{len(MP4)} bytes as base64>", **METADATA}
