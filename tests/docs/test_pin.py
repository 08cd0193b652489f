"""The ComfyUI pin is set in one place, the Dockerfile's ``ARG COMFYUI_COMMIT``, and stated once in
docs/deploy.md; every other commit or version the docs give for ComfyUI agrees with it.

Write a ComfyUI version as ``ComfyUI 0.N.N`` so this test sees it.
"""

import re

import pytest

from tests.support import ROOT

DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")),
        "spec/README.md", "templates/README.md", "tests/data/README.md", "tests/frontend/README.md"]
COMMIT = re.compile(r"(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])")
"""A full git commit id (a sha256 is 64 hex digits and does not match)."""
VERSION = re.compile(r"\bComfyUI\W{1,3}v?(\d+\.\d+(?:\.\d+)?)(?![.\d])")
"""'ComfyUI 0.27.0', 'ComfyUI (0.27.0', 'ComfyUI; 0.27.0's' (not 'ComfyUI frontend 1.58.1')."""
PIN_STATEMENT = re.compile(r"\*\*ComfyUI (\d+\.\d+\.\d+)\*\*, upstream commit `([0-9a-f]{40})`")
"""How docs/deploy.md states the pin."""


def dockerfile_commit() -> str:
    match = re.search(r"^ARG COMFYUI_COMMIT=([0-9a-f]{40})\s*$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)
    assert match, "the Dockerfile pins ComfyUI with ARG COMFYUI_COMMIT=<40 hex digits>"
    return match.group(1)


def stated_pin() -> tuple[str, str]:
    """(version, commit) as docs/deploy.md states them, once."""
    statements = PIN_STATEMENT.findall((ROOT / "docs" / "deploy.md").read_text(encoding="utf-8"))
    assert len(statements) == 1, "docs/deploy.md states the pin once: **ComfyUI 0.N.N**, upstream commit `<commit>`"
    return statements[0]


def test_docs_deploy_states_the_dockerfile_commit():
    version, commit = stated_pin()
    assert commit == dockerfile_commit(), "update docs/deploy.md ('The image') to the Dockerfile's COMFYUI_COMMIT"


@pytest.mark.parametrize("doc", DOCS)
def test_every_comfyui_commit_and_version_in_the_docs_is_the_pin(doc: str):
    text = (ROOT / doc).read_text(encoding="utf-8")
    version, commit = stated_pin()
    assert sorted(set(COMMIT.findall(text)) - {dockerfile_commit()}) == [], \
        f"{doc} names another ComfyUI commit than the Dockerfile's COMFYUI_COMMIT"
    assert sorted(set(VERSION.findall(text)) - {version}) == [], \
        f"{doc} names another ComfyUI version than the pin (docs/deploy.md: ComfyUI {version})"


def test_only_docs_deploy_spells_out_the_commit():
    """Other docs refer to the pin instead of repeating it."""
    repeats = [doc for doc in DOCS if doc != "docs/deploy.md" and dockerfile_commit() in (ROOT / doc).read_text(encoding="utf-8")]
    assert repeats == []
