"""The recorded exchanges with ComfyUI 0.27.0 (tests/data/comfyui_records.json) as checks that run
against any server: the stand-in in the unit tier, the real ComfyUI in the integration tier. They hold
the stand-in to what the real server does, wherever the worker relies on it.

Each check is ``async def check(url, output_dir, tag)`` and asserts; it removes the files it made, whose
names (and prompts) carry ``tag``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp

from tests.support import DATA

RECORDS = json.loads((DATA / "comfyui_records.json").read_text(encoding="utf-8"))

Check = Callable[[str, Path, str], Awaitable[None]]


def prompt_events(messages: list[dict], prompt_id: str) -> list[tuple[str, Any]]:
    """A prompt's websocket messages as (type, node): what the worker reads, without ids and clocks."""
    events = []
    for message in messages:
        data = message.get("data") or {}
        if isinstance(data, dict) and data.get("prompt_id") == prompt_id:
            events.append((message["type"], data.get("node")))
    return events


def history_shape(entry: dict) -> dict:
    """The parts of a /history entry the worker reads: outputs' keys and files' suffixes, status and its messages."""
    outputs = {node: {key: [Path(item["filename"]).suffix if isinstance(item, dict) else item for item in items]
                      for key, items in output.items()}
               for node, output in entry["outputs"].items()}
    status = entry["status"]
    return {"outputs": outputs, "status_str": status["status_str"], "completed": status["completed"],
            "messages": [kind for kind, _ in status["messages"]]}


async def check_video(url: str, output_dir: Path, tag: str = "contract") -> None:
    """records.json `video`: the smoke graph's websocket events, in order, and its history entry."""
    record = RECORDS["video"]
    recorded_id = record["post_response"]["prompt_id"]
    prefix = f"{tag}-contract-{uuid.uuid4().hex}"
    graph = json.loads(json.dumps(record["request"]["prompt"]))
    graph["3"]["inputs"]["filename_prefix"] = prefix
    client_id, prompt_id = uuid.uuid4().hex, str(uuid.uuid4())
    messages = []
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"{url.replace('http', 'ws', 1)}/ws?clientId={client_id}") as ws:
                body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
                async with session.post(f"{url}/prompt", json=body) as response:
                    assert response.status == record["post_status"]
                    answer = await response.json()
                assert set(answer) == set(record["post_response"]) and answer["node_errors"] == {}
                while not messages or prompt_events(messages[-1:], prompt_id) != [("executing", None)]:
                    messages.append(json.loads((await ws.receive(timeout=30)).data))
            async with session.get(f"{url}/history/{prompt_id}") as response:
                entry = (await response.json())[prompt_id]
        assert prompt_events(messages, prompt_id) == prompt_events([m["msg"] for m in record["ws_messages"]],
                                                                   recorded_id)
        assert history_shape(entry) == history_shape(record["history"][recorded_id])
    finally:
        for path in output_dir.rglob(f"{prefix}*"):
            path.unlink()


async def check_rejection(url: str, output_dir: Path, tag: str = "contract") -> None:
    """records.json `invalid_int_above_max`: a 400 whose body names the node, input and rule."""
    record = RECORDS["invalid_int_above_max"]
    body = {**record["request"], "client_id": f"{tag}-{uuid.uuid4().hex}"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/prompt", json=body) as response:
            assert (response.status, await response.json()) == (record["status"], record["response"])


async def check_unknown_history(url: str, output_dir: Path, tag: str = "contract") -> None:
    """records.json `history_unknown_prompt_id`: 200 with an empty object."""
    record = RECORDS["history_unknown_prompt_id"]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/history/{uuid.uuid4()}") as response:
            assert (response.status, await response.json()) == (record["status"], record["response"])


async def check_missing_view(url: str, output_dir: Path, tag: str = "contract") -> None:
    """records.json `view_missing_file`: 404."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/view", params={"filename": f"missing-{uuid.uuid4().hex}.mp4",
                                                      "subfolder": "", "type": "output"}) as response:
            assert response.status == RECORDS["view_missing_file"]["status"]


async def check_cancel_unknown(url: str, output_dir: Path, tag: str = "contract") -> None:
    """POST /api/jobs/{id}/cancel for an id no queue holds: 200 {"cancelled": false} (idempotent)."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/api/jobs/{uuid.uuid4()}/cancel") as response:
            assert (response.status, await response.json()) == (200, {"cancelled": False})


async def check_queue_shape(url: str, output_dir: Path, tag: str = "contract") -> None:
    """records.json `queue_after`: GET /queue has exactly the running and pending lists."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/queue") as response:
            answer = await response.json()
    assert response.status == 200 and set(answer) == set(RECORDS["queue_after"]["response"])


CHECKS: dict[str, Check] = {
    "video": check_video,
    "rejection": check_rejection,
    "unknown_history": check_unknown_history,
    "missing_view": check_missing_view,
    "cancel_unknown": check_cancel_unknown,
    "queue_shape": check_queue_shape,
}
"""Every exchange the stand-in claims to reproduce, by name."""
