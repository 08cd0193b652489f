"""Capture ground truth from the real ComfyUI frontend: UI workflow -> "Export (API)".

Serves the official built frontend (the ``comfyui-frontend-package`` wheel's static files) plus the
small part of the ComfyUI backend API it needs to boot, on loopback, with ``/object_info`` answering
the project's catalogue (spec/object_info.json). Then drives it in headless Chromium with Playwright:
each workflow is loaded with ``app.loadGraphData`` and the frontend's own ``app.graphToPrompt()``
output (what Export (API) saves) is written to ``tests/data/frontend/<name>.api.json``.

``--mixed`` also builds the test workflow ``mixed`` inside the frontend through its LiteGraph API
(tests/frontend/build_mixed.js: nodes, links, modes, nested subgraphs), saves it as the frontend
serialises it (``mixed.ui.json``), reloads that file and captures its export like any other.

Not run by CI; needs ``pip install playwright aiohttp`` and a Chromium (``apt-get install chromium``).
See tests/frontend/README.md for the provenance of the committed captures and the exact command.

    python tests/frontend/capture.py --frontend /tmp/fe/x/comfyui_frontend_package/static \\
        --mixed templates/source/*.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_CATALOG = ROOT / "spec" / "object_info.json"
DEFAULT_OUT = ROOT / "tests" / "data" / "frontend"
BUILD_MIXED_JS = HERE / "build_mixed.js"

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

SETTINGS = {
    "Comfy.TutorialCompleted": True,
    "Comfy.InstalledVersion": "99.0.0",
    "Comfy.Release.Version": "99.0.0",
    "Comfy.Release.Status": "skipped",
}
"""User settings the backend reports: mark first-run done so no template/tutorial dialogs open.
Nothing here changes how graphs load or export (those settings keep their defaults)."""

SYSTEM_STATS = {
    "system": {"os": "linux", "comfyui_version": "0.27.0", "python_version": "3.11.7",
               "pytorch_version": "2.8.0", "embedded_python": False, "ram_total": 0, "ram_free": 0,
               "argv": ["main.py", "--listen", "127.0.0.1"]},
    "devices": [{"name": "cpu", "type": "cpu", "index": None, "vram_total": 0, "vram_free": 0,
                 "torch_vram_total": 0, "torch_vram_free": 0}],
}

FEATURES = {"supports_preview_metadata": True, "max_upload_size": 104857600}

log = logging.getLogger("capture")


# --- the stand-in backend -------------------------------------------------------------------------

def backend(static: Path, catalog: dict[str, Any]) -> web.Application:
    """The frontend's static files plus the ComfyUI API routes it calls while booting and loading."""
    settings = dict(SETTINGS)
    userdata: dict[str, bytes] = {}
    unanswered: list[str] = []

    async def json_of(value: Any) -> web.Response:
        return web.json_response(value)

    def constant(value: Any):
        async def handler(_: web.Request) -> web.Response:
            return await json_of(value)
        return handler

    async def get_setting(request: web.Request) -> web.Response:
        return web.json_response(settings.get(request.match_info["id"]))

    async def post_settings(request: web.Request) -> web.Response:
        settings.update(await request.json())
        return web.json_response({})

    async def post_setting(request: web.Request) -> web.Response:
        settings[request.match_info["id"]] = await request.json()
        return web.json_response({})

    async def get_userdata(request: web.Request) -> web.Response:
        body = userdata.get(request.match_info["file"])
        return web.Response(body=body) if body is not None else web.Response(status=404)

    async def post_userdata(request: web.Request) -> web.Response:
        name = request.match_info["file"]
        userdata[name] = await request.read()
        return web.json_response({"path": name, "size": len(userdata[name])})

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sid = request.query.get("clientId") or uuid.uuid4().hex
        await ws.send_json({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": sid}})
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
        return ws

    async def static_file(request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"] or "index.html"
        path = (static / tail).resolve()
        if path.is_file() and static.resolve() in path.parents:
            return web.FileResponse(path)
        unanswered.append(f"{request.method} {request.path_qs}")
        log.info("unanswered: %s %s", request.method, request.path_qs)
        return web.Response(status=404)

    async def no_file(_: web.Request) -> web.Response:
        return web.Response(status=404)  # /view of an input image: none exist here, as on a fresh ComfyUI

    async def unknown_api(request: web.Request) -> web.Response:
        unanswered.append(f"{request.method} {request.path_qs}")
        log.info("unanswered: %s %s", request.method, request.path_qs)
        return web.Response(status=404)

    app = web.Application()
    app["unanswered"] = unanswered
    routes = {
        "/object_info": constant(catalog),
        "/system_stats": constant(SYSTEM_STATS),
        "/features": constant(FEATURES),
        "/users": constant({"storage": "server", "migrated": True}),
        "/settings": lambda _: json_of(settings),
        "/i18n": constant({}),
        "/extensions": constant([]),
        "/embeddings": constant([]),
        "/workflow_templates": constant({}),
        "/global_subgraphs": constant({}),
        "/internal/folder_paths": constant({}),
        "/experiment/models": constant([]),
        "/userdata": constant([]),
        "/v2/userdata": constant([]),
        "/queue": constant({"queue_running": [], "queue_pending": []}),
        "/history": constant({}),
        "/prompt": constant({"exec_info": {"queue_remaining": 0}}),
        "/jobs": constant({"jobs": [], "pagination": {"offset": 0, "limit": 0, "total": 0, "has_more": False}}),
    }
    for prefix in ("/api", ""):
        for path, handler in routes.items():
            app.router.add_get(prefix + path, handler)
        app.router.add_get(prefix + "/settings/{id}", get_setting)
        app.router.add_post(prefix + "/settings", post_settings)
        app.router.add_post(prefix + "/settings/{id}", post_setting)
        app.router.add_get(prefix + "/userdata/{file}", get_userdata)
        app.router.add_post(prefix + "/userdata/{file}", post_userdata)
        app.router.add_get(prefix + "/ws", websocket)
        app.router.add_get(prefix + "/view", no_file)
    app.router.add_get("/templates/index.json", constant([]))
    app.router.add_route("*", "/api/{tail:.*}", unknown_api)
    app.router.add_get("/{tail:.*}", static_file)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    """Start ``app`` on a free loopback port; returns the runner (to clean up) and the base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/"


# --- driving the frontend -------------------------------------------------------------------------

async def boot(page: Page, url: str) -> dict[str, Any]:
    """Open the frontend and wait until its app has a graph and the node catalogue is registered."""
    await page.goto(url)
    await page.wait_for_function(
        "() => window.app && window.app.graph && window.LiteGraph"
        " && window.LiteGraph.registered_node_types['KSampler']", timeout=60_000)
    return await page.evaluate("() => ({frontend: window.__COMFYUI_FRONTEND_VERSION__ ?? null,"
                               " userAgent: navigator.userAgent})")


async def load_and_export(page: Page, ui: dict[str, Any]) -> dict[str, Any]:
    """Load ``ui`` as the editor opens a file and return its Export (API): graphToPrompt().output."""
    return await page.evaluate(
        """async (ui) => {
            await window.app.loadGraphData(structuredClone(ui), true, true, null);
            return JSON.parse(JSON.stringify((await window.app.graphToPrompt()).output));
        }""", ui)


async def build_mixed(page: Page) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build the ``mixed`` test workflow in the frontend; its exported UI file and its API export as built."""
    built = await page.evaluate(BUILD_MIXED_JS.read_text(encoding="utf-8"))
    return built["workflow"], built["output"]


# --- files ----------------------------------------------------------------------------------------

def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented UTF-8 JSON, key order as produced."""
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command line: the frontend's static folder, the catalogue, the output folder, the workflows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frontend", type=Path, required=True,
                        help="the comfyui_frontend_package/static folder of the unpacked wheel")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--mixed", action="store_true", help="also build, save and export mixed.ui.json")
    parser.add_argument("workflows", nargs="*", type=Path, help="UI workflow files to export")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    """Serve, boot the frontend, capture every requested workflow; 1 if the page reported errors."""
    catalog = json.loads(args.catalog.read_text(encoding="utf-8"))
    app = backend(args.frontend, catalog)
    runner, url = await serve(app)
    page_errors: list[str] = []
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            print(f"chromium {browser.version}")
            page = await browser.new_page()
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.on("console", lambda msg: log.info("console %s: %s", msg.type, msg.text))
            print(f"frontend {await boot(page, url)}")
            if args.mixed:
                ui, as_built = await build_mixed(page)
                write_json(args.out / "mixed.ui.json", ui)
                reloaded = await load_and_export(page, ui)
                if reloaded != as_built:
                    page_errors.append("mixed: the export of the saved file differs from the graph as built")
                write_json(args.out / "mixed.api.json", reloaded)
            for path in args.workflows:
                name = path.name.removesuffix(".json").removesuffix(".ui")
                api = await load_and_export(page, json.loads(path.read_text(encoding="utf-8")))
                write_json(args.out / f"{name}.api.json", api)
            await browser.close()
    finally:
        await runner.cleanup()
    for line in dict.fromkeys(app["unanswered"]):
        print(f"unanswered request: {line}")
    for error in page_errors:
        print(f"page error: {error}", file=sys.stderr)
    return 1 if page_errors else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
