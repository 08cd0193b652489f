"""The LTX-2 19B configurations the synthetic files carry, and where each comes from (no torch).

ComfyUI detects the transformer from tensor shapes (UNET_DETECTED is what its model_detection reads off
them) and takes everything else from the checkpoint's ``config`` metadata: the video VAE, the audio VAE
and the vocoder (the audio loader refuses a file without them), and the upscaler's own ``config``.
"""

from __future__ import annotations

import json

UNET_DETECTED = {"image_model": "ltxav", "num_layers": 48, "attention_head_dim": 128, "cross_attention_dim": 4096}
"""What comfy/model_detection.py derives from the LTX-2 19B shapes; every other transformer setting is
ComfyUI's default (LTX-2: no gated attention, no cross-attention AdaLN; those are LTX-2.3's)."""

TRANSFORMER: dict = {}
"""The metadata's transformer section: empty, so ComfyUI's LTX-2 defaults apply."""

VIDEO_VAE = {
    "_class_name": "CausalVideoAutoencoder", "dims": 3, "in_channels": 3, "out_channels": 3,
    "latent_channels": 128,
    "encoder_blocks": [["res_x", {"num_layers": 4}], ["compress_space_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 6}], ["compress_time_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 4}], ["compress_all_res", {"multiplier": 2}],
                       ["res_x", {"num_layers": 2}], ["compress_all_res", {"multiplier": 1}],
                       ["res_x", {"num_layers": 2}]],
    "decoder_blocks": [["res_x", {"num_layers": 4}], ["compress_space", {"multiplier": 2}],
                       ["res_x", {"num_layers": 6}], ["compress_time", {"multiplier": 2}],
                       ["res_x", {"num_layers": 4}], ["compress_all", {"multiplier": 1}],
                       ["res_x", {"num_layers": 2}], ["compress_all", {"multiplier": 2}],
                       ["res_x", {"num_layers": 2}]],
    "scaling_factor": 1.0, "norm_layer": "pixel_norm", "patch_size": 4, "latent_log_var": "uniform",
    "use_quant_conv": False, "causal_decoder": False, "timestep_conditioning": False,
    "normalize_latent_channels": False, "encoder_base_channels": 128, "decoder_base_channels": 128,
    "spatial_padding_mode": "zeros",
}
"""The LTX-2 video VAE as the released checkpoints' header describes it (quoted by LTX-2 ports)."""

AUDIO_VAE = {
    "model": {"params": {"ddconfig": {
        "double_z": True, "mel_bins": 64, "z_channels": 8, "resolution": 256, "downsample_time": False,
        "in_channels": 2, "out_ch": 2, "ch": 128, "ch_mult": [1, 2, 4], "num_res_blocks": 2,
        "attn_resolutions": [], "dropout": 0.0, "mid_block_add_attention": False, "norm_type": "pixel",
        "causality_axis": "height"}, "sampling_rate": 16000}},
    "preprocessing": {"audio": {"sampling_rate": 16000, "stereo": True, "causal_padding": 3},
                      "stft": {"filter_length": 1024, "hop_length": 160, "win_length": 1024, "causal": True},
                      "mel": {"n_mel_channels": 64, "mel_fmin": 0, "mel_fmax": 8000}},
}
"""The LTX-2 audio VAE, from the same header."""

VOCODER = {
    "resblock_kernel_sizes": [3, 7, 11], "upsample_rates": [5, 4, 2, 2, 2],
    "upsample_kernel_sizes": [16, 16, 8, 4, 4], "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    "upsample_initial_channel": 1024, "stereo": True, "resblock": "1", "activation": "snake",
    "use_bias_at_final": True, "use_tanh_at_final": True,
}
"""ComfyUI's default vocoder (vocoder.py get_default_config: LTX-2's HiFi-GAN; LTX-2.3 adds a BWE stage)."""

UPSCALER = {"_class_name": "LatentUpsampler", "in_channels": 128, "mid_channels": 1024, "num_blocks_per_stage": 4,
            "dims": 3, "spatial_upsample": True, "temporal_upsample": False, "spatial_scale": 2.0,
            "rational_resampler": False}
"""The x2 spatial upsampler: 3-D, 1024 channels (498 M parameters: the published 1.0 GB in bf16)."""


def checkpoint_metadata() -> dict[str, str]:
    """The checkpoint's safetensors metadata: one ``config`` JSON string."""
    return {"config": json.dumps({"transformer": TRANSFORMER, "vae": VIDEO_VAE, "audio_vae": AUDIO_VAE,
                                  "vocoder": VOCODER})}
