"""ComfyClient against the stand-in: each endpoint, readable rejections, dead server diagnosis."""

import socket
import time
import uuid

import pytest

from engine.errors import ComfyFailed, ComfyRejected, ComfyUnreachable
from tests.support import smoke_graph
from tests.support.comfyui_standin import REJECT_400_BODY, Scenario
from worker.comfyui import ComfyClient

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_history(client, prompt_id):
    for _ in range(200):
        entry = client.history(prompt_id)
        if entry:
            return entry
        time.sleep(0.01)
    raise AssertionError("prompt never finished")


def test_system_stats_and_an_unreachable_server_named_by_address(comfy):
    assert ComfyClient(comfy.url).system_stats()["system"]["comfyui_version"] == "0.27.0"
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ComfyUnreachable, match=f"ComfyUI is not reachable at {url}") as err:
        ComfyClient(url, timeout=1).system_stats()
    assert err.value.refresh_worker


def test_upload_returns_the_name_comfyui_chose(comfy, comfy_dirs):
    client = ComfyClient(comfy.url)
    assert client.upload_image(PNG, "job-1234567890.png", "image/png") == "job-1234567890.png"
    assert client.upload_image(PNG, "job-1234567890.png", "image/png") == "job-1234567890.png"
    assert client.upload_image(PNG + b"x", "job-1234567890.png", "image/png") == "job-1234567890 (1).png"
    assert (comfy_dirs[0] / "job-1234567890 (1).png").read_bytes() == PNG + b"x"


def test_queue_history_and_view(comfy, comfy_dirs, tmp_path):
    client = ComfyClient(comfy.url)
    prompt_id = str(uuid.uuid4())
    answer = client.queue_prompt(smoke_graph("video/job-a"), "client-a", prompt_id)
    assert answer["prompt_id"] == prompt_id and answer["node_errors"] == {}
    entry = _wait_history(client, prompt_id)
    item = entry["outputs"]["3"]["images"][0]
    assert entry["outputs"]["3"]["animated"] == [True]
    size = client.view_to_file(item["filename"], item["subfolder"], "output", str(tmp_path / "copy.mp4"))
    assert (tmp_path / "copy.mp4").read_bytes() == (comfy_dirs[1] / "video" / item["filename"]).read_bytes()
    assert size == 2048
    with pytest.raises(ComfyFailed, match="no output file 'missing.mp4'"):
        client.view_to_file("missing.mp4", "", "output", str(tmp_path / "missing.mp4"))
    assert client.history(str(uuid.uuid4())) is None


def test_a_400_is_rejected_with_one_line_per_node(comfy):
    comfy.scenario = Scenario(reject="400")
    with pytest.raises(ComfyRejected) as err:
        ComfyClient(comfy.url).queue_prompt(smoke_graph(), "c", str(uuid.uuid4()), lambda node, inputs: ["width"])
    assert str(err.value).splitlines()[1] == ("node 1 (EmptyImage) input width: value 20000 bigger than max of 16384 "
                                              "(request parameter: width)")


def test_a_200_with_node_errors_is_rejected_and_taken_back_from_the_queue(comfy):
    comfy.scenario = Scenario(reject="node_errors", reject_body=REJECT_400_BODY)
    prompt_id = str(uuid.uuid4())
    with pytest.raises(ComfyRejected, match="node 1 \\(EmptyImage\\) input width"):
        ComfyClient(comfy.url).queue_prompt(smoke_graph(), "c", prompt_id)
    assert comfy.queue_deletes == [[prompt_id]]
    assert comfy.interrupts == [{"prompt_id": prompt_id}]


def test_interrupt_and_queue_state_of_a_hung_prompt(comfy):
    comfy.scenario = Scenario(outcome="hang")
    client = ComfyClient(comfy.url)
    prompt_id = str(uuid.uuid4())
    client.queue_prompt(smoke_graph(), "c", prompt_id)
    time.sleep(0.05)
    assert client.in_queue(prompt_id)
    client.interrupt(prompt_id)
    entry = _wait_history(client, prompt_id)
    assert entry["status"]["status_str"] == "error"
    assert not client.in_queue(prompt_id)
