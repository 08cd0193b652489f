"""Run the benchmark matrix through the worker's own job function and record what each job cost.

On the GPU machine (benchmarks/gpu/device.sh calls it after installing ComfyUI):

    python benchmarks/gpu/run.py --comfy-dir /tmp/gpubench/ComfyUI --out $OUT --deadline EPOCH

writes the synthetic weights, starts ComfyUI on the GPU, runs the LTX-2 matrix (matrix.py) with
``worker.job.run_sync`` until the deadline, and keeps results.json / results.md in --out up to date.
``--dry-run --comfy-url URL`` runs the smoke matrix against a ComfyUI already running (no weights, no GPU).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import report  # noqa: E402
from matrix import Case, first_frame, ltx2_matrix, smoke_matrix  # noqa: E402

PORT = 8188
MARGIN_S = 20
"""Time kept back at the deadline for the last report and stopping ComfyUI."""
TQDM_DONE = re.compile(r"(\d+)/(\d+) \[(?:(\d+):)?(\d+):(\d+)<")


class GpuMemory:
    """nvidia-smi polled every half second in a thread: the peak of used memory over a window."""

    def __init__(self) -> None:
        self.available = shutil.which("nvidia-smi") is not None
        self._samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        if self.available:
            threading.Thread(target=self._poll, name="gpu-memory", daemon=True).start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, check=False).stdout.split()
            if out:
                self._samples.append((time.monotonic(), int(out[0])))
            self._stop.wait(0.5)

    def peak(self, since: float) -> int | None:
        """The most MiB used since ``since`` (time.monotonic), or None without nvidia-smi."""
        values = [mib for at, mib in self._samples if at >= since]
        return max(values) if values else None

    def stop(self) -> None:
        self._stop.set()


def gpu_name() -> str | None:
    """The GPU's name and memory as nvidia-smi reports them, or None."""
    if shutil.which("nvidia-smi") is None:
        return None
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                         capture_output=True, text=True, check=False).stdout.strip()
    return out or None


def sampler_runs(log_text: str) -> list[dict[str, Any]]:
    """Each finished tqdm bar in ComfyUI's log (one per sampling run): steps and seconds."""
    runs = []
    for match in TQDM_DONE.finditer(log_text):
        done, total, hours, minutes, seconds = match.groups()
        if done == total and int(total) > 1:
            runs.append({"steps": int(total), "seconds": int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)})
    return runs


def decode(video_b64: str) -> dict[str, Any]:
    """Decode the whole mp4 with PyAV: width, height and frame count."""
    import av

    with av.open(io.BytesIO(base64.b64decode(video_b64))) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return {"width": stream.codec_context.width, "height": stream.codec_context.height, "frames": frames}


def check_video(result: dict[str, Any]) -> tuple[dict[str, Any] | None, bool | None]:
    """The decoded video and whether it matches the reported width, height and frames."""
    if "video" not in result:
        return None, None
    video = decode(result["video"])
    reported = {key: result.get(key) for key in ("width", "height", "frames")}
    return video, video == reported


def run_case(case: Case, memory: GpuMemory, log_path: Path | None) -> dict[str, Any]:
    """One job through worker.job.run_sync; its row."""
    from worker.job import run_sync

    log_start = log_path.stat().st_size if log_path and log_path.exists() else 0
    started = time.monotonic()
    result = run_sync({"id": f"bench-{case.id}", "input": case.input})
    row: dict[str, Any] = {"case": case.id, "wall_s": round(time.monotonic() - started, 1),
                           "peak_gpu_mib": memory.peak(started)}
    if "error" in result:
        return {**row, "status": "failed", "error": result["error"]}
    video, matches = check_video(result)
    timings = result.get("timings", {})
    row.update(status="ok", video=video, decoded=matches, execution_s=timings.get("execution_s"),
               queue_wait_s=timings.get("queue_wait_s"),
               reported={k: result.get(k) for k in ("workflow", "width", "height", "frames", "seed")})
    if "enhanced_prompt" in result:
        row["enhanced_prompt_chars"] = len(result["enhanced_prompt"])
    if log_path and log_path.exists():
        with open(log_path, "rb") as log:
            log.seek(log_start)
            row["samplers"] = sampler_runs(log.read().decode(errors="replace"))
    return row


