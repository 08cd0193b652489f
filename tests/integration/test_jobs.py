"""Jobs through the handler (the RunPod SDK's own job runner) on the shared real ComfyUI."""

import re
import socket
import time

from tests.integration.helpers import decode_video, render_graph, wait_for_prompt
from tests.support.tcp_proxy import TcpProxy

SLOW_NODE_CLASSES = {"EmptyImage", "ImageBlur", "CreateVideo", "SaveVideo"}


def test_a_smoke_job_returns_a_decodable_mp4_matching_its_metadata(worker):
    request = {"workflow": "smoke", "width": 96, "height": 64, "frames": 12, "fps": 12, "color": "#ff8800"}
    result = worker.run(worker.job(request, "smoke"))
    assert set(result) == {"output"}, result
    output = result["output"]
    video = decode_video(output["video"])
    assert (video["width"], video["height"], video["frames"]) == (output["width"], output["height"], output["frames"])
    assert (output["width"], output["height"], output["frames"], output["fps"]) == (96, 64, 12, 12)
    assert video["fps"] == 12
    orange = (0xFF, 0x88, 0x00)
    assert all(abs(got - want) <= 16 for got, want in zip(video["centre"], orange, strict=True)), video["centre"]
    assert output["workflow"] == "smoke" and set(output["timings"]) == {"queue_wait_s", "execution_s", "total_s"}


def test_an_ltx2_job_on_empty_placeholder_weights_fails_in_one_line_naming_the_node(worker, shipped_spec,
                                                                                    placeholder_models):
    request = {"workflow": "ltx2-t2v-fast", "prompt": "A red fox trots across fresh snow.", "width": 256,
               "height": 256, "seed": 7}
    result = worker.run(worker.job(request, "ltx"))
    assert set(result) == {"error"}, result
    error = result["error"]
    assert "\n" not in error
    match = re.fullmatch(r"ComfyUI failed in node (?P<node>\S+) \((?P<cls>\w+)\): (?P<detail>.+)", error)
    assert match, error
    graph = render_graph(shipped_spec, request)
    assert graph[match["node"]]["class_type"] == match["cls"]
    assert "Loader" in match["cls"], error  # the first model loader reading an empty file


def test_a_text_output_comes_back_from_previewanys_real_history_entry(worker, test_spec):
    worker.use_spec(test_spec)
    job = worker.job({"workflow": "smoke-text", "text": "a fox in the snow", "frames": 5}, "text")
    result = worker.run(job)
    assert set(result) == {"output"}, result
    output = result["output"]
    assert re.fullmatch(rf"a fox in the snow #{re.escape(job['id'])}-[0-9a-f]{{12}}", output["enhanced_prompt"])
    assert decode_video(output["video"])["frames"] == output["frames"] == 5


def test_the_same_job_twice_gets_a_fresh_valid_video_both_times(worker):
    request = {"workflow": "smoke", "width": 64, "height": 48, "frames": 7, "color": "#2040c0"}
    job_id = worker.tier.job_id("twice")
    first = worker.run({"id": job_id, "input": request})
    second = worker.run({"id": job_id, "input": request})  # the same graph except the prefix: cache serves the rest
    for result in (first, second):
        assert set(result) == {"output"}, result
        video = decode_video(result["output"]["video"])
        assert (video["width"], video["height"], video["frames"]) == (64, 48, 7)


def test_a_running_job_past_its_deadline_is_interrupted_and_comfyui_lets_go_of_it(worker, test_spec):
    worker.use_spec(test_spec)
    worker.configure(JOB_TIMEOUT_S=2)
    job = worker.job({"workflow": "slow", "frames": 32}, "deadline")  # about 10 s of work on 2 CPU cores
    result = worker.run(job)
    assert set(result) == {"error"}, result
    assert result["error"].startswith("the job ran past its 2 s deadline (JOB_TIMEOUT_S)"), result
    assert result["error"].endswith("; it was interrupted")
    assert worker.tier.http.prompts_marked(job["id"]) == (set(), set())  # idle again: nothing of it runs or waits
    entries = [e for e in worker.tier.http.recent_history().values() if job["id"] in str(e.get("prompt"))]
    assert [e["status"]["messages"][-1][0] for e in entries] == ["execution_interrupted"]
    assert {n["class_type"] for n in render_graph(test_spec, {"workflow": "slow"}).values()} == SLOW_NODE_CLASSES


def test_a_websocket_cut_mid_job_still_delivers_the_video(worker, test_spec):
    worker.use_spec(test_spec)
    host, port = worker.tier.url.split("://", 1)[1].split(":")
    with TcpProxy(host, int(port)) as proxy:
        worker.configure(COMFYUI_URL=proxy.url)
        job = worker.job({"workflow": "slow", "frames": 12, "size": 192}, "wscut")
        running = worker.start(job)
        wait_for_prompt(worker.tier.http, job["id"], "running")
        assert proxy.cut_all() >= 1  # the job's websocket (and any HTTP connection open right then)
        result = running.wait(120)
        connections = proxy.accepted
    assert set(result) == {"output"}, result
    video = decode_video(result["output"]["video"])
    assert (video["width"], video["height"], video["frames"]) == (192, 192, 12)
    assert connections >= 3  # the first websocket, the probe after the cut, the websocket again (or polling)


def test_a_comfyui_that_accepts_connections_and_never_answers_fails_the_job_by_its_deadline(worker):
    silent = socket.create_server(("127.0.0.1", 0), backlog=64)  # the kernel accepts; nobody ever reads
    try:
        worker.configure(COMFYUI_URL=f"http://127.0.0.1:{silent.getsockname()[1]}", JOB_TIMEOUT_S=2)
        started = time.monotonic()
        result = worker.run(worker.job({"workflow": "smoke", "frames": 2}, "silent"))
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert set(result) == {"error", "stopPod"} and result["stopPod"] is True, result  # ComfyUI is wedged
    assert elapsed <= 2 + 1, f"the job ended {elapsed:.1f} s after it started; its deadline was 2 s: {result}"
