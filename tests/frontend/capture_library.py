"""Capture ground truth for the whole official template library from a real ComfyUI's own frontend.

Opens the frontend a running ComfyUI serves (its pinned ``comfyui-frontend-package``) in headless
Chromium through Playwright, and for every template in the library that server serves
(``/templates/index.json``, from its pinned ``comfyui-workflow-templates``) loads the template as
the editor's template browser does (``fetch('/templates/NAME.json')`` then
``app.loadGraphData(json, true, true, NAME, {openSource: 'template'})``) and records what
Export (API) saves (``JSON.stringify((await app.graphToPrompt()).output)``). The frontend reads
the node catalogue from that server's ``/object_info``.

Writes one gzip'd JSON-lines file (default ``tests/data/frontend/library.jsonl.gz``): a first line
``{"meta": {...}}`` (versions, catalogue, browser, date), then one line per template
``{"name", "sha256", "ui", "api", "page_errors"}`` where ``ui`` is the file exactly as the server
served it (``sha256`` of its bytes) and ``api`` the export. CI compares the importer with these,
without a browser (tests/engine/comfy/test_importer_library.py). Provenance: tests/frontend/README.md.

Not run by CI. Needs ``pip install playwright`` (not ``playwright install``) and Debian's
``chromium``; run it against a ComfyUI of its own (its own ``--user-directory``: the frontend
saves settings there):

    python tests/frontend/capture_library.py --url http://127.0.0.1:8190
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gzip
import hashlib
import json
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.frontend.capture import CHROMIUM_ARGS, SETTINGS as FIRST_RUN_DONE  # noqa: E402
from tests.frontend.library import LIBRARY, catalogue_differences  # noqa: E402

SETTINGS = {**FIRST_RUN_DONE, "Comfy.Workflow.Persist": False}
"""capture.py's first-run flags (no tutorial or template dialog at boot), and no restoring of the last
session's workflow after a page load (it would replace the template just loaded). Every setting that affects
how a workflow loads or exports keeps its default (``Comfy.Workflow.NamedValuesRestore`` stays off)."""

RELOAD_EVERY = 40
"""Templates per page load: each load opens a workflow tab, so the page is reloaded now and then."""

LOAD_AND_EXPORT = """async ([name, given]) => {
    const ui = given ?? await (await fetch(`templates/${name}.json`)).json();
    await window.app.loadGraphData(structuredClone(ui), true, true, name, {openSource: given ? 'file' : 'template'});
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    await new Promise((done) => setTimeout(done, 100));
    const api = JSON.parse(JSON.stringify((await window.app.graphToPrompt()).output));
    const loaded = window.app.rootGraph.nodes.map((node) => String(node.id));
    return {api, loaded, saved: (ui.nodes ?? []).map((node) => String(node.id))};
}"""
"""What the template browser does, then what Export (API) writes, after two frames (as a click would);
with the root node ids the page holds and those of the file, to check that the template is what loaded."""

WIDGET_TABLE = """() => {
    const table = {};
    for (const type of Object.keys(window.LiteGraph.registered_node_types).sort()) {
        const node = window.LiteGraph.createNode(type);
        if (!node) continue;
        window.app.rootGraph.add(node);
        table[type] = (node.widgets ?? []).map((w) => [w.name, w.type, w.serialize !== false,
                                                       w.options?.serialize !== false]);
        window.app.rootGraph.remove(node);
    }
    return table;
}"""
"""Every registered class's widgets as the frontend creates them: [name, type, takes a widgets_values
slot (``serialize``), written to the prompt (``options.serialize``)]."""


def fetch(url: str, data: bytes | None = None) -> bytes:
    """GET (or POST ``data`` as JSON) from the server, bypassing any proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with opener.open(request, timeout=60) as response:
        return response.read()


def fetch_json(url: str) -> Any:
    """A JSON answer of the server."""
    return json.loads(fetch(url))


async def boot(page: Page, url: str) -> str:
    """Open the frontend, wait until it has registered the catalogue; its version."""
    await page.goto(url)
    await page.wait_for_function(
        "() => window.app && window.app.graph && window.LiteGraph"
        " && window.LiteGraph.registered_node_types['KSampler']", timeout=120_000)
    return await page.evaluate("() => window.__COMFYUI_FRONTEND_VERSION__ ?? null")


async def load_and_export(page: Page, name: str, ui: dict[str, Any] | None = None) -> dict[str, Any]:
    """One template's (or the given file's) Export (API); loaded again once if the page did not hold it."""
    for _ in range(2):
        result = await page.evaluate(LOAD_AND_EXPORT, [name, ui])
        if sorted(result["loaded"]) == sorted(result["saved"]):
            return result["api"]
    raise RuntimeError(f"{name}: the page holds nodes {result['loaded']}, the template has {result['saved']}")


