"""Benchmark the handler against the instant ComfyUI stand-in: per-job overhead, 50 MB delivery, import cost.

Run: .venv/bin/python benchmarks/bench_handler.py [--jobs 200] [--big-mb 50]
Prints numbers and ratios only; targets (overhead p50 < 20 ms, 50 MB peak < 3x) are for the reader.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make the project importable

from engine.files import ROOT  # noqa: E402
from tests.support.comfyui_standin import ComfyStandIn, Scenario  # noqa: E402

SMOKE = {"workflow": "smoke", "width": 32, "height": 32, "frames": 8}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def configure(comfy: ComfyStandIn, inputs: Path, outputs: Path) -> None:
    """Point the in-process handler at the stand-in."""
    os.environ.update(COMFYUI_URL=comfy.url, COMFYUI_INPUT_DIR=str(inputs), COMFYUI_OUTPUT_DIR=str(outputs),
                      LOG_LEVEL="WARNING", INLINE_MAX_BYTES=str(10**9))
    for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY",
                 "RUNPOD_WEBHOOK_POST_OUTPUT"):
        os.environ.pop(name, None)


def bench_overhead(handler, comfy: ComfyStandIn, jobs: int) -> None:
    """Job in -> result out, minus the stand-in's own time (POST /prompt received -> completion sent)."""
    comfy.scenario = Scenario()
    for _ in range(10):
        handler.handler({"id": "warmup", "input": SMOKE})
    totals, overheads = [], []
    for n in range(jobs):
        before = len(comfy.exec_seconds)
        started = time.perf_counter()
        result = handler.handler({"id": f"bench-{n}", "input": SMOKE})
        total = time.perf_counter() - started
        assert "video" in result, result
        totals.append(total)
        overheads.append(total - sum(comfy.exec_seconds[before:]))
    ms = [o * 1000 for o in overheads]
    print(f"handler overhead per job, small output ({jobs} jobs): p50 {percentile(ms, 50):.2f} ms, "
          f"p99 {percentile(ms, 99):.2f} ms, mean {statistics.mean(ms):.2f} ms "
          f"(total p50 {percentile(totals, 50) * 1000:.2f} ms; target p50 < 20 ms)")


def bench_big(handler, comfy: ComfyStandIn, size_mb: int) -> None:
    """Inline delivery of a big output: time, and peak Python memory as a multiple of the file size."""
    size = size_mb * 1_000_000
    comfy.scenario = Scenario(output_bytes=size)
    started = time.perf_counter()
    result = handler.handler({"id": "big-time", "input": SMOKE})
    seconds = time.perf_counter() - started
    assert len(result["video"]) == 4 * ((size + 2) // 3), result.get("error")
    del result
    tracemalloc.start()
    result = handler.handler({"id": "big-memory", "input": SMOKE})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "video" in result
    del result
    print(f"inline delivery of {size_mb} MB: {seconds * 1000:.0f} ms job in -> result out, "
          f"peak Python memory {peak / 1e6:.1f} MB = {peak / size:.2f}x the file (target < 3x)")


def bench_bucket(handler, comfy: ComfyStandIn, size_mb: int) -> None:
    """Bucket delivery of a big output to moto on loopback (upload time is mostly moto's)."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                 region_name="us-east-1").create_bucket(Bucket="videos")
    os.environ.update(BUCKET_ENDPOINT_URL=endpoint, BUCKET_ACCESS_KEY_ID="k", BUCKET_SECRET_ACCESS_KEY="s",
                      BUCKET_NAME="videos")
    size = size_mb * 1_000_000
    comfy.scenario = Scenario(output_bytes=size)
    try:
        started = time.perf_counter()
        result = handler.handler({"id": "big-bucket", "input": SMOKE})
        seconds = time.perf_counter() - started
        assert "video_url" in result, result
        print(f"bucket delivery of {size_mb} MB to moto on loopback: {seconds * 1000:.0f} ms job in -> result out "
              "(memory not measured: moto keeps the object in this same process)")
    finally:
        for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY", "BUCKET_NAME"):
            os.environ.pop(name, None)
        server.stop()


def import_cost(module: str, runs: int = 5) -> tuple[float, float]:
    """Median seconds and peak RSS (MB, VmHWM: ru_maxrss would inherit this parent's peak) of a fresh import."""
    code = ("import re, time; t = time.perf_counter(); import {m}; s = time.perf_counter() - t; "
            "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
            "print(s, int(hwm) / 1024)").format(m=module)
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        seconds, rss = out.stdout.split()
        samples.append((float(seconds), float(rss)))
    return statistics.median(s for s, _ in samples), statistics.median(r for _, r in samples)


def bench_imports() -> None:
    """`import handler` against `import runpod`, each in fresh interpreters."""
    base_rss = import_cost("sys")[1]
    runpod_s, runpod_rss = import_cost("runpod")
    handler_s, handler_rss = import_cost("handler")
    print(f"import runpod: {runpod_s * 1000:.0f} ms, {runpod_rss - base_rss:.1f} MB over a bare interpreter")
    print(f"import handler: {handler_s * 1000:.0f} ms, {handler_rss - base_rss:.1f} MB "
          f"(= {handler_s / runpod_s:.2f}x the time and {(handler_rss - base_rss) / (runpod_rss - base_rss):.2f}x "
          f"the memory of import runpod; +{(handler_s - runpod_s) * 1000:.0f} ms, "
          f"+{handler_rss - runpod_rss:.1f} MB)")


def main() -> None:
    """Run every measurement and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--big-mb", type=int, default=50)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # keep the SDK's upload progress quiet
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # and moto's request log
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp, "input"), Path(tmp, "output")
        inputs.mkdir()
        outputs.mkdir()
        with ComfyStandIn(inputs, outputs) as comfy:
            configure(comfy, inputs, outputs)
            import handler

            bench_overhead(handler, comfy, args.jobs)
            bench_big(handler, comfy, args.big_mb)
            bench_bucket(handler, comfy, args.big_mb)
        leftovers = [p for p in Path(tmp).rglob("*") if p.is_file()]
        print(f"job files left in ComfyUI's input/output dirs: {len(leftovers)}")
    bench_imports()


if __name__ == "__main__":
    main()
