"""Return the video: inline base64 within RunPod's result limit, or a bucket upload with a presigned URL.

The bucket is reached through one S3 client per worker process (``storage_client``), made on the
first upload and kept: building a boto3 client costs 60-250 ms, more than a small upload.
"""

from __future__ import annotations

import binascii
import json
import os
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Mapping

from engine.errors import DeliveryError

from .config import BUCKET_VARS, Config

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig
    from botocore.client import BaseClient

_CHUNK = 3 * (1 << 18)  # a multiple of 3, so chunk encodings concatenate into one valid base64 string
_JSON_MARGIN = 512  # room for the keys, quotes and the timings added after the size check
PRESIGNED_URL_S = 7 * 24 * 3600
"""How long a video_url stays valid: a week, the longest an S3 v4 signature allows."""
PART_BYTES = 16 * 1024 * 1024
"""Multipart upload part size: at most PART_CONCURRENCY parts are in flight, so a 200 MB upload holds
a few tens of MB at a time, and 10,000 parts (S3's limit) cover 160 GB."""
PART_CONCURRENCY = 4
CONTENT_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".mov": "video/quicktime",
                 ".mkv": "video/x-matroska", ".gif": "image/gif", ".webp": "image/webp"}


def base64_size(size: int) -> int:
    """Length of the base64 encoding of ``size`` bytes."""
    return 4 * ((size + 2) // 3)


def read_base64(path: str) -> str:
    """The file as one base64 string, encoded chunk by chunk into a preallocated buffer.

    Peak memory is the encoded buffer plus the final str (about 2.7x the file), never file + copies.
    """
    size = os.path.getsize(path)
    encoded = bytearray(base64_size(size))
    position = 0
    with open(path, "rb") as source, memoryview(encoded) as target:
        while chunk := source.read(_CHUNK):
            piece = binascii.b2a_base64(chunk, newline=False)
            target[position:position + len(piece)] = piece  # memoryview: copies in place, no temporary
            position += len(piece)
    if position != len(encoded):
        raise DeliveryError(f"the video file {path} changed while it was being read")
    return encoded.decode("ascii")


def _size(n: int) -> str:
    """'27.3 MB', or exact bytes below 100 kB where one decimal of MB would hide the difference."""
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def inline_result_size(video_size: int, metadata: Mapping[str, Any]) -> int:
    """Bytes the JSON result will take with the video inline (what RunPod's result limit applies to)."""
    return base64_size(video_size) + len(json.dumps(metadata)) + _JSON_MARGIN


def bucket_region(endpoint_url: str) -> str | None:
    """The region an endpoint URL names, for signing: the label after ``s3`` (AWS, Backblaze:
    ``s3.<region>.amazonaws.com``, ``<bucket>.s3.<region>...``) or before ``digitaloceanspaces.com``;
    None lets botocore choose (``s3.amazonaws.com``, R2, MinIO, ...)."""
    labels = (urllib.parse.urlparse(endpoint_url).hostname or "").split(".")
    if labels[-2:] == ["digitaloceanspaces", "com"] and len(labels) >= 3:
        return labels[-3]
    if "s3" in labels[:-2]:
        region = labels[labels.index("s3") + 1]
        return None if region == "amazonaws" else region
    return None


_clients: dict[tuple[str, str, str], tuple[BaseClient, TransferConfig]] = {}
_clients_lock = threading.Lock()


def storage_client(config: Config) -> tuple[BaseClient, TransferConfig]:
    """This worker's S3 client (and transfer settings) for the configured bucket, made once per credentials.

    boto3 clients are thread-safe, so every delivery thread shares it.
    """
    key = (config.bucket_endpoint_url, config.bucket_access_key_id, config.bucket_secret_access_key)
    with _clients_lock:
        if key not in _clients:
            import boto3
            from boto3.s3.transfer import TransferConfig
            from botocore.config import Config as BotoConfig

            client = boto3.session.Session().client(
                "s3", endpoint_url=config.bucket_endpoint_url, aws_access_key_id=config.bucket_access_key_id,
                aws_secret_access_key=config.bucket_secret_access_key, region_name=bucket_region(config.bucket_endpoint_url),
                config=BotoConfig(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}))
            transfer = TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES,
                                      max_concurrency=PART_CONCURRENCY, use_threads=True)
            _clients[key] = (client, transfer)
        return _clients[key]


def upload_to_bucket(path: str, config: Config, key_prefix: str) -> str:
    """Upload under ``key_prefix`` with the right content type; returns a presigned GET URL.

    The object is ``<key_prefix>/<file name>`` in BUCKET_NAME (default: the month, ``MM-YY``), as the
    runpod SDK's rp_upload names it.
    """
    suffix = os.path.splitext(path)[1].lower()
    bucket = config.bucket_name or time.strftime("%m-%y")
    key = f"{key_prefix}/{os.path.basename(path)}"
    try:
        client, transfer = storage_client(config)
        client.upload_file(path, bucket, key, ExtraArgs={"ContentType": CONTENT_TYPES.get(suffix, "video/mp4")},
                           Config=transfer)
        return client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                             ExpiresIn=PRESIGNED_URL_S)
    except Exception as err:  # boto3/botocore raise many unrelated types; all mean the upload failed
        message = " ".join(str(err).split()) or type(err).__name__
        raise DeliveryError(f"upload to the bucket at {config.bucket_endpoint_url} failed: {message}") from None


def deliver(path: str, config: Config, key_prefix: str, metadata: Mapping[str, Any]) -> dict:
    """The job's result: {"video_url"|"video": ..., **metadata}; DeliveryError rather than a result without video."""
    if config.bucket_configured:
        return {"video_url": upload_to_bucket(path, config, key_prefix), **metadata}
    size = os.path.getsize(path)
    needed = inline_result_size(size, metadata)
    if needed > config.inline_max_bytes:
        raise DeliveryError(
            f"the video is {_size(size)} ({_size(needed)} as an inline base64 result), over the "
            f"{_size(config.inline_max_bytes)} inline limit (INLINE_MAX_BYTES); set {', '.join(BUCKET_VARS)} "
            "to receive it as video_url instead"
        )
    return {"video": read_base64(path), **metadata}
