"""The README stays true: its request reference is the one the schemas generate."""

import re
import subprocess
import sys

from tests.support import ROOT


def test_request_reference_matches_the_schemas():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- request-reference:start -->\n(.*?)<!-- request-reference:end -->", readme, re.S)
    generated = subprocess.run(
        [sys.executable, "-m", "engine", "workflows", "--markdown"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert section and section.group(1) == generated, "regenerate: python -m engine workflows --markdown"


def test_every_environment_variable_the_worker_reads_is_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = "".join((ROOT / layer / "config.py").read_text(encoding="utf-8") for layer in ("worker", "deploy"))
    names = set(re.findall(r'"([A-Z][A-Z0-9_]{3,})"', source)) - {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    names |= {"HF_TOKEN", "HF_ENDPOINT"}  # read by huggingface_hub through deploy/downloads.py
    assert names >= {"COMFYUI_URL", "JOB_TIMEOUT_S", "BUCKET_ENDPOINT_URL", "LOG_LEVEL", "ENABLED_WORKFLOWS"}
    assert sorted(n for n in names if f"`{n}`" not in readme) == []
