"""ComfyUI frozen, restarted or killed under the worker: on a private ComfyUI process the tier starts
itself from the same install (never the shared server). The tests run in this order so that the
private server is started twice in all: once at the start, once by the restart; the kill comes last."""

import re
import time

from tests.integration.helpers import decode_video, wait_for_prompt

SMOKE = {"workflow": "smoke", "width": 64, "height": 64, "frames": 6}


def test_a_comfyui_frozen_mid_job_fails_the_job_by_its_deadline_and_asks_for_a_fresh_worker(
        worker, test_spec, private_comfyui):
    worker.use_spec(test_spec)
    worker.configure(JOB_TIMEOUT_S=4)
    job = worker.job({"workflow": "slow", "frames": 32}, "frozen")  # about 10 s of work
    running = worker.start(job)
    wait_for_prompt(private_comfyui.http, job["id"], "running")
    time.sleep(0.5)
    private_comfyui.freeze()  # SIGSTOP: connections are still accepted by the kernel, nothing answers
    try:
        result = running.wait(60)
    finally:
        private_comfyui.thaw()
    assert set(result) == {"error", "stopPod"} and result["stopPod"] is True, result
    assert "deadline" in result["error"] and "\n" not in result["error"], result
    assert running.elapsed <= 4 + 1, f"the job ended {running.elapsed:.1f} s after it started (deadline 4 s)"


def test_comfyui_restarted_between_two_jobs_serves_both(worker, private_comfyui):
    first = worker.run(worker.job(SMOKE, "before-restart"))
    old_pid = private_comfyui.pid
    private_comfyui.restart()
    assert private_comfyui.pid != old_pid
    second_job = worker.job(SMOKE, "after-restart")
    second = worker.run(second_job)
    for result in (first, second):
        assert set(result) == {"output"}, result
        assert decode_video(result["output"]["video"])["frames"] == 6
    history = private_comfyui.http.recent_history()  # the new process's: only the second job ran on it
    assert [second_job["id"] in str(e.get("prompt")) for e in history.values()] == [True]


def test_comfyui_killed_mid_job_fails_the_job_at_once_and_asks_for_a_fresh_worker(worker, test_spec,
                                                                                   private_comfyui):
    worker.use_spec(test_spec)
    worker.configure(JOB_TIMEOUT_S=60)
    job = worker.job({"workflow": "slow", "frames": 32}, "killed")
    running = worker.start(job)
    wait_for_prompt(private_comfyui.http, job["id"], "running")
    time.sleep(0.5)
    private_comfyui.kill()  # SIGKILL
    result = running.wait(60)
    assert set(result) == {"error", "stopPod"} and result["stopPod"] is True, result
    error = result["error"]
    assert "\n" not in error and "deadline" not in error, error
    assert private_comfyui.url in error and re.search(r"died|not reachable|lost the job", error), error
