"""The video to disk: inline base64 decoded or ``video_url`` downloaded, streamed into a temporary file in the
target's folder and renamed onto it only when complete, so a failure never leaves a file behind."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path
from typing import IO, Any, Iterator, Mapping

import requests

from engine.errors import RequestError

from .errors import JobError
from .http import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, reason

B64_CHUNK = 4 * 1024 * 1024
"""Base64 characters decoded at a time (a multiple of 4): the decoded video is never held whole."""
DOWNLOAD_CHUNK = 1024 * 1024


def check_target(path: str | os.PathLike) -> Path:
    """The output path, once its folder is known to exist (checked before a job is sent)."""
    target = Path(path)
    if target.is_dir():
        raise RequestError("output", f"{target} is a directory; give a file name such as out.mp4")
    if not target.parent.is_dir():
        raise RequestError("output", f"the folder {target.parent} does not exist")
    return target


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside ``target``, renamed onto it when the block ends normally, removed otherwise."""
    temporary = target.parent / f".{target.name}.{secrets.token_hex(6)}.part"
    handle = os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb")  # mode as umask says
    try:
        with handle:
            yield handle
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _decode(video: str, sink: IO[bytes]) -> int:
    """Decode base64 in chunks into ``sink``; the bytes written."""
    written = 0
    for start in range(0, len(video), B64_CHUNK):
        try:
            data = base64.b64decode(video[start:start + B64_CHUNK], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"the result's video is not valid base64: {exc}") from None
        sink.write(data)
        written += len(data)
    return written


def _download(url: str, sink: IO[bytes]) -> int:
    """Stream ``video_url`` into ``sink`` (no API key is sent: the URL is presigned); the bytes written."""
    try:
        with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) as response:
            if response.status_code != 200:
                raise ValueError(f"downloading video_url failed: HTTP {response.status_code}")
            written = 0
            for chunk in response.iter_content(DOWNLOAD_CHUNK):
                sink.write(chunk)
                written += len(chunk)
            return written
    except requests.RequestException as exc:
        raise ValueError(f"downloading video_url failed: {reason(exc)}") from None


def write_video(result: Mapping[str, Any], target: Path, job_id: str | None = None) -> int:
    """Write the result's video to ``target``; the bytes written. JobError if it has none or it cannot be read."""
    video, url = result.get("video"), result.get("video_url")
    if not isinstance(video, str) and not isinstance(url, str):
        raise JobError(job_id, "COMPLETED", "the job's result has neither video nor video_url: "
                                            f"{sorted(result)}")
    try:
        with atomic_file(target) as sink:
            return _decode(video, sink) if isinstance(video, str) else _download(url, sink)
    except ValueError as exc:
        raise JobError(job_id, "COMPLETED", str(exc)) from None


def metadata(result: Mapping[str, Any]) -> dict[str, Any]:
    """The result without the inline video: workflow, seed, size, frames, timings, enhanced_prompt, ..."""
    return {key: value for key, value in result.items() if key != "video"}
