"""A corpus of bad job inputs generated from every workflow's schema, each through the handler production
serves (with the SDK's own job runner): exactly one short line naming the field, in under a second, with
nothing queued on ComfyUI and no file left."""

from __future__ import annotations

import asyncio
import base64
import re
import time

import pytest
from runpod.serverless.modules import rp_job

from engine import load_spec
from engine.quote import quote
from tests.support import files_under, image_bytes, png_header
from tests.support.comfyui_standin import ComfyStandIn
from worker import job

HUGE = "x" * 1_048_576
SPEC = load_spec()


def _base(workflow) -> dict:
    """The workflow's first schema example, naming the workflow: a valid request to break one field of."""
    return {**(workflow.schema.get("examples") or [{}])[0], "workflow": workflow.name}


def _wrong_values(schema: dict) -> list[tuple[str, object]]:
    """(what, value) pairs one field's schema must refuse."""
    kind = schema.get("type")
    cases: list[tuple[str, object]] = [("null", None), ("an object", {"a": 1}), ("an array", [1, 2])]
    if kind in ("integer", "number"):
        cases += [("a string", "7"), ("a huge string", HUGE), ("NaN", float("nan")), ("Infinity", float("inf")),
                  ("true", True)]
        if "minimum" in schema:
            cases.append(("below the minimum", schema["minimum"] - 1))
        if "maximum" in schema:
            cases.append(("above the maximum", schema["maximum"] + 1))
    elif kind == "string":
        cases += [("a number", 7), ("NaN", float("nan")), ("true", True)]
        if "enum" in schema or "maxLength" in schema or "pattern" in schema:
            cases.append(("a huge string", HUGE))
    elif kind == "boolean":
        cases += [("a string", "true"), ("a number", 1), ("NaN", float("nan"))]
    if "enum" in schema:
        cases.append(("not one of the choices", "__nope__"))
    return cases


def _corpus():
    for workflow in SPEC.workflows.values():
        base = _base(workflow)
        for field, schema in workflow.parameters.items():
            if schema.get("not") == {}:
                continue  # declared only to be refused (e.g. image_url on t2v): covered by its own message
            for what, value in _wrong_values(schema):
                yield pytest.param({**base, field: value}, field, id=f"{workflow.name}-{field}-{what}")
        for key in ("surprise", "k" * 1_048_576):
            yield pytest.param({**base, key: 1}, key, id=f"{workflow.name}-unknown key of {len(key)} characters")
    yield pytest.param({"workflow": []}, "workflow", id="workflow-array")
    yield pytest.param({"workflow": {}}, "workflow", id="workflow-object")
    yield pytest.param({"workflow": HUGE}, "workflow", id="workflow-huge")
    yield pytest.param(None, "input", id="input-null")
    yield pytest.param([1], "input", id="input-array")


I2V = {"workflow": "ltx2-i2v-fast", "prompt": "The waves roll in."}
HOSTILE_URLS = [
    "http://127.0.0.1/x.png", "http://localhost/x.png", "http://10.0.0.1/x.png", "http://169.254.169.254/latest",
    "http://[::1]/x.png", "http://[::ffff:127.0.0.1]/x.png", "http://[2002:7f00:1::1]/x.png",
    "http://[64:ff9b::7f00:1]/x.png", "file:///etc/passwd", "ftp://example.com/x.png", "gopher://x/",
    "http://user:pw@example.com/x.png", "http://example.com:99999/x.png", "http://[::1/x.png",
    "http://" + "a" * 64 + ".example.com/x.png", "http://a..b/x.png", "http://ex\u2100ample.com/x.png",
]
BAD_IMAGES = {
    "not base64": "not base64!",
    "svg": base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>').decode(),
    "a decompression bomb": base64.b64encode(png_header(13000, 13000)).decode(),
    "bmp": base64.b64encode(image_bytes("BMP")).decode(),
    "pdf": base64.b64encode(b"%PDF-1.7 not an image").decode(),
    "a bad data uri": "data:image/png," + base64.b64encode(image_bytes()).decode(),
}


def _image_corpus():
    for url in HOSTILE_URLS:
        yield pytest.param({**I2V, "image_url": url}, "image_url", id=f"image_url-{url[:40]}")
    for what, text in BAD_IMAGES.items():
        yield pytest.param({**I2V, "image_base64": text}, "image_base64", id=f"image_base64-{what}")


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    base = tmp_path_factory.mktemp("comfy")
    (base / "input").mkdir()
    (base / "output").mkdir()
    with ComfyStandIn(base / "input", base / "output") as server:
        yield server, base


@pytest.fixture
def endpoint(standin, monkeypatch):
    server, base = standin
    for name, value in {"COMFYUI_URL": server.url, "COMFYUI_INPUT_DIR": str(base / "input"),
                        "COMFYUI_OUTPUT_DIR": str(base / "output"), "ENABLED_WORKFLOWS": "all",
                        "JOB_TIMEOUT_S": "10"}.items():
        monkeypatch.setenv(name, value)
    for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield server
    assert server.prompts == [] and server.uploads == [], "nothing may reach ComfyUI's queue"
    assert files_under(base / "input", base / "output") == []


def _refused(job_input, field: str) -> str:
    started = time.monotonic()
    result = asyncio.run(rp_job.run_job(job.handler, {"id": "bad-input", "input": job_input}))
    seconds = time.monotonic() - started
    error = result.get("error")
    assert error and "output" not in result and "stopPod" not in result, result
    assert "\n" not in error and len(error) <= 300, error[:400]
    named = field if len(field) <= 40 else quote(field)
    fields = error.split(": ", 1)[0] if not error.startswith(named) else named
    assert named in re.split(r"/| \+ ", fields) or fields.startswith((f"{named}.", f"{named}[")), error
    assert seconds < 1, f"{seconds:.2f} s"
    return error


@pytest.mark.parametrize("job_input, field", list(_corpus()))
def test_every_bad_field_is_one_short_line_naming_it(endpoint, job_input, field):
    _refused(job_input, field)


@pytest.mark.parametrize("job_input, field", list(_image_corpus()))
def test_every_bad_image_is_one_short_line_naming_its_field(endpoint, job_input, field):
    _refused(job_input, field)


def test_the_corpus_covers_every_field_of_every_workflow():
    ids = [p.id for p in _corpus()]
    for workflow in SPEC.workflows.values():
        for field, schema in workflow.parameters.items():
            if schema.get("not") != {}:
                assert any(i.startswith(f"{workflow.name}-{field}-") for i in ids), (workflow.name, field)


def test_an_image_over_the_byte_limit_names_its_field(endpoint, monkeypatch):
    monkeypatch.setenv("IMAGE_MAX_BYTES", "1000")
    big = base64.b64encode(image_bytes("PNG", 400, 400) + b"\0" * 2000).decode()
    assert _refused({**I2V, "image_base64": big}, "image_base64").endswith("over the 1000 byte limit (IMAGE_MAX_BYTES)")


def test_a_huge_negative_prompt_is_echoed_as_an_excerpt(endpoint):
    error = _refused({"workflow": "ltx2-t2v-pro", "prompt": "p", "negative_prompt": "n" * 50_000_000}, "negative_prompt")
    assert error.startswith('negative_prompt: "nnnnnnnn') and "(50000000 characters)" in error
