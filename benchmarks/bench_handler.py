"""Benchmark the handler against the instant ComfyUI stand-in: per-job overhead and import cost.

Run: .venv/bin/python benchmarks/bench_handler.py [--jobs 200]
Prints numbers and ratios only; the target (overhead p50 < 20 ms) is for the reader. Big videos:
bench_delivery.py; overhead on the real ComfyUI: bench_comfyui.py.
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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make the project importable
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_render import percentile  # noqa: E402
from engine.files import ROOT  # noqa: E402
from tests.support.comfyui_standin import ComfyStandIn, Scenario  # noqa: E402

SMOKE = {"workflow": "smoke", "width": 32, "height": 32, "frames": 8}


@contextmanager
def standin_worker() -> Iterator[tuple[ComfyStandIn, Path]]:
    """The stand-in on loopback, with its input/output folders in a scratch folder (yielded too), and
    the in-process handler pointed at it: inline delivery, no bucket, not on RunPod."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp, "input"), Path(tmp, "output")
        inputs.mkdir()
        outputs.mkdir()
        with ComfyStandIn(inputs, outputs) as comfy:
            os.environ.update(COMFYUI_URL=comfy.url, COMFYUI_INPUT_DIR=str(inputs), COMFYUI_OUTPUT_DIR=str(outputs),
                              LOG_LEVEL="WARNING")
            for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY", "BUCKET_NAME",
                         "RUNPOD_WEBHOOK_POST_OUTPUT"):
                os.environ.pop(name, None)
            yield comfy, Path(tmp)


def bench_overhead(run_sync, comfy: ComfyStandIn, jobs: int) -> None:
    """Job in -> result out, minus the stand-in's own time (POST /prompt received -> completion sent)."""
    comfy.scenario = Scenario()
    for _ in range(10):
        run_sync({"id": "warmup", "input": SMOKE})
    totals, overheads = [], []
    for n in range(jobs):
        before = len(comfy.exec_seconds)
        started = time.perf_counter()
        result = run_sync({"id": f"bench-{n}", "input": SMOKE})
        total = time.perf_counter() - started
        assert "video" in result, result
        totals.append(total)
        overheads.append(total - sum(comfy.exec_seconds[before:]))
    ms = [o * 1000 for o in overheads]
    print(f"handler overhead per job, small output ({jobs} jobs): p50 {percentile(ms, 50):.2f} ms, "
          f"p99 {percentile(ms, 99):.2f} ms, mean {statistics.mean(ms):.2f} ms "
          f"(total p50 {percentile(totals, 50) * 1000:.2f} ms; target p50 < 20 ms)")


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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with standin_worker() as (comfy, scratch):
        from worker.job import run_sync

        bench_overhead(run_sync, comfy, args.jobs)
        leftovers = [p for p in scratch.rglob("*") if p.is_file()]
        print(f"job files left in ComfyUI's input/output dirs: {len(leftovers)}")
    bench_imports()


if __name__ == "__main__":
    main()
