"""Shared fixtures: the ComfyUI stand-in with its input/output dirs, and small test graphs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from comfyui_standin import ComfyStandIn  # noqa: E402


def smoke_graph(prefix: str = "video/smoke") -> dict:
    """records.json `video`: EmptyImage -> CreateVideo -> SaveVideo, model-free."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 8, "color": 0}},
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 24.0}},
        "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": prefix,
                                                    "format": "auto", "codec": "auto"}},
    }


def sampler_graph(prefix: str = "video/two_stage") -> dict:
    """A two-stage shape like LTX-2's (stage 1 sampler -> stage 2 sampler -> decode -> SaveVideo)."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 8, "color": 0}},
        "92:10": {"class_type": "SamplerCustomAdvanced", "inputs": {"latent_image": ["1", 0]}},
        "92:20": {"class_type": "SamplerCustomAdvanced", "inputs": {"latent_image": ["92:10", 0]}},
        "2": {"class_type": "CreateVideo", "inputs": {"images": ["92:20", 0], "fps": 24.0}},
        "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": prefix,
                                                    "format": "auto", "codec": "auto"}},
    }


def files_under(*dirs: Path) -> list[str]:
    """Every file left in the given directories (relative paths), to assert cleanup."""
    found = []
    for base in dirs:
        for folder, _, names in os.walk(base):
            found += [os.path.relpath(os.path.join(folder, n), base) for n in names]
    return sorted(found)


@pytest.fixture
def comfy_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """ComfyUI's input and output directories for one test."""
    inputs, outputs = tmp_path / "input", tmp_path / "output"
    inputs.mkdir()
    outputs.mkdir()
    return inputs, outputs


@pytest.fixture
def comfy(comfy_dirs: tuple[Path, Path]):
    """A running ComfyUI stand-in writing into comfy_dirs."""
    with ComfyStandIn(*comfy_dirs) as server:
        yield server


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server on loopback (moto in server mode): (endpoint URL, boto3 client)."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test-key",
                          aws_secret_access_key="test-secret", region_name="us-east-1")
    client.create_bucket(Bucket="videos")
    yield endpoint, client
    server.stop()


@pytest.fixture
def bucket_env(s3_server) -> dict[str, str]:
    """The BUCKET_* variables that point the worker at the moto server's `videos` bucket."""
    return {"BUCKET_ENDPOINT_URL": s3_server[0], "BUCKET_ACCESS_KEY_ID": "test-key",
            "BUCKET_SECRET_ACCESS_KEY": "test-secret", "BUCKET_NAME": "videos"}
