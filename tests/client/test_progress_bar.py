"""The progress bar, read off a pseudo-terminal as a caller sees it; and no bar when stderr is not a terminal."""

from __future__ import annotations

import json
import re

from tests.client.conftest import METADATA, REQUEST, completed, walk, worker_progress
from tests.client.helpers import MP4, PtyRun, error_lines, run_cli

FAST = ("--poll-first", "0.01", "--poll-max", "0.05")


def frames(screen: str) -> list[str]:
    """Each state the bar was drawn in (tqdm redraws the line after a carriage return)."""
    return [part.strip() for part in re.split(r"[\r\n]+", screen) if part.strip()]


def test_the_bar_shows_queue_stage_step_and_percent_from_the_workers_progress(runpod, env, out):
    runpod.script = walk(completed())
    run = PtyRun("generate", "--url", runpod.url, "--input", REQUEST, "--output", str(out), *FAST, env=env)
    try:
        status, stdout, screen = run.finish()
    finally:
        run.kill()
    assert status == 0, screen
    assert json.loads(stdout) == METADATA and out.read_bytes() == MP4
    drawn = frames(screen)
    bars = [line for line in drawn if "%|" in line]
    labels = [line.split(":")[0] for line in bars]
    assert labels[0] == "queued" and labels[-1] == "done", drawn
    assert {"running", "started", "stage 1/2", "stage 1/2, step 5/8", "stage 2/2, step 2/3",
            "node 2 (CreateVideo)"} <= set(labels), drawn
    payload = next(p for p in worker_progress() if p.get("step") == 5)
    step = next(line for line in bars if line.startswith("stage 1/2, step 5/8:"))
    assert re.match(rf"stage 1/2, step 5/8: +{payload['percent']}%\|", step), step
    assert re.match(r"done: 100%\|█+\|", bars[-1]), bars[-1]
    assert drawn[-1] == f"wrote {out} ({len(MP4)} bytes) from job {next(iter(runpod.jobs))}"


def test_a_failed_job_leaves_the_bar_where_it_stopped_then_the_error(runpod, env, out):
    from tests.client.fake_runpod import Answer

    runpod.script = walk(Answer("FAILED", error="ComfyUI failed in node 2 (CreateVideo): out of memory"))
    run = PtyRun("generate", "--url", runpod.url, "--input", REQUEST, "--output", str(out), *FAST, env=env)
    try:
        status, stdout, screen = run.finish()
    finally:
        run.kill()
    drawn = frames(screen)
    assert status == 1 and stdout == ""
    assert drawn[-1] == "error: ComfyUI failed in node 2 (CreateVideo): out of memory"
    last = worker_progress()[-1]["percent"]
    assert re.match(rf"node 2 \(CreateVideo\): +{last}%\|", drawn[-2]), drawn
    assert not out.exists()


def test_without_a_terminal_there_is_no_bar(runpod, env, out):
    runpod.script = walk(completed())
    result = run_cli("generate", "--url", runpod.url, "--input", REQUEST, "--output", str(out), *FAST, env=env)
    assert result.returncode == 0
    assert error_lines(result.stderr) == [f"wrote {out} ({len(MP4)} bytes) from job {next(iter(runpod.jobs))}"]
