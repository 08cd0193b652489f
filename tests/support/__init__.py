"""Shared test helpers: where things are, small ComfyUI graphs, and a check that cleanup left nothing."""

from __future__ import annotations

import asyncio
import functools
import io
import os
import socket
import struct
import time
import zlib
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
"""The repository root."""
DATA = ROOT / "tests" / "data"
GOLDEN = ROOT / "tests" / "golden"


def smoke_graph(prefix: str = "video/smoke") -> dict:
    """records.json `video`: EmptyImage -> CreateVideo -> SaveVideo, model-free."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 8, "color": 0}},
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 24.0}},
        "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": prefix,
                                                    "format": "auto", "codec": "auto"}},
    }


def sampler_graph(prefix: str = "video/two_stage") -> dict:
    """A two-stage shape like LTX-2's (stage 1 sampler -> stage 2 sampler -> decode -> SaveVideo)."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 8, "color": 0}},
        "92:10": {"class_type": "SamplerCustomAdvanced", "inputs": {"latent_image": ["1", 0]}},
        "92:20": {"class_type": "SamplerCustomAdvanced", "inputs": {"latent_image": ["92:10", 0]}},
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["92:20", 0], "fps": 24.0}},
        "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": prefix,
                                                    "format": "auto", "codec": "auto"}},
    }


def files_under(*dirs: Path) -> list[str]:
    """Every file left in the given directories (relative paths), to assert cleanup."""
    found = []
    for base in dirs:
        for folder, _, names in os.walk(base):
            found += [os.path.relpath(os.path.join(folder, n), base) for n in names]
    return sorted(found)


def run_async(test):
    """Decorator: run an ``async def`` test to its end in a fresh event loop (fixtures still apply)."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


def image_bytes(kind: str = "PNG", width: int = 8, height: int = 8) -> bytes:
    """A real, small image file of ``kind`` (a Pillow format name: PNG, JPEG, WEBP, GIF, BMP...)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 20)).save(out, format=kind)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that is only a valid header claiming ``width`` x ``height`` (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, what: str, timeout: float = 60.0, interval: float = 0.05):
    """Poll ``condition()`` until truthy (returned); AssertionError naming ``what`` if it never is."""
    stop = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= stop:
            raise AssertionError(f"never happened within {timeout:g} s: {what}")
        time.sleep(interval)