def template_names(url: str) -> list[str]:
    """Every template of the server's library, in the order of its index."""
    return [t["name"] for category in fetch_json(url + "templates/index.json") for t in category["templates"]]


async def capture(args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]], dict[Path, Any]]:
    """Boot the frontend and export every template and file: the meta record, one record per
    template, and the export of each file."""
    url = args.url.rstrip("/") + "/"
    stats = fetch_json(url + "system_stats")["system"]
    catalog_bytes = fetch(url + "object_info")
    catalog = json.loads(catalog_bytes)
    fetch(url + "api/settings", json.dumps(SETTINGS).encode())
    names = [] if args.no_library else (args.only or template_names(url))
    records: list[dict[str, Any]] = []
    files: dict[Path, dict[str, Any]] = {}
    async with async_playwright() as playwright:
        with tempfile.TemporaryDirectory(prefix="capture-profile-") as profile:
            context = await playwright.chromium.launch_persistent_context(
                profile, executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
            page = context.pages[0] if context.pages else await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            frontend = await boot(page, url)
            user_agent = await page.evaluate("() => navigator.userAgent")
            widgets = await page.evaluate(WIDGET_TABLE)
            for index, name in enumerate(names):
                if index and index % RELOAD_EVERY == 0:
                    await boot(page, url)
                raw = fetch(url + f"templates/{name}.json")
                errors.clear()
                api = await load_and_export(page, name)
                records.append({"name": name, "sha256": hashlib.sha256(raw).hexdigest(),
                                "ui": json.loads(raw), "api": api, "page_errors": list(errors)})
                print(f"{index + 1}/{len(names)} {name}: {len(api)} nodes"
                      + (f", page errors: {errors}" if errors else ""), flush=True)
            for path in args.files:
                files[path] = await load_and_export(page, path.name, json.loads(path.read_text(encoding="utf-8")))
                print(f"{path}: {len(files[path])} nodes" + (f", page errors: {errors}" if errors else ""))
            browser = context.browser.version if context.browser else user_agent
            await context.close()
    if fetch(url + "object_info") != catalog_bytes:
        raise RuntimeError("the server's /object_info changed during the capture (model files added or removed?)")
    meta = {
        "frontend": frontend,
        "comfyui": stats.get("comfyui_version"),
        "templates": stats.get("installed_templates_version"),
        "packages": {p["name"]: p["installed"] for p in stats.get("comfy_package_versions", [])},
        "browser": browser,
        "user_agent": user_agent,
        "catalog_sha256": hashlib.sha256(catalog_bytes).hexdigest(),
        "catalog_differs_from_spec": catalogue_differences(catalog),
        "catalog": catalog,
        "widgets": widgets,
        "how": "app.loadGraphData(template, true, true, name, {openSource: 'template'}); graphToPrompt().output",
        "date": datetime.date.today().isoformat(),
        "count": len(records),
    }
    return meta, records, files


def write(path: Path, meta: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """The gzip'd JSON-lines file, byte-for-byte reproducible for the same content (no gzip mtime)."""
    lines = [json.dumps({"meta": meta}, ensure_ascii=False, separators=(",", ":"))]
    lines += [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as zipped:
        zipped.write(data)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(records)} templates)")


def main(argv: list[str] | None = None) -> int:
    """Capture the library (and the given files); report page errors and catalogue differences."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the running ComfyUI, e.g. http://127.0.0.1:8190")
    parser.add_argument("--out", type=Path, default=LIBRARY)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--only", nargs="*", help="only these templates (for a look; do not commit the result)")
    parser.add_argument("--files", nargs="*", type=Path, default=[],
                        help="also export these UI files, each to tests/data/frontend/<stem>.api.json")
    parser.add_argument("--no-library", action="store_true", help="export only --files")
    args = parser.parse_args(argv)
    meta, records, files = asyncio.run(capture(args))
    if not args.no_library:
        write(args.out, meta, records)
    for path, api in files.items():
        out = LIBRARY.parent / f"{path.name.removesuffix('.json').removesuffix('.ui')}.api.json"
        out.write_text(json.dumps(api, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    with_errors = [r["name"] for r in records if r["page_errors"]]
    if with_errors:
        print(f"page errors while loading: {', '.join(with_errors)}", file=sys.stderr)
    if meta["catalog_differs_from_spec"]:
        print(f"the server's catalogue differs from spec/object_info.json: {meta['catalog_differs_from_spec']}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
