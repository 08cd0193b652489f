"""`python handler.py` as RunPod's SDK runs it locally (test_input.json, --test_input, --rp_serve_api)."""

import ast
import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.support import ROOT, files_under, free_port, image_bytes
from tests.support.comfyui_standin import MP4_HEADER, Scenario

PNG = image_bytes("PNG")
I2V = {"type": "i2v", "prompt": "A lighthouse.", "image_base64": base64.b64encode(PNG).decode()}


RESULT_LOG = {"RUNPOD_LOG_LEVEL": "INFO"}
"""Asks the SDK to log the local run's result, which the tests read."""


def worker_env(comfy=None, comfy_dirs=None, **extra) -> dict:
    """The parent environment without RunPod/bucket settings, pointed at the stand-in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "BUCKET_", "COMFYUI_"))}
    if comfy is not None:
        env.update(COMFYUI_URL=comfy.url, COMFYUI_INPUT_DIR=str(comfy_dirs[0]), COMFYUI_OUTPUT_DIR=str(comfy_dirs[1]))
    env.update(JOB_TIMEOUT_S="10", HISTORY_POLL_S="0.2", **extra)
    return env


def run_handler(env, *args, timeout=60):
    return subprocess.run([sys.executable, "handler.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def job_result(stdout: str) -> dict:
    """The SDK logs `Job result: {...}` (a Python repr) after a successful local run when its log level
    is INFO (RESULT_LOG); by default the worker keeps it at WARN, so the video never reaches the log."""
    line = next(line for line in stdout.splitlines() if "| Job result: " in line)
    return ast.literal_eval(line.split("| Job result: ", 1)[1])


def test_python_handler_py_runs_test_input_json_once_and_exits_0(comfy, comfy_dirs):
    assert json.loads((ROOT / "test_input.json").read_text()) == {"input": {"workflow": "smoke"}}
    proc = run_handler(worker_env(comfy, comfy_dirs, **RESULT_LOG))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    output = job_result(proc.stdout)["output"]
    assert base64.b64decode(output["video"]).startswith(MP4_HEADER) and output["workflow"] == "smoke"
    assert comfy.prompts[0]["prompt"]["3"]["inputs"]["filename_prefix"].startswith("smoke/local_test-")
    assert files_under(*comfy_dirs) == []


def test_without_comfyui_it_fails_fast_with_one_line_naming_the_address():
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    proc = run_handler(worker_env(COMFYUI_URL=url), "--test_input", json.dumps({"input": {"workflow": "smoke"}}))
    assert proc.returncode == 1
    assert f"Job local_test failed with error: ComfyUI is not reachable at {url}: [Errno 111] Connection refused" \
        in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert time.monotonic() - started < 10


def test_a_local_run_logs_a_summary_and_never_the_video(comfy, comfy_dirs):
    proc = run_handler(worker_env(comfy, comfy_dirs), "--test_input", json.dumps({"input": {"workflow": "smoke"}}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| worker | job local_test done: smoke, 64x64, 24 frames, inline, " in proc.stdout
    assert "Job result" not in proc.stdout and "AAAA" not in proc.stdout and "DEBUG" not in proc.stdout


@pytest.mark.parametrize("test_input, message", [
    ("{bad", "error: --test_input: not valid JSON (Expecting property name enclosed in double quotes"),
    ("[1]", 'error: --test_input: must be a JSON object with an "input" object'),
])
def test_a_malformed_test_input_is_one_line_and_exit_2(test_input, message):
    proc = run_handler(worker_env(COMFYUI_URL="http://127.0.0.1:1"), "--test_input", test_input)
    assert proc.returncode == 2 and proc.stderr.startswith(message) and len(proc.stderr.splitlines()) == 1
    assert "Traceback" not in proc.stdout + proc.stderr


def test_test_input_with_bucket_delivery_uploads_an_mp4(comfy, comfy_dirs, bucket_env, s3_server):
    proc = run_handler(worker_env(comfy, comfy_dirs, **bucket_env, **RESULT_LOG), "--test_input",
                       json.dumps({"input": {"workflow": "smoke", "frames": 4}}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    output = job_result(proc.stdout)["output"]
    key = output["video_url"].split("/videos/", 1)[1].split("?", 1)[0]
    head = s3_server[1].head_object(Bucket="videos", Key=key)
    assert head["ContentType"] == "video/mp4" and head["ContentLength"] == 2048 and output["frames"] == 4
    assert files_under(*comfy_dirs) == []


class ProgressRecorder(http.server.ThreadingHTTPServer):
    """Stands in for RunPod's job-done endpoint: records what progress_update posts."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ProgressHandler)
        self.posts = []
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()


class ProgressHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((time.monotonic(), self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_progress_reaches_runpod_during_sampling_throttled(comfy, comfy_dirs):
    recorder = ProgressRecorder()
    comfy.scenario = Scenario(steps=10, step_delay=0.05)
    env = worker_env(comfy, comfy_dirs, PROGRESS_INTERVAL_S="0.25",
                     RUNPOD_WEBHOOK_POST_OUTPUT=f"http://127.0.0.1:{recorder.server_address[1]}/done?id=$ID")
    try:
        proc = run_handler(env, "--test_input", json.dumps({"input": I2V, "id": "progress-job"}))
    finally:
        recorder.shutdown()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    posts = [post for post in recorder.posts if post[2]["status"] == "IN_PROGRESS"]
    assert all(path.startswith("/done?id=progress-job") for _, path, _ in posts)
    stages = {(p["output"].get("stage"), p["output"].get("stages")) for _, _, p in posts}
    assert {(1, 2), (2, 2)} <= stages
    assert 3 <= len(posts) <= 1.0 / 0.25 + 3  # ~1 s of sampling, at most one update per 0.25 s
    times = sorted(t for t, _, _ in posts)
    assert all(b - a > 0.2 for a, b in zip(times, times[1:]))
    assert files_under(*comfy_dirs) == []


def test_rp_serve_api_runs_jobs_over_runpods_local_api(comfy, comfy_dirs):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "handler.py", "--rp_serve_api", "--rp_api_host", "127.0.0.1",
                             "--rp_api_port", str(port)], cwd=ROOT, env=worker_env(comfy, comfy_dirs),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/runsync", method="POST",
                                         data=json.dumps({"input": {"workflow": "smoke", "width": 3}}).encode(),
                                         headers={"Content-Type": "application/json"})
        for _ in range(200):
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    answer = json.load(response)
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("the local API never came up")
        assert answer["status"] == "FAILED" and answer["error"] == "width: 3 is less than the minimum of 16"
        request.data = json.dumps({"input": {"workflow": "smoke"}}).encode()
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.load(response)
        assert answer["status"] == "COMPLETED" and base64.b64decode(answer["output"]["video"]).startswith(MP4_HEADER)
    finally:
        proc.terminate()
        proc.wait(10)
    assert files_under(*comfy_dirs) == []
