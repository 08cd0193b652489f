"""Cancelling a job the way the RunPod SDK does it: task.cancel() on the task running rp_job.run_job.

Within 2 s of the cancel the job's prompt is neither pending nor running on ComfyUI, the tier's other
prompts are untouched, and once ComfyUI is done with the prompt no file of the job remains.
"""

import asyncio
import time

from tests.integration.helpers import GoneWatch, job_files, wait_for_prompt

CANCEL_BOUND_S = 2.0


async def cancel_and_watch(task: asyncio.Task, http, prompt_id: str) -> tuple[float, float | None, GoneWatch]:
    """Cancel the task; (when, when the prompt was gone from ComfyUI's queue or None, the watch)."""
    task.cancel()
    cancelled_at = time.monotonic()
    watch = GoneWatch(http, {prompt_id}, until=cancelled_at + CANCEL_BOUND_S)
    await asyncio.wait({task}, timeout=15)
    return cancelled_at, await asyncio.to_thread(watch.join), watch


async def files_of_the_job_after_comfyui_is_done(worker, job: dict, prompt_id: str) -> list[str]:
    """Wait for the prompt to end (if the cancel left it running) and for the job's clean-up; the files left."""
    http = worker.tier.http
    await asyncio.to_thread(http.wait_gone, [prompt_id], 60)
    stop = time.monotonic() + 10
    while job_files(worker.tier, job) and time.monotonic() < stop:
        await asyncio.sleep(0.1)  # the job's own clean-up runs on this loop
    return job_files(worker.tier, job)


def outcome(task: asyncio.Task) -> str:
    if task.cancelled():
        return "cancelled"
    if not task.done():
        return "still running 15 s after the cancel"
    return f"ended without CancelledError: {task.exception() or task.result()!r}"[:500]


def test_a_job_cancelled_while_queued_leaves_comfyui_and_the_other_prompts_alone(worker, test_spec, blockers):
    worker.use_spec(test_spec)
    worker.configure(JOB_TIMEOUT_S=90)
    http = worker.tier.http
    blocker = blockers.post(frames=48)  # about 15 s: the job waits behind it
    wait_for_prompt(http, blockers.prefixes[-1], "running")
    job = worker.job({"workflow": "slow", "frames": 8}, "cancelq")

    async def scenario():
        task = asyncio.create_task(worker.run_job(job))
        prompt_id = await asyncio.to_thread(wait_for_prompt, http, job["id"], "pending", 30)
        cancelled_at, gone_at, watch = await cancel_and_watch(task, http, prompt_id)
        blocker_runs = blockers.running(blocker)
        left = await files_of_the_job_after_comfyui_is_done(worker, job, prompt_id)
        return task, cancelled_at, gone_at, watch, blocker_runs, left

    task, cancelled_at, gone_at, watch, blocker_runs, left = worker.scenario(scenario())
    assert outcome(task) == "cancelled"
    assert gone_at is not None and gone_at - cancelled_at <= CANCEL_BOUND_S, (
        f"the job's prompt was still (running, pending) {watch.last_seen} {CANCEL_BOUND_S:g} s after the cancel")
    assert blocker_runs, "the cancel touched another prompt: the blocker no longer runs"
    assert left == []


def test_a_job_cancelled_while_running_is_interrupted_and_the_prompt_behind_it_still_waits(worker, test_spec,
                                                                                           blockers):
    worker.use_spec(test_spec)
    worker.configure(JOB_TIMEOUT_S=90)
    http = worker.tier.http
    job = worker.job({"workflow": "slow", "frames": 24}, "cancelr")  # about 8 s

    async def scenario():
        task = asyncio.create_task(worker.run_job(job))
        prompt_id = await asyncio.to_thread(wait_for_prompt, http, job["id"], "running", 60)
        behind = await asyncio.to_thread(blockers.post, 24)  # the tier's next prompt, pending behind the job
        await asyncio.sleep(0.5)  # a few nodes into the job
        cancelled_at, gone_at, watch = await cancel_and_watch(task, http, prompt_id)
        running, pending = await asyncio.to_thread(http.queued_ids)
        behind_waits = behind in running | pending
        left = await files_of_the_job_after_comfyui_is_done(worker, job, prompt_id)
        return task, cancelled_at, gone_at, watch, behind_waits, left

    task, cancelled_at, gone_at, watch, behind_waits, left = worker.scenario(scenario())
    assert outcome(task) == "cancelled"
    assert gone_at is not None and gone_at - cancelled_at <= CANCEL_BOUND_S, (
        f"the job's prompt was still (running, pending) {watch.last_seen} {CANCEL_BOUND_S:g} s after the cancel")
    assert behind_waits, "the cancel touched another prompt: the one queued behind the job is gone"
    entry = next(e for e in http.recent_history().values() if job["id"] in str(e.get("prompt")))
    assert entry["status"]["messages"][-1][0] == "execution_interrupted"
    assert left == []
