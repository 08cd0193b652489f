"""The committed layouts are well-formed, the plan covers exactly the LTX-2 workflows' files, and it fits."""

from __future__ import annotations

import re

import pytest

import layouts
import tokenizer
from engine.manifest import load_manifest, needed_models
from plan import PLAN

import engine

EXPECTED = {"ltx-2-19b.bf16", "ltx-2-19b.fp8", "gemma-3-12b-it.nvfp4", "ltx-2-spatial-upscaler-x2",
            "ltx-2-19b-distilled-lora-384", "ltx-2-19b-camera-lora"}
DISK = 64 * 2**30


@pytest.fixture(scope="module")
def all_layouts() -> dict[str, dict]:
    return {name: layouts.load_layout(name) for name in layouts.layout_names()}


def test_every_layout_is_committed(all_layouts):
    assert set(all_layouts) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rows_are_well_formed(all_layouts, name):
    layout = all_layouts[name]
    assert layout["name"] == name and isinstance(layout["metadata"], dict)
    assert all(isinstance(v, str) for v in layout["metadata"].values())
    names = [row[0] for row in layout["tensors"]]
    assert len(names) == len(set(names)), "duplicate tensor names"
    for tensor, dtype, shape, fill in layout["tensors"]:
        assert dtype in layouts.DTYPE_BYTES, tensor
        assert all(isinstance(n, int) and n > 0 for n in shape), tensor
        assert layouts.fill_kind(fill) in layouts.FILLS, (tensor, fill)
        if fill.startswith("json:"):
            assert shape == [len(fill[len("json:"):].encode())], tensor
        if fill.startswith("scale:"):
            assert 0 < float(fill[len("scale:"):]) < 1, tensor


def test_quantised_weights_carry_their_scales(all_layouts):
    for name, fmt, extra in (("ltx-2-19b.fp8", "float8_e4m3fn", ["weight_scale"]),
                             ("gemma-3-12b-it.nvfp4", "nvfp4", ["weight_scale", "weight_scale_2"])):
        rows = {row[0]: row for row in all_layouts[name]["tensors"]}
        quant = [t for t, row in rows.items() if row[3] == f'json:{{"format": "{fmt}"}}']
        assert quant, name
        for key in quant:
            base = key[: -len("comfy_quant")]
            assert all(base + part in rows for part in ["weight", *extra]), base


def test_the_tokenizer_tensor_is_the_stand_in_tokenizer(all_layouts):
    rows = [row for row in all_layouts["gemma-3-12b-it.nvfp4"]["tensors"] if row[3] == "tokenizer"]
    assert [row[:3] for row in rows] == [["spiece_model", "U8", [len(tokenizer.model_proto())]]]
    embed = next(row for row in all_layouts["gemma-3-12b-it.nvfp4"]["tensors"] if row[0] == "model.embed_tokens.weight")
    assert embed[3] == f"vocab:{tokenizer.VOCAB_SIZE}" and embed[2][0] > tokenizer.VOCAB_SIZE


def test_the_stand_in_tokenizer_is_the_same_bytes_every_time():
    assert tokenizer.model_proto() == tokenizer.model_proto()


def test_checkpoint_metadata_carries_every_config_comfyui_reads(all_layouts):
    import json
    for name in ("ltx-2-19b.bf16", "ltx-2-19b.fp8"):
        config = json.loads(all_layouts[name]["metadata"]["config"])
        assert {"transformer", "vae", "audio_vae", "vocoder"} <= set(config)
    assert json.loads(all_layouts["ltx-2-spatial-upscaler-x2"]["metadata"]["config"])["_class_name"] == "LatentUpsampler"


def test_loras_pair_their_a_and_b_matrices_at_the_chosen_rank(all_layouts):
    for name, rank in (("ltx-2-19b-distilled-lora-384", 384), ("ltx-2-19b-camera-lora", 32)):
        rows = {row[0]: row for row in all_layouts[name]["tensors"]}
        for key, (_, _, shape, _) in rows.items():
            assert re.fullmatch(r"diffusion_model\.transformer_blocks\.\d+\..+\.lora_[AB]\.weight", key), key
            other = key.replace("lora_A", "lora_B") if "lora_A" in key else key.replace("lora_B", "lora_A")
            assert other in rows
            assert (shape[0] if "lora_A" in key else shape[1]) == rank


def test_the_plan_is_exactly_the_ltx2_workflows_files():
    spec = engine.load_spec()
    ltx2 = [name for name in spec.workflows if name.startswith("ltx2-")]
    needed = {m.where for files in needed_models(spec, load_manifest(), ltx2).values() for m in files}
    assert sorted(p.where for p in PLAN) == sorted(needed)
    assert all(p.layout in EXPECTED for p in PLAN)


def test_synthetic_sizes_are_near_the_published_ones(all_layouts):
    manifest = load_manifest().models
    published = {"ltx-2-19b.bf16": "ltx-2-19b-distilled.safetensors",
                 "ltx-2-spatial-upscaler-x2": "ltx-2-spatial-upscaler-x2-1.0.safetensors",
                 "ltx-2-19b-distilled-lora-384": "ltx-2-19b-distilled-lora-384.safetensors",
                 "ltx-2-19b-camera-lora": "ltx-2-19b-lora-camera-control-static.safetensors",
                 "gemma-3-12b-it.nvfp4": "gemma_3_12B_it_fp4_mixed.safetensors"}
    for layout, file_name in published.items():
        size = layouts.payload_bytes(all_layouts[layout], len(tokenizer.model_proto())) / 1e9
        assert abs(size - manifest[file_name].size_gb) / manifest[file_name].size_gb < 0.1, (layout, size)


def test_the_planned_files_fit_the_gpu_machines_disk_with_room_to_spare(all_layouts):
    unique = {p.layout for p in PLAN}
    links = len(PLAN) - len(unique)
    total = sum(layouts.payload_bytes(all_layouts[name], len(tokenizer.model_proto())) for name in unique)
    assert links > 0 and total < DISK * 0.75, total / 2**30
