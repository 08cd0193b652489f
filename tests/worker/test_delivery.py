"""Delivery: inline base64 within the result limit, bucket upload to a real S3 server, low memory."""

import base64
import json
import os
import tracemalloc
import urllib.request

import pytest

from engine.errors import DeliveryError
from worker import delivery
from worker.config import load_config
from worker.delivery import base64_size, deliver, inline_result_size, read_base64

METADATA = {"workflow": "smoke", "width": 64, "height": 64, "timings": {"total_s": 0.1}}


def video(tmp_path, size, name="job-0123456789ab_00001_.mp4"):
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 17, 18, 19, 100])
def test_chunked_base64_matches_the_standard_encoding(tmp_path, monkeypatch, size):
    monkeypatch.setattr(delivery, "_CHUNK", 6)
    path = video(tmp_path, size)
    encoded = read_base64(str(path))
    assert encoded == base64.b64encode(path.read_bytes()).decode() and len(encoded) == base64_size(size)


def test_inline_result_carries_video_and_metadata(tmp_path):
    path = video(tmp_path, 3000)
    result = deliver(str(path), load_config({}), "job-0123456789ab", METADATA)
    assert base64.b64decode(result["video"]) == path.read_bytes()
    assert {k: v for k, v in result.items() if k != "video"} == METADATA
    assert len(json.dumps(result)) <= inline_result_size(3000, METADATA)


def test_too_big_for_inline_without_a_bucket_names_the_limit_and_the_variables(tmp_path):
    path = video(tmp_path, 1_000_000)
    with pytest.raises(DeliveryError) as err:
        deliver(str(path), load_config({"INLINE_MAX_BYTES": "1000000"}), "job-0123456789ab", METADATA)
    message = str(err.value)
    assert "over the 1.0 MB inline limit (INLINE_MAX_BYTES)" in message
    assert "BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY" in message


def test_bucket_upload_stores_mp4_with_its_content_type_under_the_job_prefix(tmp_path, s3_server, bucket_env):
    _, s3 = s3_server
    path = video(tmp_path, 300_000)
    result = deliver(str(path), load_config(bucket_env), "job-0123456789ab", METADATA)
    assert "video" not in result and {k: v for k, v in result.items() if k != "video_url"} == METADATA
    head = s3.head_object(Bucket="videos", Key=f"job-0123456789ab/{path.name}")
    assert head["ContentType"] == "video/mp4" and head["ContentLength"] == 300_000
    with urllib.request.urlopen(result["video_url"], timeout=5) as response:
        assert response.read() == path.read_bytes()


def test_a_failed_upload_is_a_clear_error(tmp_path, bucket_env):
    env = {**bucket_env, "BUCKET_NAME": "no-such-bucket"}
    with pytest.raises(DeliveryError, match="upload to the bucket at http://127.0.0.1:\\d+ failed: .*NoSuchBucket"):
        deliver(str(video(tmp_path, 10)), load_config(env), "job-0123456789ab", METADATA)


def test_inline_encoding_peak_memory_stays_under_three_times_the_file(tmp_path):
    size = 6_000_000
    path = video(tmp_path, size)
    tracemalloc.start()
    try:
        result = deliver(str(path), load_config({}), "job-0123456789ab", METADATA)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result["video"]) == base64_size(size)
    assert peak < 3 * size


def test_one_storage_client_serves_every_upload(tmp_path, bucket_env, monkeypatch):
    import boto3

    made = []
    real = boto3.session.Session.client
    monkeypatch.setattr(boto3.session.Session, "client", lambda self, *a, **k: made.append(k) or real(self, *a, **k))
    monkeypatch.setattr(delivery, "_clients", {})
    config = load_config(bucket_env)
    for n in range(3):
        assert "video_url" in deliver(str(video(tmp_path, 1000, f"job-0123456789ab_0000{n}_.mp4")), config,
                                      "job-0123456789ab", METADATA)
    assert len(made) == 1 and delivery.storage_client(config) is delivery.storage_client(load_config(bucket_env))


@pytest.mark.parametrize(("url", "region"), [
    ("https://s3.eu-west-2.amazonaws.com", "eu-west-2"),
    ("https://s3.amazonaws.com", None),
    ("https://bucket.s3.eu-west-2.amazonaws.com", "eu-west-2"),
    ("https://s3.us-west-004.backblazeb2.com", "us-west-004"),
    ("https://nyc3.digitaloceanspaces.com", "nyc3"),
    ("https://my-space.ams3.digitaloceanspaces.com", "ams3"),
    ("https://abc.r2.cloudflarestorage.com", None),
])
def test_the_bucket_region_is_read_from_the_endpoint(url, region):
    assert delivery.bucket_region(url) == region
