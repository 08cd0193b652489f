"""The recorded exchanges hold on the real ComfyUI too: the same checks the stand-in passes
(tests/worker/test_standin_contract.py), so the stand-in cannot drift from the server it stands in for."""

import asyncio

import pytest

from tests.docs.test_pin import stated_pin
from tests.support.contract import CHECKS


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_real_comfyui_keeps_the_contract(tier, name):
    asyncio.run(CHECKS[name](tier.url, tier.output_dir, tier.tag))


def test_the_server_is_the_comfyui_the_image_pins(tier):
    version, _ = stated_pin()
    assert tier.http.get("/system_stats")["system"]["comfyui_version"] == version
