"""Load every layout through ComfyUI's own detection and loaders on the meta device; print what they said.

Run with the python of a ComfyUI 0.27.0 install:

    /tmp/comfy/venv/bin/python benchmarks/gpu/accept.py --comfyui /tmp/comfy/ComfyUI

Prints one JSON object: per file (checkpoint variants, audio VAE, text encoder, upscaler, LoRAs) what
ComfyUI detected and the keys its loaders reported missing or unexpected (read off its own log lines).
Weights are meta tensors; only the few tensors whose values the loaders read (comfy_quant descriptors,
scales, the tokenizer) are real.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from derive import import_comfy  # noqa: E402
from layouts import load_layout  # noqa: E402
from tokenizer import model_proto  # noqa: E402

TORCH_DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F8_E4M3": "float8_e4m3fn", "U8": "uint8",
                "I64": "int64"}
REPORTS = {"missing": re.compile(r"^(unet missing|clip missing|Missing VAE keys|lora key not loaded)"),
           "unexpected": re.compile(r"^(unet unexpected|clip unexpected|Leftover VAE keys)")}


def state_dict(layout: dict[str, Any]) -> dict[str, Any]:
    """The layout as tensors: meta for weights, real for the values loaders read."""
    import torch

    out = {}
    for name, dtype, shape, fill in layout["tensors"]:
        torch_dtype = getattr(torch, TORCH_DTYPES[dtype])
        if fill.startswith("json:"):
            out[name] = torch.frombuffer(bytearray(fill[len("json:"):].encode()), dtype=torch.uint8)
        elif fill == "tokenizer":
            out[name] = torch.frombuffer(bytearray(model_proto()), dtype=torch.uint8)
        elif fill.startswith("scale:"):
            out[name] = torch.full(shape, float(fill[len("scale:"):]), dtype=torch_dtype)
        else:
            out[name] = torch.empty(shape, dtype=torch_dtype, device="meta")
    return out


class Reports(logging.Handler):
    """ComfyUI's missing/unexpected-key log lines, collected."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: dict[str, list[str]] = {"missing": [], "unexpected": []}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for kind, pattern in REPORTS.items():
            if pattern.match(message):
                self.lines[kind].append(message[:2000])


@contextlib.contextmanager
def on_meta() -> Iterator[Reports]:
    """ComfyUI's devices pointed at meta, its log collected, for one load."""
    import torch
    import comfy.model_management as mm

    meta = torch.device("meta")
    patched = {name: getattr(mm, name) for name in ("unet_offload_device", "unet_inital_load_device",
                                                     "text_encoder_offload_device", "text_encoder_device",
                                                     "text_encoder_initial_device", "vae_offload_device",
                                                     "vae_device")}
    for name in patched:
        setattr(mm, name, lambda *args, **kwargs: meta)
    patched["load_models_gpu"] = mm.load_models_gpu
    mm.load_models_gpu = lambda *args, **kwargs: None  # moving meta weights to a device: nothing to check
    reports = Reports()
    root = logging.getLogger()
    level = root.level
    root.addHandler(reports)
    root.setLevel(logging.DEBUG)
    try:
        with torch.device("meta"):
            yield reports
    finally:
        root.removeHandler(reports)
        root.setLevel(level)
        for name, original in patched.items():
            setattr(mm, name, original)


def checkpoint(variant: str) -> tuple[dict[str, Any], Any]:
    """CheckpointLoaderSimple's path: detection, the model, the video VAE."""
    import comfy.sd

    layout = load_layout(f"ltx-2-19b.{variant}")
    with on_meta() as reports:
        model, _, vae, _ = comfy.sd.load_state_dict_guess_config(
            state_dict(layout), output_vae=True, output_clip=False, metadata=dict(layout["metadata"]),
            disable_dynamic=True)
    fp8 = sum(1 for m in model.model.modules() if getattr(m, "quant_format", None) == "float8_e4m3fn")
    result = {"detected": type(model.model).__name__, "config": type(model.model.model_config).__name__,
              "fp8_layers": fp8, "vae_latent_channels": vae.latent_channels, **reports.lines}
    return result, model


