"""The worker on a real ComfyUI, measured in one run:

- handler overhead per smoke job: the handler (through the runpod SDK's job runner) against the least
  possible client (websocket, POST /prompt, wait for the end, GET /history, read the file), alternating;
- cancel to idle: a running job's task cancelled the way the SDK does it (task.cancel()), timed to the
  task's end and to ComfyUI no longer holding the prompt.

    COMFYUI_TEST_URL=http://127.0.0.1:8188 COMFYUI_TEST_DIR=/path/to/ComfyUI \\
        python benchmarks/bench_comfyui.py [--jobs 30] [--cancels 5]

The same ComfyUI the integration tier uses (tests/integration/README.md says how to start one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make the project importable

import aiohttp  # noqa: E402
from runpod.serverless.modules import rp_job  # noqa: E402

import engine  # noqa: E402
from engine.files import ROOT  # noqa: E402
from worker import job  # noqa: E402

SMOKE = {"workflow": "smoke", "width": 64, "height": 64, "frames": 8}
SLOW = {"workflow": "slow", "frames": 16, "size": 256}
TEST_SPEC = ROOT / "tests" / "integration" / "spec" / "mappings.yaml"


def least_graph(prefix: str) -> dict:
    """The very graph the handler sends for SMOKE, with a unique file name: what a hand-written client sends."""
    spec = engine.load_spec()
    graph = spec.render(spec.prepare(SMOKE), {"job_id": "x", "random_seed": 0}).graph
    for node in graph.values():
        if node["class_type"] == "SaveVideo":
            node["inputs"]["filename_prefix"] = prefix
    return graph


async def least_client(session: aiohttp.ClientSession, url: str, output: Path) -> float:
    """One smoke video the cheapest correct way; returns seconds."""
    client_id, prompt_id, prefix = uuid.uuid4().hex, str(uuid.uuid4()), f"bench-least-{uuid.uuid4().hex}"
    graph = least_graph(prefix)
    started = time.perf_counter()
    async with session.ws_connect(f"{url.replace('http', 'ws', 1)}/ws?clientId={client_id}") as ws:
        body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        async with session.post(f"{url}/prompt", json=body) as response:
            assert response.status == 200, await response.text()
        while True:
            data = json.loads((await ws.receive()).data)
            if data["type"] == "executing" and data["data"].get("prompt_id") == prompt_id and \
                    data["data"].get("node") is None:
                break
    async with session.get(f"{url}/history/{prompt_id}") as response:
        item = (await response.json())[prompt_id]["outputs"]["3"]["images"][0]
    path = output / item["subfolder"] / item["filename"]
    path.read_bytes()
    seconds = time.perf_counter() - started
    path.unlink()
    return seconds


async def through_handler(n: int) -> float:
    started = time.perf_counter()
    result = await rp_job.run_job(job.handler, {"id": f"bench-{n}", "input": SMOKE})
    assert "output" in result and "video" in result["output"], result
    return time.perf_counter() - started


async def bench_overhead(url: str, output: Path, jobs: int) -> None:
    handler_s, least_s = [], []
    async with aiohttp.ClientSession() as session:
        await least_client(session, url, output)
        await through_handler(-1)
        for n in range(jobs):
            least_s.append(await least_client(session, url, output))
            handler_s.append(await through_handler(n))
    h, least = statistics.median(handler_s), statistics.median(least_s)
    print(f"smoke job, median of {jobs}: handler {h * 1e3:.1f} ms, least possible client {least * 1e3:.1f} ms, "
          f"overhead {(h - least) * 1e3:+.1f} ms ({h / least:.2f}x)")


async def running_prompt(url: str, session: aiohttp.ClientSession) -> str | None:
    async with session.get(f"{url}/queue") as response:
        running = (await response.json())["queue_running"]
    return running[0][1] if running else None


async def bench_cancel(url: str, cancels: int) -> None:
    job._spec = engine.load_spec(TEST_SPEC)
    to_end, to_idle = [], []
    async with aiohttp.ClientSession() as session:
        for n in range(cancels):
            task = asyncio.create_task(rp_job.run_job(job.handler, {"id": f"bench-cancel-{n}", "input": SLOW}))
            prompt = None
            while prompt is None:
                await asyncio.sleep(0.05)
                prompt = await running_prompt(url, session)
            await asyncio.sleep(0.5)
            cancelled = time.perf_counter()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                to_end.append(time.perf_counter() - cancelled)
            while await running_prompt(url, session) == prompt:
                await asyncio.sleep(0.01)
            to_idle.append(time.perf_counter() - cancelled)
            await asyncio.sleep(1)  # the clean-up beside the worker removes what ComfyUI wrote
    print(f"cancel of a running job, median of {cancels}: task ended after {statistics.median(to_end) * 1e3:.0f} ms, "
          f"ComfyUI idle after {statistics.median(to_idle) * 1e3:.0f} ms (max {max(to_idle) * 1e3:.0f} ms)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--cancels", type=int, default=5)
    args = parser.parse_args()
    url, folder = os.environ.get("COMFYUI_TEST_URL"), os.environ.get("COMFYUI_TEST_DIR")
    if not url or not folder:
        print("set COMFYUI_TEST_URL and COMFYUI_TEST_DIR (see tests/integration/README.md)", file=sys.stderr)
        return 2
    output = Path(folder) / "output"
    os.environ.update({"COMFYUI_URL": url, "COMFYUI_OUTPUT_DIR": str(output), "LOG_LEVEL": "WARNING",
                       "COMFYUI_INPUT_DIR": str(Path(folder) / "input"), "ENABLED_WORKFLOWS": "all"})
    job.setup_logging()
    asyncio.run(bench_overhead(url, output, args.jobs))
    asyncio.run(bench_cancel(url, args.cancels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
