"""The layout files: each synthetic model file's tensor names, dtypes, shapes and fill rules (no torch).

A layout is ``{"name", "source", "metadata", "tensors"}``; each tensor is ``[name, dtype, shape, fill]`` with a
safetensors dtype name and one fill rule (FILLS) that the writer turns into finite random values.
"""

from __future__ import annotations

import gzip
import json
from math import prod
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LAYOUT_DIR = HERE / "layouts"

DTYPE_BYTES = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1, "U8": 1, "I64": 8}
FILLS = {
    "normal": "N(0, 1/sqrt(fan_in)): weights, embeddings, biases (fan_in of a 1-D tensor: 2500, std 0.02)",
    "unit": "N(0, 1) cast to the dtype: fp8 weight payloads, whose per-tensor scale brings them down",
    "positive": "uniform [0.5, 1.5]: divisors and multipliers (std statistics, snake alpha/beta, block scales)",
    "bytes": "uniform random bytes: packed FP4 pairs (every byte is a finite E2M1 pair)",
    "scale:X": "the constant X (float32): per-tensor quantisation scales",
    "vocab:N": "normal rows below N, zero rows from N on: token embeddings past the tokenizer's vocabulary",
    "json:TEXT": "the UTF-8 bytes of TEXT: ComfyUI's per-layer comfy_quant descriptors",
    "tokenizer": "a SentencePiece model with the vocabulary size of the embedding (benchmarks/gpu/tokenizer.py)",
}


def fill_kind(fill: str) -> str:
    """The rule a fill names, without its argument: ``scale:0.01`` -> ``scale:X``."""
    head, sep, _ = fill.partition(":")
    return {"scale": "scale:X", "vocab": "vocab:N", "json": "json:TEXT"}.get(head, fill) if sep else fill


def tensor_bytes(dtype: str, shape: list[int]) -> int:
    """Bytes a tensor takes in the file."""
    return DTYPE_BYTES[dtype] * prod(shape)


def layout_path(name: str) -> Path:
    """The committed file of one layout."""
    return LAYOUT_DIR / f"{name}.json.gz"


def save_layout(layout: dict[str, Any], directory: Path = LAYOUT_DIR) -> Path:
    """Write a layout as compact gzipped JSON (mtime 0, so the same layout gives the same bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{layout['name']}.json.gz"
    data = json.dumps(layout, separators=(",", ":"), sort_keys=True).encode()
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(data)
    return path


def load_layout(name_or_path: str | Path) -> dict[str, Any]:
    """Read one layout by name (from LAYOUT_DIR) or path."""
    path = Path(name_or_path)
    if path.suffix != ".gz":
        path = layout_path(str(name_or_path))
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def layout_names() -> list[str]:
    """Every committed layout's name."""
    return sorted(p.name[: -len(".json.gz")] for p in LAYOUT_DIR.glob("*.json.gz"))


def payload_bytes(layout: dict[str, Any], tokenizer_bytes: int = 0) -> int:
    """The tensor bytes of a layout (its ``tokenizer`` tensor, whose size the writer decides, counted as given)."""
    return sum(tokenizer_bytes if fill == "tokenizer" else tensor_bytes(dtype, shape)
               for _, dtype, shape, fill in layout["tensors"])
