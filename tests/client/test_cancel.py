"""Ctrl-C in ``python -m client generate``: the job is cancelled with /cancel, nothing is written, exit 130.

End to end: the fake RunPod endpoint passes the cancel to the runpod SDK's production job loop
(``python handler.py``) as a stop signal, the SDK cancels the job's task, and the worker takes the
prompt back from ComfyUI (here the stand-in, which records it)."""

from __future__ import annotations

from tests.client.conftest import REQUEST, worker_progress
from tests.client.fake_runpod import Answer
from tests.client.helpers import PtyRun, comfy_env, sdk_worker, wait_until
from tests.client.test_progress_bar import frames
from tests.support import files_under
from tests.support.comfyui_standin import Scenario

FAST = ("--poll-first", "0.01", "--poll-max", "0.05")


def test_ctrl_c_cancels_the_job_and_exits_130_without_a_file(runpod, env, out):
    runpod.script = [Answer("IN_QUEUE"), *(Answer("IN_PROGRESS", p) for p in worker_progress())]  # never ends
    run = PtyRun("generate", "--url", runpod.url, "--input", REQUEST, "--output", str(out), *FAST, env=env)
    try:
        run.wait_for("node 2 (CreateVideo)")
        run.interrupt()
        status, stdout, screen = run.finish()
    finally:
        run.kill()
    job_id = next(iter(runpod.jobs))
    assert status == 130 and stdout == ""
    assert frames(screen)[-1] == f"interrupted: cancelled job {job_id} (CANCELLED)"
    assert runpod.cancels == [job_id] and runpod.status_of(job_id) == "CANCELLED"
    assert sorted(p.name for p in out.parent.iterdir()) == []


def test_ctrl_c_reaches_the_workers_cancellation_through_runpod(runpod, env, out, comfy, comfy_dirs, tmp_path):
    comfy.scenario = Scenario(outcome="hang")  # the job's last node runs until someone interrupts it
    worker = sdk_worker(runpod, comfy_env(comfy.url, *comfy_dirs), tmp_path / "worker.log")
    try:
        run = PtyRun("generate", "--url", runpod.url, "--input", '{"workflow": "smoke"}', "--output", str(out),
                     *FAST, env=env)
        try:
            run.wait_for("node 3 (SaveVideo)")  # the worker's own progress, through RunPod's /status
            assert len(comfy.prompts) == 1
            run.interrupt()
            status, _, screen = run.finish()
        finally:
            run.kill()
        job_id = next(iter(runpod.jobs))
        assert status == 130, screen
        assert frames(screen)[-1] == f"interrupted: cancelled job {job_id} (CANCELLED)"
        prompt_id = comfy.prompts[0]["prompt_id"]
        wait_until(lambda: comfy.cancels == [prompt_id], "the worker taking its prompt back from ComfyUI")
        wait_until(lambda: f"job {job_id} cancelled" in worker.log(), "the worker logging the cancel")
        wait_until(lambda: files_under(*comfy_dirs) == [], "the worker removing the job's files")
        assert runpod.status_of(job_id) == "CANCELLED"
        assert not out.exists()
    finally:
        worker.stop()
