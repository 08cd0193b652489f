"""The benchmark's jobs: each LTX-2 workflow at 720p 10 s, t2v fast and pro at 1080p 20 s, one with
enhance_prompt; cheapest first, so a run stopped at its deadline keeps the most rows. The smoke matrix
is the dry run's (model-free, any ComfyUI)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

PROMPT = ("A red fox trots across fresh snow at dawn, its breath steaming; the camera follows at shoulder "
          "height as birds call and the snow crunches under its paws.")


@dataclass(frozen=True)
class Case:
    """One job of the matrix: a short id and the job input the worker gets."""

    id: str
    input: dict[str, Any] = field(hash=False)


def first_frame(width: int = 1280, height: int = 720) -> str:
    """A PNG gradient as base64, the i2v jobs' first frame."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def ltx2_matrix(image_base64: str) -> list[Case]:
    """The GPU matrix, cheapest first."""
    def job(workflow: str, resolution: str, duration: int, **extra: Any) -> dict[str, Any]:
        return {"workflow": workflow, "prompt": PROMPT, "resolution": resolution, "duration": duration,
                "seed": 1, **extra}
    return [
        Case("t2v-fast-720p-10s", job("ltx2-t2v-fast", "720p", 10)),
        Case("i2v-fast-720p-10s", job("ltx2-i2v-fast", "720p", 10, image_base64=image_base64)),
        Case("t2v-fast-720p-10s-enhance", job("ltx2-t2v-fast", "720p", 10, enhance_prompt=True)),
        Case("t2v-pro-720p-10s", job("ltx2-t2v-pro", "720p", 10)),
        Case("i2v-pro-720p-10s", job("ltx2-i2v-pro", "720p", 10, image_base64=image_base64)),
        Case("t2v-fast-1080p-20s", job("ltx2-t2v-fast", "1080p", 20)),
        Case("t2v-pro-1080p-20s", job("ltx2-t2v-pro", "1080p", 20)),
    ]


def smoke_matrix() -> list[Case]:
    """The dry run's matrix: model-free clips through the same worker path."""
    return [Case("smoke-64-1s", {"workflow": "smoke", "width": 64, "height": 64, "duration": 1}),
            Case("smoke-128x96-48f", {"workflow": "smoke", "width": 128, "height": 96, "frames": 48,
                                      "color": "#336699"})]
