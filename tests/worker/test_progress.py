"""Progress: stage / step / percent from websocket events, and the throttle in front of RunPod."""

from tests.support import sampler_graph, smoke_graph
from worker.progress import ProgressReporter, ProgressTracker, Throttle


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_two_sampler_stages_report_stage_step_and_rising_percent():
    tracker = ProgressTracker(sampler_graph())
    tracker.update("execution_start", {})
    tracker.update("executing", {"node": "1"})
    first = tracker.update("executing", {"node": "92:10"})
    assert (first["status"], first["stage"], first["stages"]) == ("sampling", 1, 2)
    middle = tracker.update("progress", {"node": "92:10", "value": 5, "max": 10})
    assert (middle["step"], middle["steps"]) == (5, 10)
    assert middle["message"] == f"stage 1/2, step 5/10, {middle['percent']}%"
    tracker.update("executing", {"node": "92:20"})
    late = tracker.update("progress", {"node": "92:20", "value": 10, "max": 10})
    assert late["stage"] == 2
    assert 0 < first["percent"] < middle["percent"] < late["percent"] <= 99
    assert middle["percent"] == 25  # 90 % * (0.5 of 2 stages) + 10 % * (1 of 3 other nodes done)
    decode = tracker.update("executing", {"node": "2"})
    assert decode["status"] == "running" and decode["node_type"] == "CreateVideo" and decode["percent"] == 93


def test_without_samplers_every_node_weighs_the_same_and_cached_nodes_count_as_done():
    tracker = ProgressTracker(smoke_graph())
    assert tracker.update("execution_cached", {"nodes": ["1"]})["percent"] == 33
    assert tracker.update("executing", {"node": "2"})["percent"] == 33
    assert tracker.update("executing", {"node": "3"})["percent"] == 66
    assert tracker.update("status", {}) is None


def test_throttle_sends_at_most_one_per_interval_and_flush_sends_the_latest():
    clock, sent = FakeClock(), []
    throttle = Throttle(sent.append, 1.0, clock)
    assert throttle({"n": 1})
    for n in range(2, 50):
        clock.now += 0.01
        throttle({"n": n})
    assert sent == [{"n": 1}]
    assert not throttle.flush()
    clock.now = 1.0
    assert throttle.flush() and sent[-1] == {"n": 49}
    assert not throttle.flush()


def test_reporter_forwards_a_burst_of_steps_as_about_one_update_per_second():
    clock, sent = FakeClock(), []
    reporter = ProgressReporter(sampler_graph(), sent.append, 1.0, clock)
    reporter("execution_start", {})
    for step in range(1, 201):
        clock.now = step * 0.05  # 20 steps per second for 10 seconds
        reporter("progress", {"node": "92:10", "value": step, "max": 200})
    assert 10 <= len(sent) <= 11
    assert sent[-1]["step"] >= 180
    reporter.idle()
    assert len(sent) <= 12
