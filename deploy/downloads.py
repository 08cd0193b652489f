"""Fetch missing model files from the Hugging Face Hub into a models directory, safely and resumably.

Built on huggingface_hub's own pieces (token from HF_TOKEN or HF_TOKEN_PATH, HEAD metadata with the
Hub's error codes, ``http_get`` with Range resume and retries) rather than ``hf_hub_download``, whose
partial files are unique per process and deleted on failure: a worker restarted mid-way through a
43 GB checkpoint would start again from zero. Here a partial download is kept beside the models
directory (``.downloads/``) and resumed by the next run; a per-file lock makes a second worker on the
same network volume wait instead of writing the same file; a file only appears in its model folder,
by an atomic rename, once its size and (where known) sha256 are verified.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import urlsplit

from filelock import FileLock, Timeout
from huggingface_hub import get_hf_file_metadata, get_token, hf_hub_url
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)
from huggingface_hub.file_download import http_get
from huggingface_hub.utils import build_hf_headers

from engine.errors import DownloadError
from engine.manifest import ModelFile

log = logging.getLogger("models")

DEFAULT_ENDPOINT = "https://huggingface.co"
STAGING = ".downloads"
"""Folder under the destination holding partial files and locks (outside every ComfyUI model folder)."""
SHA256 = re.compile(r"^[0-9a-f]{64}$")
HASH_CHUNK = 8 << 20


@dataclass(frozen=True)
class Outcome:
    """What happened to one model file: present (already there), downloaded, or skipped (gated, no token)."""

    model: ModelFile
    status: str
    path: Path | None


def hub_endpoint() -> str:
    """The Hub to download from: HF_ENDPOINT (read now, so a test or a mirror can point elsewhere)."""
    return os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or DEFAULT_ENDPOINT


class ProgressLog:
    """Download progress as log lines (one per file every ``interval`` seconds), not terminal bars."""

    def __init__(self, interval: float = 15.0):
        self.interval = interval
        self._lock = threading.Lock()

    def bar(self, name: str) -> Callable[..., "_FileProgress"]:
        """A tqdm-like factory for huggingface_hub's ``http_get(tqdm_class=...)``."""
        return lambda **kwargs: _FileProgress(self, name, kwargs.get("total"), kwargs.get("initial") or 0)

    def report(self, name: str, done: int, total: int | None, rate: float) -> None:
        """Log one progress line."""
        with self._lock:
            if total:
                log.info("%s: %.2f / %.2f GB (%d%%), %.0f MB/s", name, done / 1e9, total / 1e9,
                         100 * done // total, rate / 1e6)
            else:
                log.info("%s: %.2f GB, %.0f MB/s", name, done / 1e9, rate / 1e6)


class _FileProgress:
    """The progress of one transfer; ``http_get`` calls update(n) per chunk and uses it as a context."""

    def __init__(self, owner: ProgressLog, name: str, total: int | None, initial: int):
        self.owner, self.name, self.total = owner, name, total
        self.done = self._mark = initial
        self._started = self._last = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.owner.interval:
            self.owner.report(self.name, self.done, self.total, (self.done - self._mark) / (now - self._started))
            self._last = now

    def __enter__(self) -> "_FileProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def inside(root: Path, model: ModelFile) -> Path:
    """``root/folder/name``, refused when it would resolve outside ``root`` (``../``, absolute folders)."""
    target = (root / model.folder / model.name).resolve()
    if not target.is_relative_to(root.resolve()):
        raise DownloadError(f"{model.name}: folder {model.folder!r} and name lead outside {root}; refused")
    return target


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _http_problem(model: ModelFile, err: HfHubHTTPError, endpoint: str, token: str | None) -> str:
    """One line saying why the Hub refused a file, and what the operator should do."""
    status = err.response.status_code if err.response is not None else "?"
    page = f"{endpoint}/{model.repo}"
    token_note = "HF_TOKEN is not set" if not token else "the token in HF_TOKEN has no access"
    if isinstance(err, GatedRepoError) or (model.gated and status in (401, 403)):
        return (f"{model.name}: gated model, no access to {model.repo} (HTTP {status}, {token_note}): accept the "
                f"license at {page} and set HF_TOKEN to a token of that account")
    if isinstance(err, RemoteEntryNotFoundError):
        return f"{model.name}: {model.path} is not in {model.repo} at revision {model.revision} ({endpoint})"
    if isinstance(err, RepositoryNotFoundError):
        return f"{model.name}: repository {model.repo} not found at {endpoint} (HTTP {status}; {token_note} if it is private)"
    if status in (401, 403):
        return f"{model.name}: the Hub refused access to {page} (HTTP {status}, {token_note})"
    return f"{model.name}: the Hub answered HTTP {status} for {page}"


class Downloader:
    """Fetches model files into ``dest/<folder>/<name>``, skipping those present under any search root."""

    def __init__(self, dest: Path | str, search_roots: Sequence[Path | str] = (), *, endpoint: str | None = None,
                 token: str | None = None, progress: ProgressLog | None = None, lock_poll_s: float = 30.0):
        self.dest = Path(dest)
        self.roots = [self.dest, *(Path(r) for r in search_roots)]
        self.endpoint = endpoint or hub_endpoint()
        self.token = token if token is not None else get_token()
        self.progress = progress or ProgressLog()
        self.lock_poll_s = lock_poll_s

    def run(self, models: Iterable[ModelFile], jobs: int = 3, skip_gated_without_token: bool = False) -> list[Outcome]:
        """Fetch every missing file, ``jobs`` at a time; raises DownloadError listing every failure."""
        outcomes: list[Outcome] = []
        todo: list[ModelFile] = []
        for model in models:
            found = model.find(self.roots)
            if found is not None:
                outcomes.append(Outcome(model, "present", found))
            elif model.gated and not self.token and skip_gated_without_token:
                log.warning("%s: skipped, gated and no HF_TOKEN (fetch it later, e.g. on first start)", model.name)
                outcomes.append(Outcome(model, "skipped", None))
            else:
                todo.append(model)
        unreachable = self._unresolvable()
        if todo and unreachable:
            raise DownloadError([f"{model.name}: {unreachable}" for model in todo])
        failures: list[str] = []
        with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="download") as pool:
            for model, result in zip(todo, pool.map(self._attempt, todo)):
                if isinstance(result, str):
                    failures.append(result)
                else:
                    outcomes.append(result)
        if failures:
            raise DownloadError(failures)
        return outcomes

    def _unresolvable(self) -> str | None:
        """Why the Hub's host cannot be looked up, or None: checked once, so an offline machine fails in
        a second instead of retrying every file for half a minute."""
        host = urlsplit(self.endpoint).hostname or ""
        try:
            socket.getaddrinfo(host, None)
        except (socket.gaierror, UnicodeError) as err:
            reason = err.strerror if isinstance(err, socket.gaierror) else "not a valid host name"
            return f"cannot reach {self.endpoint}: host {host!r} does not resolve ({reason}); check the network or HF_ENDPOINT"
        return None

    def _attempt(self, model: ModelFile) -> Outcome | str:
        """fetch() with every failure turned into its one-line message."""
        try:
            return self.fetch(model)
        except DownloadError as err:
            return str(err)
        except HfHubHTTPError as err:
            return _http_problem(model, err, self.endpoint, self.token)
        except Exception as err:  # network or disk trouble: the partial file stays for the next run to resume
            first = str(err).splitlines()[0] if str(err) else ""
            partial = any((self.dest / STAGING).glob(f"{model.name}.*.part"))
            return (f"{model.name}: download failed ({type(err).__name__}: {first})"
                    + ("; run again to resume" if partial else ""))

    def fetch(self, model: ModelFile) -> Outcome:
        """Download one file under its lock unless it is (or, after waiting, has become) present."""
        staging = self.dest / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(staging / f"{model.name}.lock"))
        while True:
            try:
                lock.acquire(timeout=self.lock_poll_s)
                break
            except Timeout:
                log.info("%s: waiting, another process is downloading it into %s", model.name, self.dest)
        try:
            found = model.find(self.roots)
            if found is not None:
                return Outcome(model, "present", found)
            return Outcome(model, "downloaded", self._download(model, staging))
        finally:
            lock.release()

    def _download(self, model: ModelFile, staging: Path) -> Path:
        """Resume or start the transfer into a partial file, verify it, then move it into its folder."""
        url = hf_hub_url(model.repo, model.path, revision=model.revision, endpoint=self.endpoint)
        meta = get_hf_file_metadata(url, token=self.token, endpoint=self.endpoint, retry_on_errors=True)
        if not meta.commit_hash or not meta.etag:
            raise DownloadError(f"{model.name}: {self.endpoint} did not answer like a Hugging Face Hub "
                                "(no X-Repo-Commit or ETag header); check HF_ENDPOINT")
        tag = hashlib.sha256(meta.etag.encode()).hexdigest()[:16]
        part = staging / f"{model.name}.{tag}.part"
        for stale in staging.glob(f"{model.name}.*.part"):
            if stale != part:
                stale.unlink()  # a partial of an older upstream version: its bytes cannot be resumed
        headers: dict[str, Any] = build_hf_headers(token=self.token)
        if _origin(meta.location) != _origin(url):
            headers.pop("authorization", None)  # never send the token to the CDN a large file redirects to
        with open(part, "ab") as out:
            if out.tell():
                log.info("%s: resuming at %.2f GB", model.name, out.tell() / 1e9)
            else:
                log.info("%s: downloading from %s (%s)", model.name, model.repo,
                         f"{meta.size / 1e9:.2f} GB" if meta.size else "size unknown")
            http_get(meta.location, out, resume_size=out.tell(), headers=headers, expected_size=meta.size,
                     displayed_filename=model.name, tqdm_class=self.progress.bar(model.name))
        self._verify(model, part, meta.size, meta.etag)
        final = inside(self.dest, model)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
        log.info("%s: done, %s", model.name, final)
        return final

    def _verify(self, model: ModelFile, part: Path, size: int | None, etag: str) -> None:
        """Size as the Hub reported it, then sha256 (the manifest's, else the Hub's LFS hash); delete on mismatch."""
        actual = part.stat().st_size
        if size is not None and actual != size:
            part.unlink()
            raise DownloadError(f"{model.name}: got {actual} bytes, the Hub says {size}; deleted it, run again")
        expected = model.sha256 or (etag if SHA256.match(etag) else None)
        if expected is None:
            return
        digest = _sha256(part)
        if digest != expected:
            part.unlink()
            source = "spec/models.yaml" if model.sha256 else "the Hub's LFS hash"
            raise DownloadError(f"{model.name}: sha256 mismatch (got {digest}, {source} says {expected}); "
                                "deleted the download, run again")
