"""engine.manifest: the manifest is exactly the files the workflows use, derived by rendering them."""

from __future__ import annotations

import json

import pytest

from engine import load_spec
from engine.cli import main
from engine.errors import SpecError
from engine.manifest import (
    load_manifest,
    model_references,
    needed_models,
)
from tests.support import ROOT

CAMERAS = ("static", "dolly-in", "dolly-out", "dolly-left", "dolly-right", "jib-up", "jib-down")


def named_graphs():
    """Every template and every rendered golden graph."""
    for path in sorted((ROOT / "templates").glob("*.json")):
        yield path.name, json.loads(path.read_text())
    for path in sorted((ROOT / "tests" / "golden").glob("*.json")):
        yield path.name, json.loads(path.read_text())["graph"]


def test_every_model_a_template_or_golden_graph_names_is_in_the_manifest():
    manifest = load_manifest()
    for name, graph in named_graphs():
        for folder, file_name in model_references(graph, manifest.loaders):
            assert file_name in manifest.models, f"{name}: {folder}/{file_name}"
            assert manifest.models[file_name].folder == folder, f"{name}: {folder}/{file_name}"


def test_the_manifest_names_no_file_that_no_workflow_uses():
    manifest = load_manifest()
    used = {m.name for models in needed_models(load_spec(), manifest).values() for m in models}
    assert sorted(set(manifest.models) - used) == []


def test_every_camera_lora_a_request_can_choose_is_needed_even_if_no_example_uses_it():
    needed = needed_models(load_spec(), load_manifest())
    for workflow in ("ltx2-t2v-fast", "ltx2-t2v-pro", "ltx2-i2v-fast", "ltx2-i2v-pro"):
        names = {m.name for m in needed[workflow]}
        assert {f"ltx-2-19b-lora-camera-control-{c}.safetensors" for c in CAMERAS} <= names


def test_fast_and_pro_need_their_own_checkpoint_and_smoke_needs_nothing():
    needed = {w: {m.name for m in ms} for w, ms in needed_models(load_spec(), load_manifest()).items()}
    assert "ltx-2-19b-distilled.safetensors" in needed["ltx2-t2v-fast"] - needed["ltx2-t2v-pro"]
    assert {"ltx-2-19b-dev-fp8.safetensors", "ltx-2-19b-distilled-lora-384.safetensors"} <= needed["ltx2-i2v-pro"]
    assert needed["smoke"] == set()


def test_a_model_file_missing_from_the_manifest_is_named(tmp_path):
    text = (ROOT / "spec" / "models.yaml").read_text()
    start = text.index("  ltx-2-spatial-upscaler-x2-1.0.safetensors:")
    end = text.index("  gemma_3_12B_it_fp4_mixed.safetensors:")
    short = tmp_path / "models.yaml"
    short.write_text(text[:start] + text[end:])
    with pytest.raises(SpecError) as err:
        needed_models(load_spec(), load_manifest(short), ["ltx2-t2v-fast"])
    assert err.value.problems == [
        "ltx2-t2v-fast: model file latent_upscale_models/ltx-2-spatial-upscaler-x2-1.0.safetensors "
        "is not in spec/models.yaml"]


def test_models_list_shows_sizes_totals_and_what_a_models_dir_holds(tmp_path, capsys):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "ltx-2-19b-distilled.safetensors").write_bytes(b"")
    assert main(["models", "list", "--workflows", "ltx2-t2v-fast", "--models-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["ltx2-t2v-fast", "10", "56.1", "GB"]
    assert out[3].startswith("present checkpoints/ltx-2-19b-distilled.safetensors")
    assert "MISSING text_encoders/gemma_3_12B_it_fp4_mixed.safetensors" in "\n".join(out)
    assert "[gated: needs HF_TOKEN]" in "\n".join(out)
    assert out[-1] == (f"total: 10 files, 56.1 GB (sizes approximate); missing under {tmp_path}: 9 files, 12.8 GB")



@pytest.mark.parametrize("name, folder", [
    ("../evil.safetensors", "checkpoints"), ("ok.safetensors", "../outside"), ("ok.safetensors", "/etc"),
    ("ok.safetensors", "a/b"), (".hidden", "checkpoints"),
])
def test_manifest_entries_cannot_leave_the_models_root(tmp_path, name, folder):
    text = (f"loaders: {{CheckpointLoaderSimple.ckpt_name: checkpoints}}\n"
            f"models:\n  {json.dumps(name)}: {{folder: {json.dumps(folder)}, repo: a/b, path: x, size_gb: 1, gated: false}}\n")
    (tmp_path / "models.yaml").write_text(text)
    with pytest.raises(SpecError, match="models.yaml: models"):
        load_manifest(tmp_path / "models.yaml")
