"""Shared fixtures: the ComfyUI stand-in with its input/output dirs, and the S3-compatible server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.comfyui_standin import ComfyStandIn


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
