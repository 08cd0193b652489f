"""Benchmark: the importer's time per workflow (UI format -> API format, ``engine.comfy.importer.convert``)
over the whole official template library of tests/data/frontend/library.jsonl.gz (452 templates),
with the catalogue the frontend had. Each template is converted ``--repeat`` times; the best of
those is its time (the least disturbed by the machine). Prints the distribution over templates,
the slowest ones, and the time for the whole library; also the five LTX-2 files of templates/source.

    python benchmarks/bench_import.py [--repeat N] [--slowest N]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make engine/ and tests/ importable
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_render import percentile  # noqa: E402
from engine.comfy.importer import WorkflowImportError, convert, load_display_names  # noqa: E402
from tests.frontend.library import read_library  # noqa: E402


def node_count(ui: dict) -> int:
    """The nodes of a UI workflow, those inside subgraph definitions included."""
    return len(ui.get("nodes", [])) + sum(node_count(d) for d in (ui.get("definitions") or {}).get("subgraphs", []))


def best_time(ui: dict, catalog: dict, names: dict, repeat: int) -> float:
    """The fastest of ``repeat`` conversions, in seconds (a refused file: the time to refuse it)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            convert(ui, catalog, display_names=names)
        except WorkflowImportError:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    """Time every template and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="conversions per template (default 5)")
    parser.add_argument("--slowest", type=int, default=5, help="slowest templates to list (default 5)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    meta, templates = read_library()
    catalog, names = meta["catalog"], load_display_names()
    times = {t.name: best_time(t.ui, catalog, names, args.repeat) for t in templates}
    sizes = {t.name: node_count(t.ui) for t in templates}
    ms = [s * 1000 for s in times.values()]
    print(f"importer, {len(times)} templates of comfyui-workflow-templates {meta['templates']}, best of "
          f"{args.repeat} each, Python {sys.version.split()[0]}")
    print(f"  per workflow: mean {statistics.mean(ms):.2f} ms, p50 {percentile(ms, 50):.2f} ms, "
          f"p90 {percentile(ms, 90):.2f} ms, p99 {percentile(ms, 99):.2f} ms, max {max(ms):.2f} ms")
    print(f"  whole library: {sum(ms):.0f} ms; per UI node: {sum(ms) / sum(sizes.values()) * 1000:.1f} us "
          f"({sum(sizes.values())} nodes)")
    print(f"  slowest {args.slowest}:")
    for name in sorted(times, key=times.get, reverse=True)[:args.slowest]:
        print(f"    {name}: {times[name] * 1000:.2f} ms ({sizes[name]} nodes)")
    print("  templates/source (the project's LTX-2 files, spec/object_info.json):")
    spec_catalog = json.loads((ROOT / "spec" / "object_info.json").read_text(encoding="utf-8"))
    for path in sorted((ROOT / "templates" / "source").glob("*.json")):
        ui = json.loads(path.read_text(encoding="utf-8"))
        print(f"    {path.stem}: {best_time(ui, spec_catalog, names, args.repeat) * 1000:.2f} ms "
              f"({node_count(ui)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
