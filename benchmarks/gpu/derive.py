"""Derive the layouts from ComfyUI's own model code, on PyTorch's meta device (no weight memory).

Run with the python of a ComfyUI 0.27.0 install (it imports ComfyUI and torch):

    /tmp/comfy/venv/bin/python benchmarks/gpu/derive.py --comfyui /tmp/comfy/ComfyUI

Each layout's tensors are the state dict of the module ComfyUI builds for that file, named as the file
stores them (the prefixes ComfyUI's loaders strip), with the quantised formats laid out by ComfyUI's
own quantisers (run once per distinct shape on a small CPU tensor of that shape). The configurations
written into the checkpoint's metadata are in configs.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import configs  # noqa: E402
from layouts import save_layout  # noqa: E402
from tokenizer import VOCAB_SIZE, model_proto  # noqa: E402

DTYPES = {"bfloat16": "BF16", "float16": "F16", "float32": "F32", "float8_e4m3fn": "F8_E4M3", "uint8": "U8",
          "int64": "I64"}
POSITIVE = ("std-of-means", "mean-of-stds", "mean-of-stds_over_std-of-means", ".alpha", ".beta")
LORA_RANKS = {"distilled-lora-384": 384, "camera-lora": 32}
"""Ranks: 384 as the distilled LoRA's name says; 32 for the camera LoRAs (see docs/gpu.md)."""


def import_comfy(comfy_dir: Path) -> None:
    """Make ComfyUI importable, CPU-only, with its command line left alone."""
    sys.path.insert(0, str(comfy_dir))
    sys.argv = [sys.argv[0], "--cpu"]
    import comfy.options
    comfy.options.enable_args_parsing()


def dtype_name(dtype: Any) -> str:
    """A torch dtype as a safetensors dtype name."""
    return DTYPES[str(dtype).removeprefix("torch.")]


def fill_for(name: str) -> str:
    """The fill rule of a plain (unquantised) tensor."""
    return "positive" if name.endswith(POSITIVE) else "normal"


def plain(prefix: str, state_dict: dict) -> list[list]:
    """Layout rows for a module's state dict, names prefixed as the file stores them."""
    return [[prefix + k, dtype_name(t.dtype), list(t.shape), fill_for(k)] for k, t in state_dict.items()]


class Quantiser:
    """ComfyUI's own layout for a quantised Linear weight, by format and shape (cached)."""

    def __init__(self) -> None:
        self._cache: dict[tuple, list[list]] = {}

    def rows(self, fmt: str, key: str, shape: tuple[int, ...]) -> list[list]:
        """The rows of one quantised weight ``key`` (``...weight``): payload, scales, comfy_quant."""
        import torch
        from comfy.quant_ops import QUANT_ALGOS, get_layout_class

        if (fmt, shape) not in self._cache:
            layout = get_layout_class(QUANT_ALGOS[fmt]["comfy_tensor_layout"])
            qdata, params = layout.quantize(torch.randn(shape, dtype=torch.bfloat16))
            fan_in = shape[1]
            if fmt == "nvfp4":
                # weight = e2m1 (std ~2.9) * block scale (~1) * global scale
                rows = [["weight", dtype_name(qdata.dtype), list(qdata.shape), "bytes"],
                        ["weight_scale", "F8_E4M3", list(params.block_scale.shape), "positive"],
                        ["weight_scale_2", "F32", list(params.scale.shape), f"scale:{1 / (2.9 * fan_in ** 0.5):.3e}"]]
            else:
                rows = [["weight", dtype_name(qdata.dtype), list(qdata.shape), "unit"],
                        ["weight_scale", "F32", list(params.scale.shape), f"scale:{1 / fan_in ** 0.5:.3e}"]]
            rows.append(["comfy_quant", "U8", [len(json.dumps({"format": fmt}))], "json:" + json.dumps({"format": fmt})])
            self._cache[(fmt, shape)] = rows
        base = key[: -len("weight")]
        return [[base + n, d, s, f] for n, d, s, f in self._cache[(fmt, shape)]]


def diffusion_model(fp8_blocks: bool) -> tuple[Any, list[list]]:
    """ComfyUI's LTXAV transformer for LTX-2 19B on meta, and its rows (fp8 Linear weights in the blocks)."""
    import torch
    import comfy.supported_models

    model_config = comfy.supported_models.LTXAV(dict(configs.UNET_DETECTED))
    model_config.set_inference_dtype(torch.bfloat16, None)
    model = model_config.get_model({}, "model.diffusion_model.", device="meta")
    quantiser, rows = Quantiser(), []
    for key, tensor in model.diffusion_model.state_dict().items():
        name = "model.diffusion_model." + key
        if fp8_blocks and is_block_linear(key, tensor):
            rows += quantiser.rows("float8_e4m3fn", name, tuple(tensor.shape))
        else:
            rows += plain("", {name: tensor})
    return model, rows


def is_block_linear(key: str, tensor: Any) -> bool:
    """A Linear weight inside a transformer block (attention projections and feed-forwards)."""
    return key.startswith("transformer_blocks.") and key.endswith(".weight") and tensor.dim() == 2 \
        and "norm" not in key