def answers(url: str) -> bool:
    """Whether ComfyUI's /system_stats answers."""
    try:
        with urllib.request.urlopen(f"{url}/system_stats", timeout=3):
            return True
    except OSError:
        return False


def start_comfyui(comfy_dir: Path, log_path: Path, timeout_s: float) -> subprocess.Popen:
    """ComfyUI on the GPU on 127.0.0.1:PORT, without the frontend packages (an empty web root)."""
    web = comfy_dir.parent / "web"
    web.mkdir(exist_ok=True)
    (web / "index.html").write_text("<!doctype html><title>benchmark</title>\n")
    log = open(log_path, "wb")
    process = subprocess.Popen([sys.executable, "main.py", "--listen", "127.0.0.1", "--port", str(PORT),
                                "--disable-auto-launch", "--front-end-root", str(web),
                                "--database-url", "sqlite:///:memory:"],
                               cwd=comfy_dir, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + timeout_s
    while not answers(f"http://127.0.0.1:{PORT}"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"ComfyUI did not start; log tail:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    return process


def configure_worker(url: str, comfy_dir: Path) -> None:
    """The worker's environment: that ComfyUI, every workflow, results inline whatever their size."""
    os.environ.update(COMFYUI_URL=url, COMFYUI_OUTPUT_DIR=str(comfy_dir / "output"),
                      COMFYUI_INPUT_DIR=str(comfy_dir / "input"), ENABLED_WORKFLOWS="all",
                      INLINE_MAX_BYTES=str(1 << 31), COMFYUI_HTTP_TIMEOUT_S="60", LOG_LEVEL="INFO")


def run_matrix(cases: list[Case], results: dict[str, Any], out: Path, deadline: float, memory: GpuMemory,
               log_path: Path | None) -> None:
    """Each case until the deadline (the job's own deadline is what is left); the report after each."""
    for case in cases:
        left = deadline - time.time() - MARGIN_S
        if left < 30:
            results["rows"].append({"case": case.id, "status": "not run", "error": "deadline reached"})
            continue
        os.environ["JOB_TIMEOUT_S"] = str(int(left))
        results["rows"].append(run_case(case, memory, log_path))
        results["elapsed_s"] = round(time.time() - results["started_epoch"], 1)
        report.write(results, out)
        print(json.dumps(results["rows"][-1])[:2000], flush=True)


def main() -> None:
    """The GPU run, or the dry run against a running ComfyUI."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfy-dir", type=Path, required=True, help="the ComfyUI folder")
    parser.add_argument("--out", type=Path, required=True, help="where results.json / results.md go")
    parser.add_argument("--deadline", type=float, help="epoch seconds by which everything must end "
                                                       "(default: 9 minutes from now)")
    parser.add_argument("--dry-run", action="store_true", help="the smoke matrix against --comfy-url")
    parser.add_argument("--comfy-url", help="a running ComfyUI (dry run)")
    args = parser.parse_args()
    deadline = args.deadline or time.time() + 540
    results: dict[str, Any] = {"device": gpu_name(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                               "started_epoch": time.time(), "rows": [], "dry_run": args.dry_run}
    memory = GpuMemory()
    process = None
    try:
        if args.dry_run:
            url, log_path, cases = args.comfy_url.rstrip("/"), None, smoke_matrix()
        else:
            from write_weights import write_plan
            from plan import PLAN

            began = time.monotonic()
            results["weights"] = write_plan(args.comfy_dir / "models", PLAN, "cuda")
            results["weights_s"] = round(time.monotonic() - began, 1)
            began, log_path = time.monotonic(), args.out / "comfyui.log"
            process = start_comfyui(args.comfy_dir, log_path, timeout_s=180)
            results["comfyui_start_s"] = round(time.monotonic() - began, 1)
            url, cases = f"http://127.0.0.1:{PORT}", ltx2_matrix(first_frame())
        configure_worker(url, args.comfy_dir)
        report.write(results, args.out)
        run_matrix(cases, results, args.out, deadline, memory, log_path)
    finally:
        memory.stop()
        if process is not None:
            process.terminate()
            process.wait(30)
        results["elapsed_s"] = round(time.time() - results["started_epoch"], 1)
        report.write(results, args.out)


if __name__ == "__main__":
    main()
