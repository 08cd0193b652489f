"""worker.watch against the stand-in: completion, failures, reconnects and a dead server."""

import asyncio
import uuid

import pytest

from engine.comfy.history import find_video
from engine.errors import ComfyFailed, ComfyUnreachable
from tests.support import sampler_graph
from tests.support.comfyui_standin import Scenario
from worker.comfyui import ComfyClient
from worker.watch import PromptWatcher


def run(comfy, scenario, graph=None):
    """Queue one prompt under ``scenario`` and wait for it; returns (completion or error, watcher, events, seconds)."""
    comfy.scenario = scenario
    events = []

    async def follow():
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with ComfyClient.open(comfy.url, timeout=2) as client:
            watcher = PromptWatcher(client, uuid.uuid4().hex, poll_interval=0.2,
                                    on_event=lambda event, data: events.append(event))
            async with watcher:
                prompt_id = str(uuid.uuid4())
                await client.queue_prompt(graph or sampler_graph(), watcher.client_id, prompt_id)
                try:
                    outcome = await asyncio.wait_for(watcher.wait(prompt_id), 5)
                except Exception as err:  # the tests look at the error itself
                    outcome = err
        return outcome, watcher, events, loop.time() - started

    return asyncio.run(follow())


def test_success_returns_the_history_entry_and_forwards_progress(comfy):
    done, watcher, events, seconds = run(comfy, Scenario(steps=4))
    assert find_video(done.entry, "3") == {"filename": "two_stage_00001_.mp4", "subfolder": "video",
                                           "type": "output"}
    assert done.started_at is not None and done.finished_at >= done.started_at
    assert events.count("progress") == 8 and "executed" in events and watcher.reconnects == 0
    assert seconds < 1


def test_execution_error_names_node_class_and_exception(comfy):
    error, *_ = run(comfy, Scenario(outcome="execution_error", error_node="92:20"))
    assert isinstance(error, ComfyFailed) and not error.refresh_worker
    assert str(error) == ("ComfyUI failed in node 92:20 (SamplerCustomAdvanced): SafetensorError: "
                          "Error while deserializing header: header too small")


def test_execution_interrupted_fails_the_job(comfy):
    error, *_ = run(comfy, Scenario(outcome="interrupted", fail_after_steps=2))
    assert isinstance(error, ComfyFailed)
    assert str(error).startswith("ComfyUI interrupted the job at node 92:10 (SamplerCustomAdvanced)")


@pytest.mark.parametrize("lose_completion", [False, True])
def test_a_dropped_websocket_is_reconnected_and_the_completion_still_seen(comfy, lose_completion):
    done, watcher, events, seconds = run(comfy, Scenario(steps=3, step_delay=0.03, drop_ws_after_step=2,
                                                         lose_completion=lose_completion))
    assert find_video(done.entry, "3")["filename"].endswith(".mp4")
    assert watcher.reconnects == 1 and len(comfy.ws_connects) == 2
    assert ("executed" in events) is not lose_completion
    assert seconds < 1.5


def test_comfyui_dying_mid_job_fails_at_once_and_asks_for_a_fresh_worker(comfy):
    error, _, events, seconds = run(comfy, Scenario(outcome="die", fail_after_steps=2))
    assert isinstance(error, ComfyUnreachable) and error.refresh_worker
    assert str(error).startswith(f"ComfyUI at {comfy.url} died during the job")
    assert seconds < 1


def test_a_job_lost_by_a_restarted_comfyui_fails_at_once(comfy):
    error, _, _, seconds = run(comfy, Scenario(outcome="restart", fail_after_steps=2))
    assert isinstance(error, ComfyFailed) and error.refresh_worker
    assert str(error) == f"ComfyUI at {comfy.url} lost the job (it restarted during the job)"
    assert seconds < 1