def audio_vae(variant: str) -> dict[str, Any]:
    """LTXVAudioVAELoader's path (its two lines on the state dict)."""
    import comfy.sd
    import comfy.utils

    layout = load_layout(f"ltx-2-19b.{variant}")
    with on_meta() as reports:
        sd = comfy.utils.state_dict_prefix_replace(state_dict(layout), {"audio_vae.": "autoencoder.",
                                                                        "vocoder.": "vocoder."}, filter_keys=True)
        vae = comfy.sd.VAE(sd=sd, metadata=dict(layout["metadata"]))
        vae.throw_exception_if_invalid()
    return {"detected": type(vae.first_stage_model).__name__, **reports.lines}


def text_encoder(variant: str) -> dict[str, Any]:
    """LTXAVTextEncoderLoader's path: Gemma and the checkpoint's text projection, as CLIPType.LTXV."""
    import comfy.sd

    gemma, ckpt = load_layout("gemma-3-12b-it.nvfp4"), load_layout(f"ltx-2-19b.{variant}")
    with on_meta() as reports:
        clip = comfy.sd.load_text_encoder_state_dicts(state_dicts=[state_dict(gemma), state_dict(ckpt)],
                                                      clip_type=comfy.sd.CLIPType.LTXV)
    model = clip.cond_stage_model
    quantised = sum(1 for m in model.modules() if getattr(m, "quant_format", None) == "nvfp4")
    return {"detected": type(model).__name__, "projection": model.text_projection_type,
            "nvfp4_layers": quantised, "vocab": clip.tokenizer.gemma3_12b.tokenizer.tokenizer.get_piece_size(),
            **reports.lines}


def upscaler() -> dict[str, Any]:
    """LatentUpscaleModelLoader's LTX branch: the config from the metadata, a strict load."""
    import torch
    from comfy.ldm.lightricks.latent_upsampler import LatentUpsampler

    layout = load_layout("ltx-2-spatial-upscaler-x2")
    sd = state_dict(layout)
    with on_meta() as reports:
        if "post_upsample_res_blocks.0.conv2.bias" not in sd:
            reports.lines["missing"].append("not the LTX upsampler branch: no post_upsample_res_blocks.0.conv2.bias")
        model = LatentUpsampler.from_config(json.loads(layout["metadata"]["config"])).to(dtype=torch.bfloat16)
        missing, unexpected = model.load_state_dict(sd, strict=False)
        reports.lines["missing"] += list(missing)
        reports.lines["unexpected"] += list(unexpected)
    return {"detected": type(model).__name__, **reports.lines}


def lora(name: str, model: Any) -> dict[str, Any]:
    """LoraLoaderModelOnly's path: ComfyUI's LTX-2 key map, then load_lora (which names keys it skips)."""
    import comfy.lora

    layout = load_layout(name)
    with on_meta() as reports:
        key_map = comfy.lora.model_lora_keys_unet(model.model, {})
        patches = comfy.lora.load_lora(state_dict(layout), key_map)
    return {"patched_weights": len(patches), "lora_pairs": len(layout["tensors"]) // 2, **reports.lines}


def accept_all() -> dict[str, Any]:
    """Every layout through its loader."""
    out: dict[str, Any] = {}
    for variant in ("bf16", "fp8"):
        out[f"checkpoint.{variant}"], model = checkpoint(variant)
        out[f"audio_vae.{variant}"] = audio_vae(variant)
        out[f"text_encoder.{variant}"] = text_encoder(variant)
        for name in ("ltx-2-19b-distilled-lora-384", "ltx-2-19b-camera-lora"):
            out[f"{name}.on.{variant}"] = lora(name, model)
        del model
    out["upscaler"] = upscaler()
    return out


def main() -> None:
    """Print the acceptance report as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", type=Path, required=True, help="the ComfyUI folder (main.py, comfy/)")
    args = parser.parse_args()
    import_comfy(args.comfyui.resolve())
    print(json.dumps(accept_all(), indent=1))


if __name__ == "__main__":
    main()
