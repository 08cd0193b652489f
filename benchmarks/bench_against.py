"""Start-up costs of this tree against another commit, measured side by side in the same run:
``import handler`` (what a RunPod worker pays before its first job) and a cold ``engine.load_spec()``.

    python benchmarks/bench_against.py [--baseline HEAD~1] [--runs 15]

The baseline is checked out into a temporary git worktree; each measurement is a fresh interpreter,
the two trees alternating so that machine noise hits both alike. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make engine/ importable

from engine.files import ROOT  # noqa: E402

PROBES = {
    "import handler": "import time; t = time.perf_counter(); import handler; print(time.perf_counter() - t)",
    "cold load_spec": ("import time, engine; t = time.perf_counter(); engine.load_spec(); "
                       "print(time.perf_counter() - t)"),
}


def seconds(tree: Path, code: str) -> float:
    """One probe in a fresh interpreter run inside ``tree``."""
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


@contextmanager
def checkout(commit: str) -> Iterator[Path]:
    """``commit`` checked out into a temporary git worktree of this repository, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), commit], cwd=ROOT, check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD~1", help="commit to compare against (default: HEAD~1)")
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per probe and tree")
    args = parser.parse_args()
    with checkout(args.baseline) as baseline:
        print(f"{'probe':<16} {'this tree':>10} {args.baseline:>12} {'ratio':>7}  (medians of {args.runs})")
        for name, code in PROBES.items():
            ours, theirs = [], []
            for _ in range(args.runs):
                ours.append(seconds(ROOT, code))
                theirs.append(seconds(baseline, code))
            a, b = statistics.median(ours), statistics.median(theirs)
            print(f"{name:<16} {a * 1e3:>8.1f}ms {b * 1e3:>10.1f}ms {a / b:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
