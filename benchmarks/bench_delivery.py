"""Benchmark delivery of big videos: the whole process's peak memory, serialization included.

Each job runs through the worker's own handler against the ComfyUI stand-in (which writes an output
of the given size); an inline result then goes through the runpod SDK's own ``send_result`` (its
``json.dumps`` and aiohttp POST) to a loopback server that discards the body, as on RunPod. Bucket
uploads go to moto in a separate process, so the server's copy of the object is not counted.

    .venv/bin/python benchmarks/bench_delivery.py [--sizes-mb 50 200]

Targets (issue 12): inline 50 / 200 MB under 3x the video, or refused before the file is read with a
message naming the bucket variables; a 200 MB bucket upload under 0.5x. Peaks are tracemalloc's
(every Python allocation: the base64 text, the JSON, the request body, socket buffers).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make the project importable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_handler import standin_worker  # noqa: E402
from tests.support import free_port, wait_until  # noqa: E402
from tests.support.comfyui_standin import Scenario  # noqa: E402

SMOKE = {"workflow": "smoke", "width": 32, "height": 32, "frames": 8}
BUCKET_VARS = ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY", "BUCKET_NAME")


class DiscardServer:
    """A loopback HTTP server that reads each request body in small pieces, drops it and answers 200."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            connection, _ = self._socket.accept()
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    @staticmethod
    def _answer(connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as stream:
            while True:
                length = 0
                while (line := stream.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if not line:
                    return
                while length:
                    length -= len(stream.read(min(length, 1 << 16)))
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def post_result(job_id: str, result: dict, done_url: str) -> None:
    """Send the result as the SDK's job loop does on RunPod: rp_http.send_result with an aiohttp session."""
    import aiohttp
    from runpod.serverless.modules import rp_http

    rp_http.JOB_DONE_URL = f"{done_url}/done/$ID?gpu=bench"

    async def send() -> None:
        async with aiohttp.ClientSession() as session:
            await rp_http.send_result(session, {"output": result}, {"id": job_id})

    asyncio.run(send())


def peak_of(step: Callable[[], None]) -> int:
    """tracemalloc's peak (bytes over what was allocated before) while ``step`` runs."""
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def inline(run_sync: Callable[[dict], dict], size: int, done_url: str, limit: str | None) -> str:
    """One inline job, result posted through the SDK; a line with the peak as a multiple of the video."""
    os.environ.pop("INLINE_MAX_BYTES", None) if limit is None else os.environ.update(INLINE_MAX_BYTES=limit)
    outcome: dict = {}

    def job() -> None:
        started = time.perf_counter()
        result = run_sync({"id": f"inline-{size}-{limit}", "input": SMOKE})
        if "video" in result:
            post_result(f"inline-{size}", result, done_url)
        outcome.update(seconds=time.perf_counter() - started, error=result.get("error"), inline="video" in result)
        del result

    peak = peak_of(job)
    what = "delivered inline" if outcome["inline"] else f"refused: {outcome['error'][:150]}"
    setting = f"INLINE_MAX_BYTES={limit}" if limit else "default INLINE_MAX_BYTES"
    return (f"inline {size / 1e6:.0f} MB, {setting}: {what}; {outcome['seconds'] * 1000:.0f} ms, "
            f"peak {peak / 1e6:.1f} MB = {peak / size:.2f}x the video")


def moto_process() -> tuple[subprocess.Popen, str]:
    """moto's S3 server in its own process on a free port, with a ``videos`` bucket."""
    import boto3

    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1",
                                "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                          region_name="us-east-1")

    def bucket_made() -> bool:
        try:
            client.create_bucket(Bucket="videos")
            return True
        except Exception:  # not listening yet
            return False

    try:
        wait_until(bucket_made, "moto answers", timeout=30)
    except BaseException:
        process.terminate()
        raise
    return process, endpoint


def bucket(run_sync: Callable[[dict], dict], size: int) -> str:
    """One bucket job to moto in another process; a line with this process's peak as a multiple of the video."""
    process, endpoint = moto_process()
    os.environ.update(BUCKET_ENDPOINT_URL=endpoint, BUCKET_ACCESS_KEY_ID="k", BUCKET_SECRET_ACCESS_KEY="s",
                      BUCKET_NAME="videos")
    try:
        run_sync({"id": "bucket-warmup", "input": SMOKE})  # the storage client, made once per worker
        outcome: dict = {}

        def job() -> None:
            started = time.perf_counter()
            result = run_sync({"id": f"bucket-{size}", "input": SMOKE})
            outcome.update(seconds=time.perf_counter() - started, ok="video_url" in result, error=result.get("error"))

        peak = peak_of(job)
        assert outcome["ok"], outcome["error"]
        return (f"bucket {size / 1e6:.0f} MB to moto (another process): {outcome['seconds'] * 1000:.0f} ms, "
                f"peak {peak / 1e6:.1f} MB = {peak / size:.2f}x the video (target < 0.5x)")
    finally:
        for name in BUCKET_VARS:
            os.environ.pop(name, None)
        process.terminate()
        process.wait()


def main() -> None:
    """Print one line per measurement."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[50, 200])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with standin_worker() as (comfy, _):
        from worker.job import run_sync

        done = DiscardServer()
        for size_mb in args.sizes_mb:
            size = size_mb * 1_000_000
            comfy.scenario = Scenario(output_bytes=size)
            print(inline(run_sync, size, done.url, None), flush=True)
            print(inline(run_sync, size, done.url, str(2 * size)), flush=True)
            print(bucket(run_sync, size), flush=True)


if __name__ == "__main__":
    main()
