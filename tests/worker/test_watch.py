"""PromptWatcher against the stand-in: completion, failures, reconnects, dead server and deadline."""

import time
import uuid

import pytest

from engine.comfy.history import find_video
from engine.errors import ComfyFailed, ComfyUnreachable, JobTimeout
from tests.support import sampler_graph, smoke_graph
from tests.support.comfyui_standin import Scenario
from worker.comfyui import ComfyClient
from worker.watch import PromptWatcher


def run(comfy, scenario, graph=None, timeout=5.0, grace=1.0):
    """Queue one prompt under ``scenario`` and wait for it; returns (completion or error, watcher, events, seconds)."""
    comfy.scenario = scenario
    client = ComfyClient(comfy.url, timeout=2)
    events = []
    watcher = PromptWatcher(client, uuid.uuid4().hex, poll_interval=0.2, interrupt_grace=grace,
                            on_event=lambda event, data: events.append(event))
    started = time.monotonic()
    with watcher:
        prompt_id = str(uuid.uuid4())
        client.queue_prompt(graph or sampler_graph(), watcher.client_id, prompt_id)
        try:
            outcome = watcher.wait(prompt_id, started + timeout, timeout_s=timeout)
        except Exception as err:  # the tests look at the error itself
            outcome = err
    return outcome, watcher, events, time.monotonic() - started


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


def test_an_unexpected_exception_takes_the_prompt_back(comfy):
    def broken_callback(event, data):
        if event == "progress":
            raise KeyError("bug")

    comfy.scenario = Scenario(outcome="hang", error_node="92:20")
    client = ComfyClient(comfy.url)
    with PromptWatcher(client, "cid-bug", on_event=broken_callback) as watcher:
        prompt_id = str(uuid.uuid4())
        client.queue_prompt(sampler_graph(), "cid-bug", prompt_id)
        with pytest.raises(KeyError):
            watcher.wait(prompt_id, time.monotonic() + 5, timeout_s=5)
    assert comfy.interrupts == [{"prompt_id": prompt_id}] and comfy.queue_deletes == [[prompt_id]]


def test_a_hang_past_the_deadline_is_interrupted_and_fails(comfy):
    error, _, _, seconds = run(comfy, Scenario(outcome="hang", error_node="92:10"), timeout=0.5)
    assert isinstance(error, JobTimeout) and not error.refresh_worker
    assert str(error) == ("the job ran past its 0.5 s deadline (JOB_TIMEOUT_S) (ComfyUI was at node 92:10); "
                          "it was interrupted")
    assert len(comfy.interrupts) == 1 and len(comfy.queue_deletes) == 1
    assert seconds < 1


def test_a_hang_that_ignores_the_interrupt_asks_for_a_fresh_worker(comfy):
    error, _, _, seconds = run(comfy, Scenario(outcome="hang", ignore_interrupt=True), graph=smoke_graph(),
                               timeout=0.3, grace=0.3)
    assert isinstance(error, JobTimeout) and error.refresh_worker
    assert "did not stop within 0.3 s (INTERRUPT_GRACE_S)" in str(error)
    assert 0.6 <= seconds < 1.2
