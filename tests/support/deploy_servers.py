"""Test servers for the deployment code: a fake Hugging Face Hub, and a ComfyUI stand-in that also
answers /object_info and /models/{folder} from a model directory, usable in-process or as the fake
ComfyUI process the start-up tests launch (``python main.py --port ...``)."""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from tests.support.comfyui_standin import ComfyStandIn

COMMIT = "0123456789abcdef0123456789abcdef01234567"
GOOD_TOKEN = "hf_good_token"


# --------------------------------------------------------------------------- fake Hugging Face Hub
@dataclass
class HubState:
    """What the fake Hub serves and what it saw."""

    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    gated: set[str] = field(default_factory=set)
    cut_after: dict[str, int] = field(default_factory=dict)
    """path -> bytes after which the next GET of it is cut (once)."""
    lie_sha: set[str] = field(default_factory=set)
    """paths whose advertised sha256 (ETag) does not match the bytes served."""
    chunk_delay: float = 0.0
    cdn_url: str = ""
    """When set, files redirect there like the Hub's LFS files (another origin)."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Every request: method, path and headers (names lower-cased)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, repo: str, path: str, data: bytes) -> str:
        """Serve ``data`` as ``repo``'s ``path``; returns its sha256."""
        self.files[(repo, path)] = data
        return hashlib.sha256(data).hexdigest()

    def gets(self, path_suffix: str) -> list[dict[str, Any]]:
        """The GET requests whose path ends with ``path_suffix``."""
        return [r for r in self.requests if r["method"] == "GET" and r["path"].endswith(path_suffix)]


def _etag(state: HubState, path: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    return hashlib.sha256(digest.encode()).hexdigest() if path in state.lie_sha else digest


class _HubHandler(BaseHTTPRequestHandler):
    """Answers HEAD/GET /{repo}/resolve/{revision}/{path} like the Hub, and GET /cdn/{repo}/{path} like its CDN."""

    protocol_version = "HTTP/1.1"
    state: HubState

    def log_message(self, *args: Any) -> None:
        return None

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _error(self, status: int, code: str, message: str) -> None:
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, body: bool) -> None:
        state = self.state
        with state.lock:
            state.requests.append({"method": self.command, "path": self.path,
                                   "headers": {k.lower(): v for k, v in self.headers.items()}})
        parts = self.path.split("?")[0].lstrip("/").split("/")
        if parts[0] == "cdn":
            repo, path = "/".join(parts[1:3]), "/".join(parts[3:])
            self._send_file(state.files[(repo, path)], path, body, hub=False)
            return
        if len(parts) < 5 or parts[2] != "resolve":
            self._error(404, "RepoNotFound", "Repository not found")
            return
        repo, path = "/".join(parts[:2]), "/".join(parts[4:])
        if not any(r == repo for r, _ in state.files):
            self._error(401, "RepoNotFound", "Repository not found")
            return
        auth = self.headers.get("Authorization", "")
        if repo in state.gated and auth != f"Bearer {GOOD_TOKEN}":
            status = 403 if auth else 401
            self._error(status, "GatedRepo", "Access to model is restricted. You must have access to it.")
            return
        data = state.files.get((repo, path))
        if data is None:
            self._error(404, "EntryNotFound", "Entry not found")
            return
        if state.cdn_url:
            self.send_response(302)
            self.send_header("Location", f"{state.cdn_url}/cdn/{repo}/{path}")
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("X-Linked-Etag", f'"{_etag(state, path, data)}"')
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send_file(data, path, body, hub=True)

    def _send_file(self, data: bytes, path: str, body: bool, hub: bool) -> None:
        state = self.state
        start = 0
        range_header = self.headers.get("Range")
        if range_header and body:
            start = int(range_header.split("=")[1].split("-")[0])
        self.send_response(206 if start else 200)
        if hub:
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{_etag(state, path, data)}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if not body:
            return
        with state.lock:
            cut = state.cut_after.pop(path, None)
        payload = data[start:cut] if cut is not None else data[start:]
        for offset in range(0, len(payload), 1 << 16):
            self.wfile.write(payload[offset:offset + (1 << 16)])
            if state.chunk_delay:
                time.sleep(state.chunk_delay)
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)


class FakeHub:
    """``with FakeHub() as hub:`` a Hub on loopback (hub.url for HF_ENDPOINT) plus a CDN on another port."""

    def __init__(self) -> None:
        self.state = HubState()
        handler = type("Handler", (_HubHandler,), {"state": self.state})
        self._servers = [ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(2)]
        for server in self._servers:
            server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._servers[0].server_port}"
        self.cdn_url = f"http://127.0.0.1:{self._servers[1].server_port}"

    def __enter__(self) -> "FakeHub":
        for server in self._servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()


