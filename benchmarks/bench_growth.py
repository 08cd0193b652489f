"""Growth curves: render time against graph size and against the number of targets, spec load against
the number of workflows; each beside the hand-written baseline of bench_render.py measured in the same
run. Prints tables and draws benchmarks/results/growth.png.

    .venv/bin/python benchmarks/bench_growth.py [--iterations N] [--loads N]

What to look for: the engine's render stays flat in graph size (copy on write touches only the written
nodes) while the baseline's deep copy grows linearly; both grow linearly in targets; spec load grows
by about 1 ms per workflow at most.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make engine/ importable
sys.path.insert(0, str(Path(__file__).resolve().parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from bench_render import RUNTIME, alternate, cold_load_seconds, hand_written, percentile  # noqa: E402
from engine import load_spec  # noqa: E402
from synthetic import write_graph_spec, write_spec  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
NODES = (10, 50, 100, 500, 1000, 2000, 5000)
TARGETS = (1, 4, 16, 64, 256, 900)
WORKFLOWS = (6, 12, 25, 50, 100, 200)


def render_point(scratch: Path, nodes: int, targets: int, iterations: int) -> tuple[float, float]:
    """p50 microseconds of (engine, baseline) rendering the chain graph of ``nodes`` with ``targets`` writes."""
    spec = load_spec(write_graph_spec(scratch / f"{nodes}-{targets}", nodes, targets))
    workflow = spec.workflows["chain"]
    request = {"workflow": "chain"}
    baseline = hand_written(spec, workflow, request)
    gc.collect()
    engine_s, baseline_s = alternate(lambda: spec.render(spec.prepare(request), RUNTIME), baseline, iterations)
    return percentile(engine_s, 50) * 1e6, percentile(baseline_s, 50) * 1e6


def table(title: str, column: str, rows: list[tuple[int, float, float]], unit: str) -> None:
    """Print one growth table: x, engine, baseline (or nothing), ratio."""
    print(f"\n{title}")
    print(f"{column:>10} {'engine':>12} {'baseline':>12} {'ratio':>7}")
    for x, engine, baseline in rows:
        ratio = f"{engine / baseline:6.2f}x" if baseline else ""
        print(f"{x:>10} {engine:>10.1f}{unit} {baseline or 0:>10.1f}{unit} {ratio:>7}")


def plot(by_nodes: list, by_targets: list, by_workflows: list, path: Path) -> None:
    """Three log-log panels, engine against baseline where there is one."""
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    panels = ((axes[0], by_nodes, "graph nodes (4 targets)", "render p50 (us)"),
              (axes[1], by_targets, "targets (1000-node graph)", "render p50 (us)"),
              (axes[2], by_workflows, "workflows in the spec", "cold spec load (ms)"))
    for axis, rows, xlabel, ylabel in panels:
        xs = [x for x, _, _ in rows]
        axis.plot(xs, [e for _, e, _ in rows], "o-", label="engine")
        if any(b for _, _, b in rows):
            axis.plot(xs, [b for _, _, b in rows], "s--", label="hand-written baseline (deepcopy + assign)")
        axis.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle("ltx2-worker growth curves (benchmarks/bench_growth.py)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--loads", type=int, default=5, help="fresh interpreters per spec load point")
    parser.add_argument("--out", type=Path, default=RESULTS / "growth.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmp:
        scratch = Path(tmp)
        by_nodes = [(n, *render_point(scratch, n, 4, args.iterations)) for n in NODES]
        table("render against graph size (4 targets)", "nodes", by_nodes, "us")
        by_targets = [(t, *render_point(scratch, 1000, t, args.iterations)) for t in TARGETS]
        table("render against targets (1000-node graph)", "targets", by_targets, "us")
        by_workflows = []
        for count in WORKFLOWS:
            spec_path = write_spec(scratch / f"spec-{count}", count)
            by_workflows.append((count, statistics.median(cold_load_seconds(args.loads, str(spec_path))) * 1e3, 0.0))
        table("cold spec load against workflows (YAML aliases shared, as the shipped spec)", "workflows",
              by_workflows, "ms")
        slope = (by_workflows[-1][1] - by_workflows[0][1]) / (WORKFLOWS[-1] - WORKFLOWS[0])
        print(f"spec load: {slope:.2f} ms per additional workflow (target: about 1 ms at most)")
    plot(by_nodes, by_targets, by_workflows, args.out)
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
