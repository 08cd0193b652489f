"""deploy.startup: the container entry point, run as a real process against a fake ComfyUI main.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.comfy_process import comfy_command
from deploy.config import StartConfig, load_start_config
from deploy.model_paths import model_dirs
from engine import load_spec
from engine.errors import ConfigError
from engine.manifest import load_manifest, needed_models
from tests.support import ROOT, free_port
from tests.support.deploy_servers import FAKE_MAIN, GOOD_TOKEN, FakeHub
from worker.config import load_config
from worker.job import enabled_workflows

FAST = "ltx2-t2v-fast"
GEMMA = "gemma_3_12B_it_fp4_mixed.safetensors"


def place_models(root: Path, skip: tuple[str, ...] = ()) -> None:
    """Empty files named like every model the fast text-to-video workflow needs (names are what is checked)."""
    for model in needed_models(load_spec(), load_manifest(), [FAST])[FAST]:
        if model.name not in skip:
            (root / model.folder).mkdir(parents=True, exist_ok=True)
            (root / model.folder / model.name).write_bytes(b"")


@pytest.fixture
def box(tmp_path):
    """A fake ComfyUI install (comfyui/main.py), a network-volume models dir and the worker's environment."""
    comfy_dir = tmp_path / "comfyui"
    (comfy_dir / "models").mkdir(parents=True)
    (comfy_dir / "main.py").write_text(FAKE_MAIN)
    volume = tmp_path / "volume" / "models"
    volume.mkdir(parents=True)
    paths = tmp_path / "extra_model_paths.yaml"
    folders = "\n".join(f"  {f}: {f}/" for f in sorted(set(load_manifest().loaders.values())))
    paths.write_text(f"volume:\n  base_path: {volume}\n{folders}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "HF_", "FAKE_COMFYUI"))}
    env.update({
        "COMFYUI_DIR": str(comfy_dir), "COMFYUI_EXTRA_MODEL_PATHS": str(paths),
        "COMFYUI_URL": f"http://127.0.0.1:{free_port()}", "COMFYUI_READY_TIMEOUT_S": "20",
        "COMFYUI_OUTPUT_DIR": str(comfy_dir / "output"), "COMFYUI_INPUT_DIR": str(comfy_dir / "input"),
        "ENABLED_WORKFLOWS": FAST, "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    })
    return {"comfy": comfy_dir, "volume": volume, "env": env}


def start(box, *args: str, module: str = "deploy", **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m deploy`` to its end and check the fake ComfyUI it started is gone."""
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env={**box["env"], **env},
                            capture_output=True, text=True, timeout=60)
    pid_file = box["comfy"] / "pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"ComfyUI (pid {pid}) still runs after the start-up process ended")
    return result


def test_comfyui_never_ready_exits_with_the_tail_of_its_log(box):
    result = start(box, FAKE_COMFYUI="hang", COMFYUI_READY_TIMEOUT_S="1.5")
    assert result.returncode == 1
    assert (f"ComfyUI did not answer GET /system_stats at {box['env']['COMFYUI_URL']} within 1.5 s "
            "(COMFYUI_READY_TIMEOUT_S); last lines of its log:") in result.stdout
    assert "    loading models forever" in result.stdout


def test_comfyui_dying_during_start_exits_with_its_code_and_log(box):
    result = start(box, FAKE_COMFYUI="die")
    assert result.returncode == 1
    assert "ComfyUI exited with code 3 during start-up; last lines of its log:" in result.stdout
    assert "    RuntimeError: CUDA driver version is insufficient" in result.stdout


def test_the_old_entry_name_still_starts_the_container(box):
    result = start(box, module="engine.start", FAKE_COMFYUI="die")
    assert result.returncode == 1
    assert "ComfyUI exited with code 3 during start-up; last lines of its log:" in result.stdout


def test_a_missing_node_class_fails_the_preflight(box):
    place_models(box["comfy"] / "models")
    result = start(box, FAKE_COMFYUI_DROP="LTXVConditioning")
    assert result.returncode == 1
    assert f"cannot serve {FAST}, smoke; this worker takes no jobs until this is fixed:" in result.stdout
    assert (f"  - {FAST}: node 177:103 (LTXVConditioning): class is not in the node catalogue "
            "(a custom node, or a typo?)") in result.stdout


def test_a_missing_model_file_fails_the_preflight_naming_where_it_was_looked_for(box):
    place_models(box["comfy"] / "models", skip=(GEMMA,))
    result = start(box)
    assert result.returncode == 1
    dirs = f"{box['comfy']}/models/text_encoders, {box['volume']}/text_encoders"
    assert (f"  - missing model file text_encoders/{GEMMA} (9.5 GB from Comfy-Org/ltx-2), needed by {FAST}: "
            f"not in ComfyUI's list GET /models/text_encoders (it looks in {dirs})") in result.stdout


def test_all_good_warms_up_and_serves_a_job(box):
    place_models(box["volume"])
    result = start(box, "--test_input", json.dumps({"input": {"workflow": "smoke"}}), WARMUP="smoke")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"preflight ok: ComfyUI has every node class and model file for {FAST}, smoke" in result.stdout
    assert "warmup (smoke) done" in result.stdout
    assert "comfyui | fake ComfyUI starting: " in result.stdout
    assert "| worker | job local_test done: smoke, 64x64, 24 frames, inline, " in result.stdout
    assert "Job result" not in result.stdout  # the SDK would log the whole base64 video


def test_first_start_downloads_only_what_the_image_lacks_into_the_volume(box):
    place_models(box["comfy"] / "models", skip=(GEMMA,))
    gemma = load_manifest().models[GEMMA]
    with FakeHub() as hub:
        hub.state.add(gemma.repo, gemma.path, b"gemma weights")
        hub.state.gated.add(gemma.repo)
        result = start(box, "--test_input", json.dumps({"input": {"workflow": "smoke"}}), DOWNLOAD_MODELS="1",
                       HF_ENDPOINT=hub.url, HF_TOKEN=GOOD_TOKEN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (box["volume"] / "text_encoders" / GEMMA).read_bytes() == b"gemma weights"
    assert [r["path"] for r in hub.state.requests if "/resolve/" in r["path"] and r["method"] == "GET"] == [
        f"/{gemma.repo}/resolve/main/{gemma.path}"]


def test_a_gated_download_without_a_token_stops_the_start(box):
    place_models(box["comfy"] / "models", skip=(GEMMA,))
    gemma = load_manifest().models[GEMMA]
    with FakeHub() as hub:
        hub.state.add(gemma.repo, gemma.path, b"gemma weights")
        hub.state.gated.add(gemma.repo)
        result = start(box, DOWNLOAD_MODELS="1", HF_ENDPOINT=hub.url)
    assert result.returncode == 1
    assert (f"{GEMMA}: gated model, no access to Comfy-Org/ltx-2 (HTTP 401, HF_TOKEN is not set): accept the "
            f"license at {hub.url}/Comfy-Org/ltx-2") in result.stdout


def test_comfyui_runs_on_loopback_with_the_model_paths_and_no_custom_nodes(tmp_path):
    paths = tmp_path / "paths.yaml"
    paths.write_text("x: {base_path: /v}\n")
    config = StartConfig(comfyui_dir=Path("/comfyui"), comfyui_python="/py", extra_model_paths=paths,
                         comfyui_args=("--lowvram",))
    assert comfy_command(config, "http://127.0.0.1:8190") == [
        "/py", "/comfyui/main.py", "--listen", "127.0.0.1", "--port", "8190", "--disable-auto-launch",
        "--disable-all-custom-nodes", "--verbose", "WARNING", "--extra-model-paths-config", str(paths), "--lowvram"]


def test_the_shipped_model_paths_map_every_folder_the_templates_use():
    folders = sorted(set(load_manifest().loaders.values()))
    shipped = ROOT / "docker" / "extra_model_paths.yaml"
    dirs = model_dirs(Path("/comfyui"), shipped, folders)
    assert dirs == {f: [Path("/comfyui/models") / f, Path("/runpod-volume/models") / f] for f in folders}


def test_a_bad_setting_is_named():
    with pytest.raises(ConfigError, match="WARMUP='big' is not one of none, smoke, ltx2"):
        load_start_config({"WARMUP": "big"})


def test_the_image_runs_this_entry_point_and_copies_only_what_dockerignore_lets_in():
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert lines[-1] == 'CMD ["python", "-m", "deploy"]'
    allowed = [line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    sources = [s for line in lines if line.startswith("COPY ") and "--from=" not in line for s in line.split()[1:-1]]
    assert sources
    for source in sources:
        assert list(ROOT.glob(source)), source
        assert any(Path(source).match(a.rstrip("/")) or source.startswith(a) for a in allowed), source


def test_every_setting_the_hub_offers_is_one_the_worker_reads():
    hub = json.loads((ROOT / ".runpod" / "hub.json").read_text())
    assert hub["category"] == "video" and hub["type"] == "serverless"
    source = "".join(p.read_text() for layer in ("worker", "deploy") for p in (ROOT / layer).glob("*.py"))
    for item in hub["config"]["env"]:
        assert item["key"] == "HF_TOKEN" or f'"{item["key"]}"' in source, item["key"]


def test_the_hub_smoke_test_needs_no_model():
    tests = json.loads((ROOT / ".runpod" / "tests.json").read_text())
    env = {e["key"]: e["value"] for e in tests["config"]["env"]}
    spec = load_spec()
    assert enabled_workflows(spec, load_config(env).enabled_workflows) == ["smoke"]
    assert not load_start_config(env).download_models
    for test in tests["tests"]:
        workflow = spec.prepare(test["input"]).workflow.name
        assert needed_models(spec, load_manifest(), [workflow])[workflow] == []


def test_no_comfyui_where_comfyui_dir_points_is_one_line(box, tmp_path):
    result = start(box, COMFYUI_DIR=str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert f"no ComfyUI at {tmp_path / 'nowhere'} ({tmp_path / 'nowhere' / 'main.py'} is missing): set COMFYUI_DIR" \
        in result.stdout


def test_comfyui_starts_before_the_runpod_sdk_is_imported():
    """The SDK's import (about 1.5 s) and the spec load overlap ComfyUI's boot instead of delaying it."""
    code = ("import sys, deploy.startup as s, deploy.comfy_process as c\n"
            "assert 'runpod' not in sys.modules and 'worker.job' not in sys.modules\n"
            "class Started(Exception): pass\n"
            "def start(self): raise Started('runpod' in sys.modules, 'worker.job' in sys.modules)\n"
            "c.ComfyProcess.start = start\n"
            "try:\n    s.run(s.load_start_config())\nexcept Started as e:\n    print(e.args)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "DOWNLOAD_MODELS"})
    assert out.stdout.strip() == "(False, False)", out.stdout + out.stderr
