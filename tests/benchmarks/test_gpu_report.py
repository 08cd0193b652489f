"""The benchmark's table writer and the log parsing behind its sampler column."""

from __future__ import annotations

import json

import report
from run import sampler_runs

ROWS = [
    {"case": "t2v-fast-720p-10s", "status": "ok", "wall_s": 61.2, "execution_s": 55.0, "peak_gpu_mib": 71234,
     "video": {"width": 1280, "height": 704, "frames": 241}, "decoded": True,
     "samplers": [{"steps": 8, "seconds": 20}, {"steps": 3, "seconds": 18}]},
    {"case": "t2v-pro-1080p-20s", "status": "failed", "wall_s": 3.0, "peak_gpu_mib": 139000,
     "error": "ComfyUI failed: CUDA out of memory | node 92:41"},
    {"case": "i2v-pro-720p-10s", "status": "not run", "error": "deadline reached"},
]


def test_markdown_has_one_row_per_case_and_dashes_for_what_is_unknown():
    text = report.markdown({"device": "NVIDIA H200, 143771 MiB", "started": "2026-12-02 20:00:00 UTC",
                            "elapsed_s": 540.0, "weights_s": 80.5, "rows": ROWS})
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| case | status | size x frames | wall s")
    assert table[1] == "| t2v-fast-720p-10s | ok | 1280x704 x 241 | 61.2 | 55 | 20 (8) + 18 (3) | 71234 | yes |"
    assert table[2] == "| t2v-pro-1080p-20s | failed | - | 3 | - | - | 139000 | - |"
    assert table[3] == "| i2v-pro-720p-10s | not run | - | - | - | - | - | - |"
    assert "- t2v-pro-1080p-20s: ComfyUI failed: CUDA out of memory | node 92:41" in text
    assert "# GPU benchmark: NVIDIA H200, 143771 MiB" in text and "ComfyUI started in -" in text


def test_a_video_that_does_not_decode_as_reported_is_marked():
    row = {**ROWS[0], "decoded": False}
    assert "| NO |" in report.markdown({"rows": [row]})


def test_write_puts_json_and_markdown_in_the_folder(tmp_path):
    results = {"rows": ROWS, "device": None}
    report.write(results, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "results.json").read_text()) == results
    assert (tmp_path / "out" / "results.md").read_text() == report.markdown(results)


def test_sampler_runs_are_the_finished_progress_bars_of_the_log():
    log = ("  0%|          | 0/8 [00:00<?, ?it/s]\r 50%|#####     | 4/8 [00:10<00:10,  2.5s/it]\r"
           "100%|##########| 8/8 [00:20<00:00,  2.5s/it]\n"
           "100%|##########| 3/3 [01:02:05<00:00, 20.1s/it]\nPrompt executed in 95.2 seconds\n"
           "100%|##########| 1/1 [00:00<00:00]\n")
    assert sampler_runs(log) == [{"steps": 8, "seconds": 20}, {"steps": 3, "seconds": 3725}]