def block_linears(model: Any, stream: str) -> list[tuple[str, tuple[int, int]]]:
    """(module name, (out, in)) of the transformer blocks' Linears: every one (``all``) or the video stream's."""
    out = []
    for key, tensor in model.diffusion_model.state_dict().items():
        if not is_block_linear(key, tensor):
            continue
        module = key[: -len(".weight")]
        part = module.split(".")[2]
        if stream == "all" or part in ("attn1", "attn2", "ff"):
            out.append((module, tuple(tensor.shape)))
    return out


def checkpoint_layout(variant: str) -> dict[str, Any]:
    """The LTX-2 19B checkpoint: transformer, video VAE, audio VAE + vocoder, text projection."""
    import torch
    import comfy.ldm.lightricks.vae.audio_vae as audio_vae
    import comfy.ldm.lightricks.vae.causal_video_autoencoder as video_vae

    _, rows = diffusion_model(fp8_blocks=variant == "fp8")
    with torch.device("meta"):
        vae = video_vae.VideoVAE(version=2, config=configs.VIDEO_VAE).to(torch.bfloat16)
        audio = audio_vae.AudioVAE(configs.checkpoint_metadata()).to(torch.bfloat16)
        projection = torch.nn.Linear(3840 * 49, 3840, bias=False, dtype=torch.bfloat16)
    rows += plain("vae.", vae.state_dict())
    audio_sd = audio.state_dict()
    rows += plain("audio_vae.", {k[len("autoencoder."):]: t for k, t in audio_sd.items() if k.startswith("autoencoder.")})
    rows += plain("", {k: t for k, t in audio_sd.items() if k.startswith("vocoder.")})
    rows += plain("text_embedding_projection.aggregate_embed.", projection.state_dict())
    return {"name": f"ltx-2-19b.{variant}", "source": f"ComfyUI LTXAV + VideoVAE + AudioVAE ({variant} blocks)",
            "metadata": configs.checkpoint_metadata(), "tensors": rows}


def gemma_layout() -> dict[str, Any]:
    """Gemma 3 12B as ComfyUI builds it (text model, vision tower, projector), NVFP4 decoder Linears."""
    import torch
    import comfy.ops
    import comfy.text_encoders.llama as llama

    with torch.device("meta"):
        model = llama.Gemma3_12B({}, torch.bfloat16, None, comfy.ops.manual_cast)
    quantiser, rows = Quantiser(), []
    for key, tensor in model.state_dict().items():
        if key.startswith("model.layers.") and key.endswith("_proj.weight"):
            rows += quantiser.rows("nvfp4", key, tuple(tensor.shape))
        elif key == "model.embed_tokens.weight":
            rows.append([key, "BF16", list(tensor.shape), f"vocab:{VOCAB_SIZE}"])
        else:
            rows += plain("", {key: tensor})
    rows.append(["spiece_model", "U8", [len(model_proto())], "tokenizer"])
    return {"name": "gemma-3-12b-it.nvfp4", "source": "ComfyUI Gemma3_12B (llama.py), NVFP4 via comfy_kitchen",
            "metadata": {}, "tensors": rows}


def upscaler_layout() -> dict[str, Any]:
    """The LTX-2 spatial x2 latent upsampler, with the config its loader reads from the metadata."""
    import torch
    from comfy.ldm.lightricks.latent_upsampler import LatentUpsampler

    with torch.device("meta"):
        model = LatentUpsampler.from_config(configs.UPSCALER).to(torch.bfloat16)
    return {"name": "ltx-2-spatial-upscaler-x2", "source": "ComfyUI LatentUpsampler.from_config",
            "metadata": {"config": json.dumps(configs.UPSCALER)}, "tensors": plain("", model.state_dict())}


def lora_layout(name: str, stream: str) -> dict[str, Any]:
    """A LoRA over the transformer blocks' Linears, keys as ComfyUI's LTX-2 LoRA key map takes them."""
    model, _ = diffusion_model(fp8_blocks=False)
    rank = LORA_RANKS[name]
    rows = []
    for module, (out_features, in_features) in block_linears(model, stream):
        base = f"diffusion_model.{module}"
        rows.append([f"{base}.lora_A.weight", "BF16", [rank, in_features], "normal"])
        rows.append([f"{base}.lora_B.weight", "BF16", [out_features, rank], "normal"])
    return {"name": f"ltx-2-19b-{name}", "source": f"ComfyUI LTXAV module names, rank {rank}, {stream} stream",
            "metadata": {}, "tensors": rows}


def derive_all() -> list[dict[str, Any]]:
    """Every layout the LTX-2 workflows load."""
    return [checkpoint_layout("bf16"), checkpoint_layout("fp8"), gemma_layout(), upscaler_layout(),
            lora_layout("distilled-lora-384", "all"), lora_layout("camera-lora", "video")]


def main() -> None:
    """Derive and write every layout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", type=Path, required=True, help="the ComfyUI folder (main.py, comfy/)")
    parser.add_argument("--out", type=Path, default=HERE / "layouts")
    args = parser.parse_args()
    import_comfy(args.comfyui.resolve())
    for layout in derive_all():
        print(save_layout(layout, args.out), len(layout["tensors"]))


if __name__ == "__main__":
    main()
