"""deploy.preflight against a live ComfyUI stand-in that answers /object_info and /models/{folder}."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from deploy.preflight import preflight
from engine import load_spec
from engine.cli import main
from engine.comfy.catalog import load_catalog
from engine.errors import PreflightError
from engine.manifest import load_manifest, needed_models
from tests.support.deploy_servers import ComfyWithModels
from worker.comfyui import ComfyClient

FAST = "ltx2-t2v-fast"
GEMMA = "gemma_3_12B_it_fp4_mixed.safetensors"


@pytest.fixture
def models(tmp_path) -> Path:
    """A models directory holding (empty) every file the fast text-to-video workflow needs."""
    root = tmp_path / "models"
    for model in needed_models(load_spec(), load_manifest(), [FAST])[FAST]:
        (root / model.folder).mkdir(parents=True, exist_ok=True)
        (root / model.folder / model.name).write_bytes(b"")
    return root


def folders(root: Path) -> dict[str, list[Path]]:
    return {f: [root / f] for f in sorted(set(load_manifest().loaders.values()))}


def serve(tmp_path, catalog=None, model_dirs=None):
    return ComfyWithModels(tmp_path, tmp_path, catalog or load_catalog(), dict(load_manifest().loaders),
                           model_dirs if model_dirs is not None else folders(tmp_path / "models"))


def run(comfy, disk=None, workflows=(FAST,)):
    async def check():
        async with ComfyClient.open(comfy.url) as client:
            await preflight(client, load_spec(), load_manifest(), list(workflows), disk)

    asyncio.run(check())


def test_a_comfyui_with_every_class_and_file_passes(tmp_path, models):
    with serve(tmp_path) as comfy:
        run(comfy, folders(models))


def test_a_missing_model_file_is_named_once_with_where_it_was_looked_for(tmp_path, models):
    (models / "text_encoders" / GEMMA).unlink()
    with serve(tmp_path) as comfy, pytest.raises(PreflightError) as err:
        run(comfy, folders(models), [FAST, "ltx2-i2v-fast"])
    assert err.value.problems == [
        f"missing model file text_encoders/{GEMMA} (9.5 GB from Comfy-Org/ltx-2), needed by {FAST}, ltx2-i2v-fast: "
        f"not in ComfyUI's list GET /models/text_encoders (it looks in {models / 'text_encoders'})"]
    assert str(err.value).startswith(f"preflight: ComfyUI at {comfy.url} cannot serve {FAST}, ltx2-i2v-fast; ")


def test_a_file_on_disk_that_comfyui_does_not_list_is_pointed_out(tmp_path, models):
    elsewhere = {**folders(models), "text_encoders": [tmp_path / "wrong"]}
    with serve(tmp_path, model_dirs=elsewhere) as comfy, pytest.raises(PreflightError) as err:
        run(comfy, folders(models))
    assert err.value.problems[0].endswith(
        f"{models / 'text_encoders' / GEMMA} exists but ComfyUI does not list it")


def test_a_missing_node_class_is_named_with_the_node(tmp_path, models):
    catalog = load_catalog()
    del catalog["LTXVConditioning"]
    with serve(tmp_path, catalog) as comfy, pytest.raises(PreflightError) as err:
        run(comfy, folders(models))
    assert err.value.problems[0] == (
        f"{FAST}: node 177:103 (LTXVConditioning): class is not in the node catalogue (a custom node, or a typo?)")


def test_a_choice_the_live_comfyui_does_not_offer_is_named(tmp_path, models):
    catalog = load_catalog()
    catalog["KSamplerSelect"]["input"]["required"]["sampler_name"][1]["options"] = ["euler"]
    with serve(tmp_path, catalog) as comfy, pytest.raises(PreflightError) as err:
        run(comfy, folders(models))
    assert any("(KSamplerSelect): input 'sampler_name': value " in p and "is not one of ['euler']" in p
               for p in err.value.problems)


def test_without_a_model_folder_list_the_disk_decides(tmp_path, models):
    no_lists = {}
    with serve(tmp_path, model_dirs=no_lists) as comfy:
        run(comfy, folders(models))
        (models / "text_encoders" / GEMMA).unlink()
        with pytest.raises(PreflightError) as err:
            run(comfy, folders(models))
    assert err.value.problems[0].endswith(
        f"ComfyUI has no 'text_encoders' model folder (GET /models/text_encoders: 404); "
        f"not on disk in {models / 'text_encoders'}")


def test_lint_against_a_live_comfyui_names_missing_files_at_their_nodes(tmp_path, models, capsys):
    (models / "text_encoders" / GEMMA).unlink()
    with serve(tmp_path) as comfy:
        assert main(["lint", "--comfy-url", comfy.url]) == 1
    out = capsys.readouterr().out
    assert (f"ltx2-t2v-fast: template ltx2-t2v-fast.json: node 177:111 (LTXAVTextEncoderLoader): input 'text_encoder': "
            f"model file text_encoders/{GEMMA} is missing: not in ComfyUI's list GET /models/text_encoders") in out


def test_lint_against_an_unreachable_comfyui_says_so(capsys):
    assert main(["lint", "--comfy-url", "http://127.0.0.1:9"]) == 1
    assert capsys.readouterr().err.startswith("error: ComfyUI is not reachable at http://127.0.0.1:9: ")
