"""The tier needs a real ComfyUI: without COMFYUI_TEST_URL / COMFYUI_TEST_DIR it fails here, never skips."""

import pytest

from tests.integration.helpers import MISSING, missing_settings


def test_the_tier_has_a_real_comfyui_to_run_against(request):
    missing = missing_settings()
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: {MISSING}", pytrace=False)
    tier = request.getfixturevalue("tier")
    stats = tier.http.get("/system_stats")
    assert stats["system"]["comfyui_version"]
    assert (tier.comfy_dir / "main.py").is_file()
