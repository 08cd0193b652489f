"""The whole chain as on RunPod: client -> the fake endpoint -> the runpod SDK's production job loop
(``python handler.py``) -> the worker -> ComfyUI (the stand-in) -> the video back through /status."""

from __future__ import annotations

import json

from tests.client.helpers import comfy_env, error_lines, run_cli, sdk_worker, wait_until
from tests.support import files_under
from tests.support.comfyui_standin import MP4_HEADER


def test_a_smoke_job_through_runpods_job_loop_writes_the_workers_video(runpod, env, out, comfy, comfy_dirs, tmp_path):
    worker = sdk_worker(runpod, comfy_env(comfy.url, *comfy_dirs), tmp_path / "worker.log")
    try:
        result = run_cli("generate", "--url", runpod.url, "--input", '{"workflow": "smoke", "width": 320}',
                         "--output", str(out), "--poll-first", "0.05", "--poll-max", "0.2", env=env)
        assert result.returncode == 0, f"{result.stderr}\n{worker.log()}"
        job_id = next(iter(runpod.jobs))
        assert out.read_bytes().startswith(MP4_HEADER)
        metadata = json.loads(result.stdout)
        assert (metadata["workflow"], metadata["width"], metadata["height"]) == ("smoke", 320, 64)
        assert set(metadata["timings"]) == {"queue_wait_s", "execution_s", "total_s"}
        assert error_lines(result.stderr) == [f"wrote {out} ({out.stat().st_size} bytes) from job {job_id}"]
        progress = wait_until(lambda: runpod.progress.get(job_id), "the worker's progress posts")
        assert progress[0] == {"status": "running", "percent": 0, "message": "started, 0%"}
        assert runpod.status_of(job_id) == "COMPLETED" and files_under(*comfy_dirs) == []
    finally:
        worker.stop()
