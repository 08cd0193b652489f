"""Return the video: inline base64 within RunPod's result limit, or a bucket upload with a presigned URL."""

from __future__ import annotations

import binascii
import json
import os
from typing import Any, Mapping

from engine.errors import DeliveryError

from .config import BUCKET_VARS, Config

_CHUNK = 3 * (1 << 18)  # a multiple of 3, so chunk encodings concatenate into one valid base64 string
_JSON_MARGIN = 512  # room for the keys, quotes and the timings added after the size check
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


def upload_to_bucket(path: str, config: Config, key_prefix: str) -> str:
    """Upload with rp_upload under ``key_prefix`` and the right content type; returns the presigned URL."""
    from runpod.serverless.utils import rp_upload

    suffix = os.path.splitext(path)[1].lower()
    try:
        url = rp_upload.upload_file_to_bucket(
            file_name=os.path.basename(path),
            file_location=path,
            bucket_creds={"endpointUrl": config.bucket_endpoint_url, "accessId": config.bucket_access_key_id,
                          "accessSecret": config.bucket_secret_access_key},
            bucket_name=config.bucket_name or None,
            prefix=key_prefix,
            extra_args={"ContentType": CONTENT_TYPES.get(suffix, "video/mp4")},
        )
    except Exception as err:  # boto3/botocore raise many unrelated types; all mean the upload failed
        message = " ".join(str(err).split()) or type(err).__name__
        raise DeliveryError(f"upload to the bucket at {config.bucket_endpoint_url} failed: {message}") from None
    if not str(url).startswith(("http://", "https://")):
        raise DeliveryError(f"upload to the bucket did not happen (the SDK saved to local disk at {url!r}); "
                            "is boto3 installed?")
    return str(url)


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
