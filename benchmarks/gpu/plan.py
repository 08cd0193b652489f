"""Which synthetic file stands in for each model file the LTX-2 workflows load, and its size (no torch).

The machine has 64 GiB of disk: the bf16 distilled checkpoint (42 GB) beside the dev fp8 one does not
fit with the rest, so both checkpoints use the fp8 layout, and files of one layout are hard links of
one written file (their values would be random anyway). docs/gpu.md has the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

CAMERA = ("dolly-in", "dolly-out", "dolly-left", "dolly-right", "jib-up", "jib-down", "static")


@dataclass(frozen=True)
class ModelPlan:
    """One model file: where ComfyUI looks for it and the layout it is written from (a later file of the same
    layout is a hard link of the first)."""

    folder: str
    name: str
    layout: str

    @property
    def where(self) -> str:
        """``folder/name``, as the manifest names it."""
        return f"{self.folder}/{self.name}"


PLAN = [
    ModelPlan("checkpoints", "ltx-2-19b-dev-fp8.safetensors", "ltx-2-19b.fp8"),
    ModelPlan("checkpoints", "ltx-2-19b-distilled.safetensors", "ltx-2-19b.fp8"),
    ModelPlan("text_encoders", "gemma_3_12B_it_fp4_mixed.safetensors", "gemma-3-12b-it.nvfp4"),
    ModelPlan("latent_upscale_models", "ltx-2-spatial-upscaler-x2-1.0.safetensors", "ltx-2-spatial-upscaler-x2"),
    ModelPlan("loras", "ltx-2-19b-distilled-lora-384.safetensors", "ltx-2-19b-distilled-lora-384"),
    *(ModelPlan("loras", f"ltx-2-19b-lora-camera-control-{move}.safetensors", "ltx-2-19b-camera-lora")
      for move in CAMERA),
]
"""Every model file of the four LTX-2 workflows (tests check it against spec/models.yaml)."""
