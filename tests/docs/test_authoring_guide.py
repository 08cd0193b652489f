"""docs/authoring.md works as written: its console blocks run, and its mistakes table is what lint prints."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
import yaml

from engine.authoring.lint import lint
from engine.comfy.catalog import load_catalog
from tests.support import ROOT

GUIDE = ROOT / "docs" / "authoring.md"
COPIED = ("engine", "spec", "templates", "tests/golden")
"""What the guide's commands read and write."""


# --- reading the guide ---------------------------------------------------------------------------

def guide_steps(text: str) -> list[tuple[str, str, str]]:
    """("append", path, content) for each marked file edit and ("run", command, expected output)
    for each ``$ command`` of a console block, in document order."""
    steps = []
    pattern = re.compile(r"(?:<!-- append: (?P<path>\S+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S)
    for block in pattern.finditer(text):
        if block["path"]:
            steps.append(("append", block["path"], block["body"]))
        elif block["lang"] == "console":
            for command in re.split(r"^\$ ", block["body"], flags=re.M)[1:]:
                line, _, expected = command.partition("\n")
                steps.append(("run", line, expected))
    return steps


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is ``expected`` line for line, a line ``...`` standing for any lines."""
    pattern = "".join(r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n"
                      for line in expected.rstrip("\n").split("\n"))
    return re.fullmatch(pattern, actual.rstrip("\n") + "\n") is not None


def mistakes_table(text: str) -> dict[str, str]:
    """The rows of "Common mistakes and what lint says": mistake -> message."""
    section = text.split("## 6. Common mistakes", 1)[1]
    rows = re.findall(r"^\| (?!mistake |---)(.+?) \| `(.+)`.*\|$", section, re.M)
    return dict(rows)


# --- the worked example --------------------------------------------------------------------------

@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what the guide's commands touch, which must not hold the walk-through already."""
    if (ROOT / "templates" / "my-ltx23.json").exists():
        pytest.fail("the tree already holds the walk-through's my-ltx23: undo it (docs/authoring.md, step 10)")
    for name in COPIED:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_worked_example_runs_as_written(checkout: Path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONUNBUFFERED": "1"}
    steps = guide_steps(GUIDE.read_text(encoding="utf-8"))
    assert sum(kind == "run" for kind, _, _ in steps) >= 8
    for kind, what, content in steps:
        if kind == "append":
            with (checkout / what).open("a", encoding="utf-8") as file:
                file.write(content)
            continue
        done = subprocess.run(["bash", "-c", what], cwd=checkout, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120)
        assert matches(content, done.stdout), f"$ {what}\n--- the guide says:\n{content}--- it printed:\n{done.stdout}"


def test_three_dots_stand_for_any_lines_and_nothing_else():
    assert matches("a\n...\nd\n", "a\nb\nc\nd\n") and matches("a\n...\nd\n", "a\nd\n")
    assert not matches("a\nd\n", "a\nb\nd\n") and not matches("a\n", "a b\n")


# --- the mistakes table --------------------------------------------------------------------------

def renumber_node_1(spec: dict, template: dict) -> None:
    template["7"] = template.pop("1")
    template["2"]["inputs"]["images"] = ["7", 0]


def add_node(node_id: str, class_type: str, **inputs) -> Callable[[dict, dict], None]:
    def mutate(spec: dict, template: dict) -> None:
        template[node_id] = {"inputs": inputs, "class_type": class_type, "_meta": {"title": class_type}}
    return mutate


def set_in(where: str, path: tuple, value) -> Callable[[dict, dict], None]:
    """Set spec[path...] (where="spec") or template[path...] = value."""
    def mutate(spec: dict, template: dict) -> None:
        target = spec if where == "spec" else template
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def rename_target_width(spec: dict, template: dict) -> None:
    targets = spec["workflows"]["smoke"]["targets"]
    targets["widht"] = targets.pop("width")


def drop_additional_properties(spec: dict, template: dict) -> None:
    del spec["workflows"]["smoke"]["schema"]["additionalProperties"]


def allow_width_zero(spec: dict, template: dict) -> None:
    schema = spec["workflows"]["smoke"]["schema"]
    schema["properties"]["width"]["minimum"] = 0
    schema["examples"][1]["width"] = 0


TARGETS = ("workflows", "smoke", "targets")
MISTAKES = {
    "a re-export moved a node id": renumber_node_1,
    "the id now holds another node": set_in("template", ("1", "class_type"), "EmptyLatentImage"),
    "typo in an input name": set_in("spec", (*TARGETS, "width", 0, "input"), "widht"),
    "a title no node has": set_in("spec", (*TARGETS, "job_id", 0, "node"), {"title": "Save Vidoe"}),
    "a title used twice": set_in("template", ("1", "_meta", "title"), "Save Video"),
    "a target for a name nothing defines": rename_target_width,
    "misspelt key in the spec": set_in("spec", (*TARGETS, "width", 0, "valeu"), "width"),
    "schema lets unknown fields through": drop_additional_properties,
    "a value ComfyUI would refuse": allow_width_zero,
    "a model file not in the manifest": add_node("4", "CheckpointLoaderSimple", ckpt_name="x.safetensors"),
    "a custom node": add_node("7", "VHS_VideoCombine", images=["1", 0]),
    "a widget value from a newer ComfyUI (step 3)": set_in("template", ("2", "inputs", "bit_depth"), "auto"),
}


def smoke_checkout(tmp_path: Path, mutate: Callable[[dict, dict], None]) -> Path:
    """A spec with only the smoke workflow, and its template, after ``mutate``; returns the spec path."""
    spec = yaml.safe_load((ROOT / "spec" / "mappings.yaml").read_text(encoding="utf-8"))
    spec = {"version": spec["version"], "workflows": {"smoke": copy.deepcopy(spec["workflows"]["smoke"])}}
    template = json.loads((ROOT / "templates" / "smoke.json").read_text(encoding="utf-8"))
    mutate(spec, template)
    (tmp_path / "spec").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "spec" / "mappings.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    (tmp_path / "templates" / "smoke.json").write_text(json.dumps(template), encoding="utf-8")
    return tmp_path / "spec" / "mappings.yaml"


def test_every_row_of_the_mistakes_table_is_checked():
    assert set(mistakes_table(GUIDE.read_text(encoding="utf-8"))) == set(MISTAKES)


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_lint_prints_the_message_the_guide_shows(tmp_path: Path, mistake: str):
    message = mistakes_table(GUIDE.read_text(encoding="utf-8"))[mistake]
    pattern = ".*".join(map(re.escape, message.split("...")))
    problems = lint(load_catalog(), smoke_checkout(tmp_path, MISTAKES[mistake]), ROOT / "spec" / "models.yaml")
    assert any(re.fullmatch(pattern, line) for line in problems), problems


def test_the_unchanged_smoke_workflow_lints_clean(tmp_path: Path):
    assert lint(load_catalog(), smoke_checkout(tmp_path, lambda spec, template: None),
                ROOT / "spec" / "models.yaml") == []
