"""engine.comfy.history: reading outcomes, videos and texts from ComfyUI's /history entries."""

from __future__ import annotations

import pytest

from engine.comfy.history import check_history_status, find_text, find_video
from engine.errors import ComfyFailed


def test_no_output_is_an_error():
    with pytest.raises(ComfyFailed, match="node 3 \\(SaveVideo\\) reported no video output"):
        find_video({"outputs": {}}, "3", "SaveVideo")


def test_gifs_count_as_video():
    entry = {"outputs": {"9": {"gifs": [{"filename": "x_00001.mp4", "subfolder": "", "type": "output"}]}}}
    assert find_video(entry, "9")["filename"] == "x_00001.mp4"


def test_an_error_status_without_messages_still_fails():
    with pytest.raises(ComfyFailed, match="without a reason"):
        check_history_status({"status": {"status_str": "error", "messages": []}})


def test_text_is_one_string_or_a_list_and_none_when_not_recorded():
    entry = {"outputs": {"5": {"text": ["one"]}, "6": {"text": ["a", "b"]}, "7": {"images": []}}}
    assert find_text(entry, "5") == "one"
    assert find_text(entry, "6") == ["a", "b"]
    assert find_text(entry, "7") is None
