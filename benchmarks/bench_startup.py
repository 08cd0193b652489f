"""Container start to first job ready: ``python -m deploy`` on a real ComfyUI (CPU), timed from spawn to
the log line that hands over to the RunPod job loop ("starting the handler"), in this checkout and in
another commit's, alternately, so both see the same machine.

    .venv/bin/python benchmarks/bench_startup.py --comfyui /tmp/comfy [--against HEAD] [--runs 3]

``--comfyui`` is an install made by ../shared/comfyui/real/install.sh (DIR/ComfyUI, DIR/venv). Only the
smoke workflow is enabled: the LTX-2 ones need model files for preflight.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make the project importable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_against import checkout  # noqa: E402
from engine.files import ROOT  # noqa: E402
from tests.support import free_port  # noqa: E402

READY = "starting the handler"


def start_seconds(checkout: Path, comfyui: Path, timeout: float = 180.0) -> float:
    """Seconds from spawning ``python -m deploy`` in ``checkout`` to its READY line; stops it after."""
    env = {**os.environ, "COMFYUI_DIR": str(comfyui / "ComfyUI"), "COMFYUI_PYTHON": str(comfyui / "venv/bin/python"),
           "COMFYUI_URL": f"http://127.0.0.1:{free_port()}", "COMFYUI_ARGS": "--cpu", "ENABLED_WORKFLOWS": "smoke",
           "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "deploy"], cwd=checkout, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in process.stdout:
            if READY in line:
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout:
                break
        raise RuntimeError(f"python -m deploy in {checkout} never said {READY!r} (exit {process.poll()})")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", type=Path, required=True)
    parser.add_argument("--against", default="HEAD", help="the commit to compare with (default HEAD)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with checkout(args.against) as other:
        before, after = [], []
        for _ in range(args.runs):
            before.append(start_seconds(other, args.comfyui))
            after.append(start_seconds(ROOT, args.comfyui))
    b, a = statistics.median(before), statistics.median(after)
    print(f"start to first job ready, real ComfyUI on CPU, {args.runs} runs each: {args.against} median {b:.2f} s "
          f"{[round(s, 2) for s in before]}; this checkout median {a:.2f} s {[round(s, 2) for s in after]}; "
          f"{a - b:+.2f} s ({a / b:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
