"""Benchmark: request -> graph (select + validate + derive + write plan + copy-on-write graph) per
workflow, against the hand-written baseline measured in the same run: a deep copy of the template
plus one dict assignment per written input (and a ``del`` per removed node), what workers write by
hand. The two alternate call by call, so machine noise hits both alike. Also times loading the spec
in fresh interpreters: the shipped one and 100 synthetic workflows (benchmarks/synthetic.py).

    python benchmarks/bench_render.py [--iterations N] [--loads N]

Targets (issue 12): every LTX-2 workflow's p50 <= 0.5x the baseline's and p99 <= 1x; cold load of the
shipped spec <= 30 ms, of 100 synthetic workflows < 150 ms.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make engine/ importable
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import load_spec  # noqa: E402
from engine.files import ROOT  # noqa: E402
from synthetic import write_spec  # noqa: E402

RUNTIME = {"job_id": "bench", "random_seed": 1, "input_image": "bench.png"}
COLD_LOAD = ("import sys, time, engine; t = time.perf_counter(); engine.load_spec(*sys.argv[1:]); "
             "print(time.perf_counter() - t)")


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def cold_load_seconds(runs: int, *args: str) -> list[float]:
    """load_spec(*args) in fresh interpreters (imports done first), so no cache from earlier loads helps."""
    return [float(subprocess.run([sys.executable, "-c", COLD_LOAD, *args], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout) for _ in range(runs)]


def hand_written(spec, workflow, request):
    """The baseline for ``request``: a plain template, the (node, input, value) writes the engine makes
    for it and the nodes it removes, then what a hand-written worker does with them."""
    rendered = spec.render(spec.prepare(request), RUNTIME)
    template = json.loads(json.dumps(workflow.template))  # a plain dict, as a worker would hold it
    writes, removed = [], []
    for op in rendered.patch:
        _, node, *rest = op["path"].split("/", 3)
        if op["op"] == "replace":
            writes.append((node.replace("~1", "/").replace("~0", "~"), rest[1], op["value"]))
        elif op["op"] == "remove":
            removed.append(node)

    def baseline():
        graph = copy.deepcopy(template)
        for node, input_name, value in writes:
            graph[node]["inputs"][input_name] = value
        for node in removed:
            del graph[node]
        return graph

    assert json.dumps(baseline()) == json.dumps(rendered.graph)
    return baseline


def alternate(engine, baseline, iterations: int) -> tuple[list[float], list[float]]:
    """Seconds per call of each, measured alternately, with the garbage collector as in production."""
    engine_s, baseline_s = [], []
    for _ in range(50):
        engine(), baseline()
    for _ in range(iterations):
        start = time.perf_counter()
        engine()
        middle = time.perf_counter()
        baseline()
        end = time.perf_counter()
        engine_s.append(middle - start)
        baseline_s.append(end - middle)
    return engine_s, baseline_s


def bench_renders(iterations: int) -> None:
    spec = load_spec()
    print(f"{'workflow':<16} {'nodes':>5} {'engine p50':>11} {'p99':>8} {'baseline p50':>13} {'p99':>8} "
          f"{'p50 ratio':>10} {'p99 ratio':>10}")
    for name, workflow in spec.workflows.items():
        request = {"workflow": name, **workflow.schema["examples"][0]}
        baseline = hand_written(spec, workflow, request)
        gc.collect()
        engine_s, baseline_s = alternate(lambda: spec.render(spec.prepare(request), RUNTIME), baseline, iterations)
        e50, e99, b50, b99 = (percentile(s, p) * 1e6 for s in (engine_s, baseline_s) for p in (50, 99))
        print(f"{name:<16} {len(workflow.template):>5} {e50:>9.0f}us {e99:>6.0f}us {b50:>11.0f}us {b99:>6.0f}us "
              f"{e50 / b50:>9.2f}x {e99 / b99:>9.2f}x")
    print("targets: every LTX-2 workflow p50 <= 0.5x and p99 <= 1x the baseline (smoke's 3-node template is a"
          " ~15 us copy, so request validation dominates its ratio)")


def bench_loads(runs: int) -> None:
    shipped = cold_load_seconds(runs)
    print(f"cold load_spec, shipped spec ({len(load_spec().workflows)} workflows): median "
          f"{statistics.median(shipped) * 1e3:.1f} ms, min {min(shipped) * 1e3:.1f} ms (target <= 30 ms)")
    with tempfile.TemporaryDirectory(prefix="bench-spec-") as scratch:
        for shared, what in ((True, "sharing parameters and mappings by YAML alias"),
                             (False, "every entry written out in full")):
            path = write_spec(Path(scratch) / str(shared), 100, shared=shared)
            loads = cold_load_seconds(runs, str(path))
            print(f"cold load_spec, 100 synthetic workflows {what} ({path.stat().st_size // 1000} kB of YAML): "
                  f"median {statistics.median(loads) * 1e3:.1f} ms, min {min(loads) * 1e3:.1f} ms"
                  + (" (target < 150 ms)" if shared else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--loads", type=int, default=11, help="fresh interpreters per spec load measurement")
    args = parser.parse_args()
    bench_renders(args.iterations)
    bench_loads(args.loads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
