"""The GPU benchmark up to the GPU: its layouts through ComfyUI's own loaders on the meta device, the layouts
re-derived from ComfyUI's code, the weight writer, and the benchmark command's dry run (the smoke matrix
through the worker's job function against the tier's ComfyUI). ComfyUI's venv python runs what needs torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.real_comfyui import comfy_python

ROOT = Path(__file__).resolve().parents[2]
GPU = ROOT / "benchmarks" / "gpu"
WRITE_AND_READ = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import torch
from safetensors import safe_open
import write_weights
from layouts import load_layout
from tokenizer import model_proto
rows = []
for name, pick in (("gemma-3-12b-it.nvfp4", lambda r: ".layers.0.self_attn." in r[0] or r[3] == "tokenizer"
                    or r[0] == "model.norm.weight"),
                   ("ltx-2-19b.fp8", lambda r: ".transformer_blocks.0.attn1." in r[0] or "statistics" in r[0])):
    rows += [r for r in load_layout(name)["tensors"] if pick(r)]
layout = {"name": "sample", "metadata": {"config": "{}"}, "tensors": rows}
path = Path(sys.argv[2])
write_weights.write_file(layout, path, "cpu")
problems = []
with safe_open(str(path), "pt") as f:
    if sorted(f.keys()) != sorted(r[0] for r in rows):
        problems.append("names differ")
    if f.metadata() != {"config": "{}"}:
        problems.append(f"metadata {f.metadata()}")
    for name, dtype, shape, fill in rows:
        t = f.get_tensor(name)
        if str(t.dtype) != "torch." + write_weights.TORCH_DTYPES[dtype] or list(t.shape) != shape:
            problems.append(f"{name}: {t.dtype} {list(t.shape)}")
        if t.is_floating_point() and not torch.isfinite(t.float()).all():
            problems.append(f"{name}: not finite")
        if fill.startswith("json:") and bytes(t.numpy()) != fill[5:].encode():
            problems.append(f"{name}: descriptor")
        if fill == "tokenizer" and bytes(t.numpy()) != model_proto():
            problems.append(f"{name}: tokenizer")
        if fill in ("normal", "unit", "positive") and t.numel() > 1 and float(t.float().std()) == 0:
            problems.append(f"{name}: constant")
        if fill == "positive" and float(t.float().min()) <= 0:
            problems.append(f"{name}: not positive")
print(json.dumps({"tensors": len(rows), "problems": problems}))
"""


@pytest.fixture(scope="module")
def python(tier) -> Path:
    """The python of the tier's ComfyUI (it has torch and safetensors)."""
    try:
        return comfy_python(tier.comfy_dir)
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)


def run(command: list, timeout: float = 240) -> str:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


@pytest.fixture(scope="module")
def acceptance(python, tier) -> dict:
    return json.loads(run([python, GPU / "accept.py", "--comfyui", tier.comfy_dir]))


@pytest.mark.parametrize("variant", ["bf16", "fp8"])
def test_comfyui_detects_and_loads_the_checkpoint_with_no_key_left_over(acceptance, variant):
    result = acceptance[f"checkpoint.{variant}"]
    assert (result["detected"], result["config"], result["vae_latent_channels"]) == ("LTXAV", "LTXAV", 128)
    assert (result["missing"], result["unexpected"]) == ([], [])
    assert (result["fp8_layers"] > 0) == (variant == "fp8")
    audio = acceptance[f"audio_vae.{variant}"]
    assert (audio["detected"], audio["missing"], audio["unexpected"]) == ("AudioVAE", [], [])


@pytest.mark.parametrize("variant", ["bf16", "fp8"])
def test_comfyui_loads_the_text_encoder_with_the_checkpoints_projection(acceptance, variant):
    result = acceptance[f"text_encoder.{variant}"]
    assert (result["detected"], result["projection"], result["missing"]) == ("LTXAVTEModel_", "single_linear", [])
    # The one key the model does not take is the tokenizer's, which the tokenizer took (its vocabulary):
    assert result["unexpected"] == ["clip unexpected: ['spiece_model']"] and result["vocab"] == 262144
    assert result["nvfp4_layers"] == 48 * 7


@pytest.mark.parametrize("variant", ["bf16", "fp8"])
def test_comfyui_maps_every_lora_key_onto_the_model(acceptance, variant):
    for name in ("ltx-2-19b-distilled-lora-384", "ltx-2-19b-camera-lora"):
        result = acceptance[f"{name}.on.{variant}"]
        assert result["missing"] == [] and result["patched_weights"] == result["lora_pairs"] > 0, name


def test_comfyui_loads_the_upscaler_strictly(acceptance):
    assert acceptance["upscaler"] == {"detected": "LatentUpsampler", "missing": [], "unexpected": []}


def test_the_committed_layouts_are_what_comfyuis_code_derives(python, tier, tmp_path):
    run([python, GPU / "derive.py", "--comfyui", tier.comfy_dir, "--out", tmp_path], timeout=280)
    committed = sorted(p.name for p in (GPU / "layouts").glob("*.json.gz"))
    assert sorted(p.name for p in tmp_path.glob("*.json.gz")) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (GPU / "layouts" / name).read_bytes(), name


def test_the_writer_writes_real_shaped_tensors_with_finite_random_values(python, tmp_path):
    result = json.loads(run([python, "-c", WRITE_AND_READ, GPU, tmp_path / "sample.safetensors"]))
    assert result["tensors"] > 20 and result["problems"] == []


def test_the_dry_run_runs_the_smoke_matrix_through_the_worker(tier, tmp_path):
    out = tmp_path / "out"
    run([sys.executable, GPU / "run.py", "--dry-run", "--comfy-url", tier.url, "--comfy-dir", tier.comfy_dir,
         "--out", out])
    results = json.loads((out / "results.json").read_text())
    assert [row["case"] for row in results["rows"]] == ["smoke-64-1s", "smoke-128x96-48f"]
    for row in results["rows"]:
        assert row["status"] == "ok" and row["decoded"] is True, row
    assert results["rows"][1]["video"] == {"width": 128, "height": 96, "frames": 48}
    table = (out / "results.md").read_text()
    assert "| smoke-128x96-48f | ok | 128x96 x 48 |" in table
