"""The ComfyUI stand-in answers the recorded exchanges as the real ComfyUI 0.27.0 did (the integration
tier runs the same checks against a real server: tests/integration/test_contract.py)."""

import asyncio

import pytest

from tests.support.comfyui_standin import Scenario
from tests.support.contract import CHECKS


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_stand_in_keeps_the_contract(comfy, comfy_dirs, name):
    if name == "rejection":
        comfy.scenario = Scenario(reject="400")
    asyncio.run(CHECKS[name](comfy.url, comfy_dirs[1]))
