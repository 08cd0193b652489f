"""worker.comfyui against the stand-in: each endpoint, readable rejections, dead server diagnosis."""

import asyncio
import uuid

import pytest

from engine.errors import ComfyFailed, ComfyRejected, ComfyUnreachable
from tests.support import free_port, run_async, smoke_graph
from tests.support.comfyui_standin import REJECT_400_BODY, Scenario
from worker.comfyui import ComfyClient, wait_ready

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


async def _wait_history(client, prompt_id):
    for _ in range(200):
        entry = await client.history(prompt_id)
        if entry:
            return entry
        await asyncio.sleep(0.01)
    raise AssertionError("prompt never finished")


@run_async
async def test_system_stats_answers_with_the_version(comfy):
    async with ComfyClient.open(comfy.url) as client:
        assert (await client.system_stats())["system"]["comfyui_version"] == "0.27.0"


@run_async
async def test_an_unreachable_server_is_named_by_address_and_asks_for_a_fresh_worker():
    url = f"http://127.0.0.1:{free_port()}"
    async with ComfyClient.open(url, timeout=1) as client:
        with pytest.raises(ComfyUnreachable, match=f"ComfyUI is not reachable at {url}") as err:
            await client.system_stats()
        with pytest.raises(ComfyUnreachable, match=f"ComfyUI is not reachable at {url}: \\[Errno 111\\]"):
            await client.websocket("c")
    assert err.value.refresh_worker


@run_async
async def test_upload_returns_the_name_comfyui_chose(comfy, comfy_dirs):
    async with ComfyClient.open(comfy.url) as client:
        assert await client.upload_image(PNG, "job-1234567890.png", "image/png") == "job-1234567890.png"
        assert await client.upload_image(PNG, "job-1234567890.png", "image/png") == "job-1234567890.png"
        assert await client.upload_image(PNG + b"x", "job-1234567890.png", "image/png") == "job-1234567890 (1).png"
    assert (comfy_dirs[0] / "job-1234567890 (1).png").read_bytes() == PNG + b"x"


@run_async
async def test_queue_history_and_view(comfy, comfy_dirs, tmp_path):
    async with ComfyClient.open(comfy.url) as client:
        prompt_id = str(uuid.uuid4())
        answer = await client.queue_prompt(smoke_graph("video/job-a"), "client-a", prompt_id)
        assert answer["prompt_id"] == prompt_id and answer["node_errors"] == {}
        entry = await _wait_history(client, prompt_id)
        item = entry["outputs"]["3"]["images"][0]
        assert entry["outputs"]["3"]["animated"] == [True]
        size = await client.view_to_file(item["filename"], item["subfolder"], "output", str(tmp_path / "copy.mp4"))
        assert (tmp_path / "copy.mp4").read_bytes() == (comfy_dirs[1] / "video" / item["filename"]).read_bytes()
        assert size == 2048
        with pytest.raises(ComfyFailed, match="no output file 'missing.mp4'"):
            await client.view_to_file("missing.mp4", "", "output", str(tmp_path / "missing.mp4"))
        assert await client.history(str(uuid.uuid4())) is None


@run_async
async def test_a_400_is_rejected_with_one_line_per_node(comfy):
    comfy.scenario = Scenario(reject="400")
    async with ComfyClient.open(comfy.url) as client:
        with pytest.raises(ComfyRejected) as err:
            await client.queue_prompt(smoke_graph(), "c", str(uuid.uuid4()), lambda node, inputs: ["width"])
    assert str(err.value).splitlines()[1] == ("node 1 (EmptyImage) input width: value 20000 bigger than max of 16384 "
                                              "(request parameter: width)")


@run_async
async def test_a_200_with_node_errors_is_rejected_and_taken_back_from_the_queue(comfy):
    comfy.scenario = Scenario(reject="node_errors", reject_body=REJECT_400_BODY)
    prompt_id = str(uuid.uuid4())
    async with ComfyClient.open(comfy.url) as client:
        with pytest.raises(ComfyRejected, match="node 1 \\(EmptyImage\\) input width"):
            await client.queue_prompt(smoke_graph(), "c", prompt_id)
    assert comfy.cancels == [prompt_id]


@run_async
async def test_cancel_interrupts_a_running_prompt_and_says_whether_it_acted(comfy):
    comfy.scenario = Scenario(outcome="hang")
    prompt_id = str(uuid.uuid4())
    async with ComfyClient.open(comfy.url) as client:
        await client.queue_prompt(smoke_graph(), "c", prompt_id)
        await asyncio.sleep(0.05)
        assert await client.in_queue(prompt_id)
        assert await client.cancel(prompt_id) is True
        entry = await _wait_history(client, prompt_id)
        assert entry["status"]["status_str"] == "error"
        assert not await client.in_queue(prompt_id)
        assert await client.cancel(prompt_id) is False


@run_async
async def test_readiness_waits_until_the_server_answers_or_gives_up():
    async with ComfyClient.open(f"http://127.0.0.1:{free_port()}") as client:
        assert await wait_ready(client, 0.2, poll_s=0.05) is False
