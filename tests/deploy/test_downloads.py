"""deploy.downloads against a fake Hugging Face Hub on loopback (HF_ENDPOINT), through huggingface_hub."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from deploy.downloads import STAGING, Downloader, DownloadError, ProgressLog
from engine.manifest import ModelFile, load_manifest
from tests.support import ROOT
from tests.support.deploy_servers import GOOD_TOKEN, FakeHub

REPO = "Acme/tiny-video"
GATED = "Acme/gated-encoder"


def model(name: str = "tiny.safetensors", repo: str = REPO, path: str | None = None, sha256: str | None = None,
          gated: bool = False, folder: str = "checkpoints") -> ModelFile:
    return ModelFile(name=name, folder=folder, repo=repo, path=path or name, size_gb=0.001, sha256=sha256,
                     gated=gated)


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def payload(size: int, seed: int = 1) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def test_downloads_a_missing_file_into_its_folder(hub, tmp_path):
    data = payload(300_000)
    hub.state.add(REPO, "weights/tiny.safetensors", data)
    [outcome] = Downloader(tmp_path).run([model(path="weights/tiny.safetensors")])
    assert outcome.status == "downloaded"
    assert (tmp_path / "checkpoints" / "tiny.safetensors").read_bytes() == data
    assert not list((tmp_path / STAGING).glob("*.part"))


def test_a_file_already_present_is_not_fetched(hub, tmp_path):
    hub.state.add(REPO, "tiny.safetensors", b"new")
    baked = tmp_path / "baked"
    (baked / "checkpoints").mkdir(parents=True)
    (baked / "checkpoints" / "tiny.safetensors").write_bytes(b"old")
    [outcome] = Downloader(tmp_path / "volume", [baked]).run([model()])
    assert (outcome.status, outcome.path) == ("present", baked / "checkpoints" / "tiny.safetensors")
    assert hub.state.requests == []


def test_a_cut_connection_resumes_with_a_range_request(hub, tmp_path):
    data = payload(11 * 2**20)
    hub.state.add(REPO, "tiny.safetensors", data)
    hub.state.cut_after["tiny.safetensors"] = 10 * 2**20 + 12345
    Downloader(tmp_path).run([model()])
    assert (tmp_path / "checkpoints" / "tiny.safetensors").read_bytes() == data
    gets = hub.state.gets("tiny.safetensors")
    assert [g["headers"].get("range") for g in gets] == [None, f"bytes={10 * 2**20}-"]


def test_a_partial_file_left_by_a_killed_run_is_resumed(hub, tmp_path):
    data = payload(400_000)
    hub.state.add(REPO, "tiny.safetensors", data)
    staging = tmp_path / STAGING
    staging.mkdir()
    tag = hashlib.sha256(hashlib.sha256(data).hexdigest().encode()).hexdigest()[:16]
    (staging / f"tiny.safetensors.{tag}.part").write_bytes(data[:150_000])
    Downloader(tmp_path).run([model()])
    assert (tmp_path / "checkpoints" / "tiny.safetensors").read_bytes() == data
    assert [g["headers"].get("range") for g in hub.state.gets("tiny.safetensors")] == ["bytes=150000-"]


def test_a_checksum_mismatch_with_the_manifest_deletes_the_download(hub, tmp_path):
    hub.state.add(REPO, "tiny.safetensors", payload(1000))
    wrong = "0" * 64
    with pytest.raises(DownloadError) as err:
        Downloader(tmp_path).run([model(sha256=wrong)])
    assert str(err.value).startswith("tiny.safetensors: sha256 mismatch (got ")
    assert f"spec/models.yaml says {wrong}); deleted the download, run again" in str(err.value)
    assert not (tmp_path / "checkpoints" / "tiny.safetensors").exists()
    assert not list((tmp_path / STAGING).glob("*.part"))


def test_bytes_that_do_not_match_the_hubs_lfs_hash_are_refused(hub, tmp_path):
    hub.state.add(REPO, "tiny.safetensors", payload(1000))
    hub.state.lie_sha.add("tiny.safetensors")
    with pytest.raises(DownloadError, match=r"sha256 mismatch .* the Hub's LFS hash says"):
        Downloader(tmp_path).run([model()])


def test_a_gated_file_without_a_token_names_the_license_page(hub, tmp_path):
    hub.state.add(GATED, "enc.safetensors", b"x")
    hub.state.gated.add(GATED)
    with pytest.raises(DownloadError) as err:
        Downloader(tmp_path).run([model("enc.safetensors", repo=GATED, gated=True)])
    assert str(err.value) == (
        f"enc.safetensors: gated model, no access to {GATED} (HTTP 401, HF_TOKEN is not set): accept the license "
        f"at {hub.url}/{GATED} and set HF_TOKEN to a token of that account")


def test_a_gated_file_with_a_token_without_access_is_refused(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_not_accepted")
    hub.state.add(GATED, "enc.safetensors", b"x")
    hub.state.gated.add(GATED)
    with pytest.raises(DownloadError, match=r"\(HTTP 403, the token in HF_TOKEN has no access\): accept the license"):
        Downloader(tmp_path).run([model("enc.safetensors", repo=GATED, gated=True)])


def test_a_gated_file_downloads_with_an_accepted_token(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", GOOD_TOKEN)
    hub.state.add(GATED, "split/enc.safetensors", b"encoder")
    hub.state.gated.add(GATED)
    Downloader(tmp_path).run([model("enc.safetensors", repo=GATED, path="split/enc.safetensors", gated=True)])
    assert (tmp_path / "checkpoints" / "enc.safetensors").read_bytes() == b"encoder"


def test_gated_files_can_be_skipped_when_there_is_no_token(hub, tmp_path):
    hub.state.add(REPO, "tiny.safetensors", b"open")
    outcomes = Downloader(tmp_path).run([model(), model("enc.safetensors", repo=GATED, gated=True)],
                                        skip_gated_without_token=True)
    assert [(o.model.name, o.status) for o in outcomes] == [("enc.safetensors", "skipped"),
                                                            ("tiny.safetensors", "downloaded")]


def test_the_token_is_not_sent_to_the_cdn_a_file_redirects_to(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", GOOD_TOKEN)
    hub.state.cdn_url = hub.cdn_url
    hub.state.add(REPO, "tiny.safetensors", b"lfs bytes")
    Downloader(tmp_path).run([model()])
    assert (tmp_path / "checkpoints" / "tiny.safetensors").read_bytes() == b"lfs bytes"
    [head] = [r for r in hub.state.requests if r["method"] == "HEAD"]
    [get] = hub.state.gets("tiny.safetensors")
    assert head["headers"]["authorization"] == f"Bearer {GOOD_TOKEN}"
    assert get["path"].startswith("/cdn/") and "authorization" not in get["headers"]


def test_every_failure_is_reported_one_line_per_file(hub, tmp_path):
    hub.state.add(REPO, "tiny.safetensors", b"x")
    with pytest.raises(DownloadError) as err:
        Downloader(tmp_path).run([model("gone.safetensors"), model("other.safetensors", repo="Acme/missing")])
    assert err.value.problems == [
        f"gone.safetensors: gone.safetensors is not in {REPO} at revision main ({hub.url})",
        f"other.safetensors: repository Acme/missing not found at {hub.url} (HTTP 401; HF_TOKEN is not set if it is private)",
    ]


def test_two_workers_downloading_at_once_fetch_each_file_once(hub, tmp_path):
    manifest = load_manifest()
    files = {}
    for index, m in enumerate(manifest.models.values()):
        files[m.name] = payload(200_000, index)
        hub.state.add(m.repo, m.path, files[m.name])
    hub.state.chunk_delay = 0.05
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": GOOD_TOKEN, "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    command = [sys.executable, "-m", "engine", "models", "download", "--workflows", "ltx2-t2v-fast",
               "--dest", str(tmp_path)]
    workers = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    results = [w.communicate(timeout=60) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], results
    assert sum(int(err.split("ok: ")[1].split()[0]) for _, err in results) == 10
    downloaded = sorted(p.name for p in tmp_path.glob("*/*.safetensors"))
    assert len(downloaded) == 10
    for name in downloaded:
        folder = manifest.models[name].folder
        assert (tmp_path / folder / name).read_bytes() == files[name]
        assert len(hub.state.gets(manifest.models[name].path)) == 1, name


def test_progress_is_logged_as_lines_with_size_and_percent(hub, tmp_path, caplog):
    hub.state.add(REPO, "tiny.safetensors", payload(300_000))
    caplog.set_level("INFO", logger="models")
    Downloader(tmp_path, progress=ProgressLog(interval=0)).run([model()])
    lines = [r.getMessage() for r in caplog.records if r.name == "models"]
    assert lines[0] == f"tiny.safetensors: downloading from {REPO} (0.00 GB)"
    assert any(line.startswith("tiny.safetensors: 0.00 / 0.00 GB (100%), ") and line.endswith(" MB/s") for line in lines)
    assert lines[-1] == f"tiny.safetensors: done, {tmp_path / 'checkpoints' / 'tiny.safetensors'}"


def test_an_unresolvable_hub_fails_at_once_one_line_per_file(tmp_path):
    downloader = Downloader(tmp_path, endpoint="http://hub.invalid", token="")
    with pytest.raises(DownloadError) as err:
        downloader.run([model("a.safetensors"), model("b.safetensors")])
    assert [line.split(":", 1)[0] for line in err.value.problems] == ["a.safetensors", "b.safetensors"]
    assert all("host 'hub.invalid' does not resolve" in line and "resume" not in line for line in err.value.problems)


@pytest.mark.parametrize("folder", ["../outside", "/etc", "checkpoints/../../outside"])
def test_a_folder_leading_outside_the_models_root_is_refused(hub, tmp_path, folder):
    hub.state.add(REPO, "tiny.safetensors", payload(1000))
    with pytest.raises(DownloadError, match="lead outside"):
        Downloader(tmp_path / "models").run([model(folder=folder)])
    assert [p.name for p in tmp_path.rglob("tiny.safetensors")] == []
