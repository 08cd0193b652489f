"""Write synthetic model files from the layouts: the real names, dtypes and shapes, finite random values.

Run with a python that has torch (on the GPU machine: values are drawn on the GPU when there is one):

    python benchmarks/gpu/write_weights.py --models /tmp/models [--files NAME ...]

Files are streamed tensor by tensor (memory stays at the largest tensor), in safetensors format with
each layout's metadata. Later files of a layout are hard links of the first (plan.py).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time
from math import prod
from pathlib import Path
from typing import Any, BinaryIO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from layouts import load_layout, tensor_bytes  # noqa: E402
from plan import PLAN, ModelPlan  # noqa: E402
from tokenizer import model_proto  # noqa: E402

TORCH_DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F8_E4M3": "float8_e4m3fn", "U8": "uint8",
                "I64": "int64"}


def fixed_bytes(fill: str) -> bytes | None:
    """The bytes of a fill whose value is fixed (comfy_quant JSON, the tokenizer), else None."""
    if fill.startswith("json:"):
        return fill[len("json:"):].encode()
    if fill == "tokenizer":
        return model_proto()
    return None


def header(layout: dict[str, Any]) -> bytes:
    """The safetensors header (length prefix included) for the layout's tensors, in order."""
    entries: dict[str, Any] = {"__metadata__": layout["metadata"]} if layout["metadata"] else {}
    offset = 0
    for name, dtype, shape, fill in layout["tensors"]:
        fixed = fixed_bytes(fill)
        size = len(fixed) if fixed is not None else tensor_bytes(dtype, shape)
        entries[name] = {"dtype": dtype, "shape": [size] if fixed is not None else shape,
                         "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(entries, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def values(dtype: str, shape: list[int], fill: str, device: str, generator: Any, fan_in: int,
           first_row: int = 0) -> Any:
    """Random values by fill rule for rows ``first_row``.. of a tensor (torch, on ``device``)."""
    import torch

    target = getattr(torch, TORCH_DTYPES[dtype])
    if fill == "bytes":
        return torch.randint(0, 256, shape, dtype=torch.uint8, device=device, generator=generator)
    if fill.startswith("scale:"):
        return torch.full(shape, float(fill[len("scale:"):]), dtype=target, device=device)
    if fill == "positive":
        return (torch.rand(shape, device=device, generator=generator) + 0.5).to(target)
    std = 1.0 if fill == "unit" else fan_in ** -0.5
    out = (torch.randn(shape, device=device, generator=generator) * std).to(target)
    if fill.startswith("vocab:"):
        out[max(int(fill[len("vocab:"):]) - first_row, 0):] = 0
    return out


def write_tensor(out: BinaryIO, dtype: str, shape: list[int], fill: str, device: str, generator: Any) -> None:
    """Append one tensor's bytes, large ones in chunks of rows (memory stays near 256 MiB)."""
    import torch

    fixed = fixed_bytes(fill)
    if fixed is not None:
        out.write(fixed)
        return
    fan_in = prod(shape[1:]) if len(shape) > 1 else 2500
    rows = shape[0] if shape else 1
    step = max(1, (256 << 20) // max(tensor_bytes(dtype, shape) // rows, 1))
    for start in range(0, rows, step):
        part = [min(step, rows - start), *shape[1:]] if shape else []
        chunk = values(dtype, part, fill, device, generator, fan_in, start)
        out.write(chunk.contiguous().view(-1).view(torch.uint8).cpu().numpy().tobytes())


def write_file(layout: dict[str, Any], path: Path, device: str, seed: int = 0) -> int:
    """Write one safetensors file from a layout; returns its size in bytes."""
    import torch

    generator = torch.Generator(device=device).manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as out:
        out.write(header(layout))
        for _, dtype, shape, fill in layout["tensors"]:
            write_tensor(out, dtype, shape, fill, device, generator)
    os.replace(partial, path)
    return path.stat().st_size


def write_plan(models: Path, plan: list[ModelPlan], device: str) -> list[dict[str, Any]]:
    """Write (or hard-link) every planned file under ``models/<folder>/``; one record per file."""
    written: dict[str, Path] = {}
    records = []
    for item in plan:
        path = models / item.folder / item.name
        started = time.monotonic()
        if item.layout in written:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            os.link(written[item.layout], path)
            how = f"hard link of {written[item.layout].name}"
        else:
            write_file(load_layout(item.layout), path, device)
            written.setdefault(item.layout, path)
            how = "written"
        records.append({"file": item.where, "layout": item.layout, "bytes": path.stat().st_size, "how": how,
                        "seconds": round(time.monotonic() - started, 1)})
        print(json.dumps(records[-1]), flush=True)
    return records


def main() -> None:
    """Write the planned files (all, or those named)."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True, help="ComfyUI's models folder to write into")
    parser.add_argument("--files", nargs="*", help="only these model file names")
    args = parser.parse_args()
    plan = [p for p in PLAN if not args.files or p.name in args.files]
    write_plan(args.models, plan, "cuda" if torch.cuda.is_available() else "cpu")


if __name__ == "__main__":
    main()
