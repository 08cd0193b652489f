"""Config: environment -> frozen dataclass, defaults, and clear errors naming the variable."""

import dataclasses

import pytest

from engine.errors import ConfigError
from worker.config import Config, load_config

BUCKET = {"BUCKET_ENDPOINT_URL": "http://127.0.0.1:9000", "BUCKET_ACCESS_KEY_ID": "key",
          "BUCKET_SECRET_ACCESS_KEY": "secret"}


def test_defaults_when_nothing_is_set():
    config = load_config({})
    assert config == Config()
    assert config.comfyui_url == "http://127.0.0.1:8188"
    assert config.inline_max_bytes == 20_000_000
    assert not config.bucket_configured


def test_values_are_parsed_and_the_config_is_frozen():
    config = load_config({"COMFYUI_URL": "http://comfy:8188/", "JOB_TIMEOUT_S": "1.5",
                          "INLINE_MAX_BYTES": "1000", "LOG_LEVEL": "debug", "COMFYUI_OUTPUT_DIR": "/out"})
    assert (config.comfyui_url, config.job_timeout_s, config.inline_max_bytes) == ("http://comfy:8188", 1.5, 1000)
    assert (config.log_level, config.comfyui_output_dir) == ("DEBUG", "/out")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.job_timeout_s = 3


@pytest.mark.parametrize("name, value, expected", [
    ("JOB_TIMEOUT_S", "soon", "JOB_TIMEOUT_S='soon' is not a valid float"),
    ("INLINE_MAX_BYTES", "1.5", "INLINE_MAX_BYTES='1.5' is not a valid int"),
    ("PROGRESS_INTERVAL_S", "0", "PROGRESS_INTERVAL_S='0' must be greater than 0"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' is not one of"),
    ("COMFYUI_URL", "127.0.0.1:8188", "COMFYUI_URL='127.0.0.1:8188' must start with http"),
])
def test_bad_values_name_the_variable(name, value, expected):
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.").replace("(", r"\(")):
        load_config({name: value})


def test_all_three_bucket_variables_enable_uploads():
    assert load_config(BUCKET).bucket_configured


@pytest.mark.parametrize("missing", sorted(BUCKET))
def test_a_partial_bucket_configuration_is_an_error_naming_what_is_missing(missing):
    env = {k: v for k, v in BUCKET.items() if k != missing}
    with pytest.raises(ConfigError) as err:
        load_config(env)
    assert missing in str(err.value) and "half configured" in str(err.value)
    assert not getattr(err.value, "refresh_worker", False)
