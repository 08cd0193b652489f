"""Clean-up: only the job's own files, found where the job wrote them, never by walking the directories."""

import os

import pytest

from worker import cleanup
from worker.cleanup import JobFiles, remove_job_files

JOB = "job-0123456789ab"


@pytest.fixture
def dirs(tmp_path):
    inputs, outputs = tmp_path / "input", tmp_path / "output"
    for path in (inputs / f"{JOB}.png", inputs / f"{JOB} (1).png", inputs / "other-job-aaaaaaaaaaaa.png",
                 outputs / "smoke" / f"{JOB}_00001_.mp4", outputs / "smoke" / f"{JOB}_00002_.mp4",
                 outputs / "smoke" / f"{JOB}_x-bbbbbbbbbbbb_00001_.mp4", outputs / "smoke" / "ComfyUI_00001_.mp4",
                 outputs / "smoke" / f"notes-{JOB}.txt", outputs / "ltx2" / f"{JOB}_00001_.mp4"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return inputs, outputs


def left(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_removes_the_uploads_and_every_output_of_the_prefix_and_nothing_else(dirs):
    inputs, outputs = dirs
    files = JobFiles(uploads=[f"{JOB}.png", f"{JOB} (1).png"])
    files.add_outputs({"3": {"inputs": {"filename_prefix": f"smoke/{JOB}"}}, "4": {"inputs": {"video": ["3", 0]}}})
    removed = remove_job_files(JOB, [str(inputs), str(outputs)], files)
    assert len(removed) == 4
    assert left(inputs) == ["other-job-aaaaaaaaaaaa.png"]
    assert left(outputs) == ["ltx2/job-0123456789ab_00001_.mp4", "smoke/ComfyUI_00001_.mp4",
                             "smoke/job-0123456789ab_x-bbbbbbbbbbbb_00001_.mp4", "smoke/notes-job-0123456789ab.txt"]


def test_a_fixed_prefix_without_the_job_id_is_never_cleaned(dirs):
    inputs, outputs = dirs
    files = JobFiles()
    files.add_outputs({"9": {"inputs": {"filename_prefix": "smoke/ComfyUI"}}})
    assert remove_job_files(JOB, [str(inputs), str(outputs)], files) == []


def test_names_that_leave_the_directories_are_ignored(dirs, tmp_path):
    inputs, outputs = dirs
    outside = tmp_path / f"{JOB}.png"
    outside.write_bytes(b"x")
    (tmp_path / f"{JOB}_00001_.mp4").write_bytes(b"x")
    files = JobFiles(uploads=[f"../{JOB}.png"], prefixes=[f"../{JOB}"])
    assert remove_job_files(JOB, [str(inputs), str(outputs)], files) == []
    assert outside.exists()


def test_it_never_walks_the_directories(dirs, monkeypatch):
    inputs, outputs = dirs
    monkeypatch.setattr(os, "walk", lambda *a, **k: pytest.fail("walked a directory"))
    listed = []
    real = os.scandir
    monkeypatch.setattr(cleanup.os, "scandir", lambda path: listed.append(path) or real(path))
    remove_job_files(JOB, [str(inputs), str(outputs)], JobFiles(prefixes=[f"smoke/{JOB}"]))
    assert listed == [os.path.realpath(outputs / "smoke")]


def test_missing_directories_and_nothing_recorded_are_fine(tmp_path):
    assert remove_job_files(JOB, [str(tmp_path / "no"), ""], JobFiles([f"{JOB}.png"], [f"smoke/{JOB}"])) == []
    assert remove_job_files(JOB, [str(tmp_path), str(tmp_path)]) == []


def test_a_short_job_id_is_refused():
    with pytest.raises(ValueError, match="too short"):
        remove_job_files("short", ["/", "/"], JobFiles(uploads=["short.png"]))


def test_a_file_that_cannot_be_removed_is_logged_not_raised(dirs, monkeypatch, caplog):
    inputs, outputs = dirs

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cleanup.os, "remove", refuse)
    assert remove_job_files(JOB, [str(inputs), str(outputs)], JobFiles(uploads=[f"{JOB}.png"])) == []
    assert "could not remove" in caplog.text