# --------------------------------------------------------------------------- ComfyUI with models
def model_dirs_from_config(comfy_dir: Path, configs: list[str]) -> dict[str, list[Path]]:
    """Where ComfyUI looks for each model folder: its own models/<folder>, then each extra_model_paths entry."""
    dirs: dict[str, list[Path]] = {}
    for folder in ("checkpoints", "loras", "text_encoders", "latent_upscale_models"):
        dirs[folder] = [comfy_dir / "models" / folder]
    for config in configs:
        for section in (yaml.safe_load(Path(config).read_text()) or {}).values():
            base = Path(section.get("base_path", "."))
            for folder, sub in section.items():
                if folder not in ("base_path", "is_default"):
                    for line in str(sub).split():
                        dirs.setdefault(folder, []).append(base / line)
    return dirs


class ComfyWithModels(ComfyStandIn):
    """The ComfyUI stand-in plus GET /object_info and GET /models/{folder}, answered like ComfyUI:
    model-file combos list the files found in the model folders."""

    def __init__(self, input_dir: Path, output_dir: Path, catalog: dict, loaders: dict[str, str],
                 model_dirs: dict[str, list[Path]], port: int = 0):
        super().__init__(input_dir, output_dir)
        self.catalog = catalog
        self.loaders = loaders
        self.model_dirs = model_dirs
        self.fixed_port = port

    def files_in(self, folder: str) -> list[str]:
        """Model files ComfyUI would list for ``folder``."""
        names: set[str] = set()
        for base in self.model_dirs.get(folder, []):
            if base.is_dir():
                names |= {p.name for p in base.iterdir() if p.is_file()}
        return sorted(names)

    async def _object_info(self, request: web.Request) -> web.Response:
        answer = copy.deepcopy(self.catalog)
        for key, folder in self.loaders.items():
            class_type, input_name = key.split(".", 1)
            inputs = answer.get(class_type, {}).get("input", {})
            for section in inputs.values():
                if input_name in section:
                    spec = section[input_name]
                    if isinstance(spec[0], list):
                        spec[0] = self.files_in(folder)
                    else:
                        spec[1]["options"] = self.files_in(folder)
        return web.json_response(answer)

    async def _models(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in self.model_dirs:
            return web.Response(status=404)
        return web.json_response(self.files_in(folder))

    def _app(self) -> web.Application:
        app = super()._app()
        app.router.add_get("/object_info", self._object_info)
        app.router.add_get("/models/{folder}", self._models)
        return app


def fake_comfyui_main(argv: list[str]) -> None:
    """Behave like ComfyUI's main.py as the start-up module runs it; FAKE_COMFYUI picks how.

    FAKE_COMFYUI: serve (default) | hang (never listens) | die (exits 3 after a few log lines).
    FAKE_COMFYUI_DROP: comma-separated node classes left out of /object_info.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--extra-model-paths-config", nargs="+", action="append", default=[])
    parser.add_argument("--verbose")
    parser.add_argument("--log-stdout", action="store_true")
    parser.add_argument("--disable-auto-launch", action="store_true")
    parser.add_argument("--disable-all-custom-nodes", action="store_true")
    args = parser.parse_args(argv)
    mode = os.environ.get("FAKE_COMFYUI", "serve")
    comfy_dir = Path(sys.argv[0]).resolve().parent
    (comfy_dir / "pid").write_text(str(os.getpid()))
    print(f"fake ComfyUI starting: {' '.join(argv)}", flush=True)
    if mode == "die":
        print("Traceback (most recent call last):\nRuntimeError: CUDA driver version is insufficient", flush=True)
        sys.exit(3)
    if mode == "hang":
        print("loading models forever", flush=True)
        time.sleep(3600)
    from engine.comfy.catalog import load_catalog
    from engine.manifest import load_manifest

    catalog = load_catalog()
    for name in filter(None, os.environ.get("FAKE_COMFYUI_DROP", "").split(",")):
        catalog.pop(name, None)
    configs = [path for group in args.extra_model_paths_config for path in group]
    (comfy_dir / "input").mkdir(exist_ok=True)
    (comfy_dir / "output").mkdir(exist_ok=True)
    server = ComfyWithModels(comfy_dir / "input", comfy_dir / "output", catalog, dict(load_manifest().loaders),
                             model_dirs_from_config(comfy_dir, configs), port=args.port)
    with server:
        print(f"fake ComfyUI listening on {server.url}", flush=True)
        while True:
            time.sleep(3600)


FAKE_MAIN = f"""import sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from tests.support.deploy_servers import fake_comfyui_main
fake_comfyui_main(sys.argv[1:])
"""
"""The main.py a start-up test writes into its fake ComfyUI directory."""
