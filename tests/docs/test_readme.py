"""The README and docs/deploy.md stay true: the request reference is the one the schemas generate,
every environment variable the code reads has one row in docs/deploy.md, and "How it is built"
names every module."""

import re
import subprocess
import sys
from collections import Counter

from tests.support import ROOT

README = ROOT / "README.md"
DEPLOY = ROOT / "docs" / "deploy.md"
README_MAX_LINES = 230
"""The README is the front door; details live in docs/."""
READ_BY_LIBRARIES = {"HF_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT"}
"""Read by huggingface_hub through deploy/downloads.py, not by the project's config modules."""


def test_request_reference_matches_the_schemas():
    readme = README.read_text(encoding="utf-8")
    section = re.search(r"<!-- request-reference:start -->\n(.*?)<!-- request-reference:end -->", readme, re.S)
    generated = subprocess.run(
        [sys.executable, "-m", "engine", "workflows", "--markdown"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert section and section.group(1) == generated, "regenerate: python -m engine workflows --markdown"


def config_variables() -> set[str]:
    """Every environment variable worker/config.py and deploy/config.py read."""
    source = "".join((ROOT / layer / "config.py").read_text(encoding="utf-8") for layer in ("worker", "deploy"))
    names = set(re.findall(r'"([A-Z][A-Z0-9_]{3,})"', source)) - {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    assert names >= {"COMFYUI_URL", "JOB_TIMEOUT_S", "BUCKET_ENDPOINT_URL", "LOG_LEVEL", "ENABLED_WORKFLOWS",
                     "DOWNLOAD_MODELS", "WARMUP", "COMFYUI_DIR"}
    return names


def table_rows(text: str) -> list[str]:
    """The first cells of Markdown table rows that name one variable: | `NAME` | ..."""
    return re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, re.M)


def test_every_environment_variable_has_exactly_one_row_in_docs_deploy():
    section = re.search(r"^## Environment variables\n(.*?)(?=^## |\Z)", DEPLOY.read_text(encoding="utf-8"), re.S | re.M)
    assert section, "docs/deploy.md needs a '## Environment variables' section"
    rows = Counter(table_rows(section.group(1)))
    variables = config_variables() | READ_BY_LIBRARIES
    assert sorted(n for n in variables if rows[n] == 0) == [], "document these in docs/deploy.md"
    assert sorted(n for n, count in rows.items() if count > 1) == [], "one row each"
    assert sorted(set(rows) - variables) == [], "rows for variables nothing reads"


def test_no_other_doc_repeats_the_environment_variable_tables():
    """The variables' defaults are stated once, in docs/deploy.md: no other doc has a row for one."""
    variables = config_variables() | READ_BY_LIBRARIES
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        if doc == DEPLOY:
            continue
        rows = set(table_rows(doc.read_text(encoding="utf-8")))
        assert not rows & variables, f"{doc.relative_to(ROOT)} repeats rows of docs/deploy.md: {sorted(rows & variables)}"


def test_how_it_is_built_names_every_module():
    readme = README.read_text(encoding="utf-8")
    section = re.search(r"^## How it is built\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section, "README.md needs a '## How it is built' section"
    modules = sorted(str(p.relative_to(ROOT)) for layer in ("engine", "worker", "deploy")
                     for p in (ROOT / layer).rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    modules.append("handler.py")
    assert len(modules) > 30
    assert [m for m in modules if f"`{m}`" not in section.group(1)] == [], "add one line per new module"
    named = set(re.findall(r"`((?:engine|worker|deploy)/[\w/]+\.py)`", section.group(1)))
    assert sorted(named - set(modules)) == [], "the README names modules that no longer exist"


def test_the_readme_stays_short():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move details to docs/"
