"""The command line, run as a real subprocess: output on stdout, one-line errors on stderr."""

import json
import shutil
import subprocess
import sys

import jsonpatch
import pytest
import yaml

from tests.support import ROOT


def run(*args, stdin=None, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_render_reads_a_job_from_stdin_and_prints_the_graph():
    result = run("render", "--request", "-", "--job-id", "t1", stdin=json.dumps({"input": {"workflow": "smoke", "width": 128}}))
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    assert graph["1"]["inputs"]["width"] == 128 and graph["3"]["inputs"]["filename_prefix"] == "smoke/t1"


def test_render_patch_prints_operations(tmp_path):
    request = tmp_path / "r.json"
    request.write_text(json.dumps({"workflow": "smoke"}))
    result = run("render", "--request", str(request), "--patch")
    ops = json.loads(result.stdout)
    assert result.returncode == 0 and ops[0] == {"op": "test", "path": "/1/class_type", "value": "EmptyImage"}


def test_bad_request_exits_non_zero_with_one_line():
    result = run("render", "--request", "-", stdin=json.dumps({"workflow": "smoke", "fps": 0}))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == "error: fps: 0 is less than the minimum of 1\n"


def test_request_that_is_not_json_is_one_line():
    result = run("render", "--request", "-", stdin="{nope")
    assert result.returncode == 1 and result.stderr.startswith("error: request: not valid JSON") and result.stderr.count("\n") == 1


def test_lint_passes_on_the_shipped_spec():
    result = run("lint")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def checkout(tmp_path):
    """A copy of spec/ and templates/ that a test may break."""
    for folder in ("spec", "templates"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_lint_names_parameter_and_node_when_a_class_type_changes(checkout):
    template = checkout / "templates" / "smoke.json"
    graph = json.loads(template.read_text())
    graph["1"]["class_type"] = "EmptyLatentImage"
    template.write_text(json.dumps(graph))
    result = run("--spec", str(checkout / "spec" / "mappings.yaml"), "lint", "--models", str(checkout / "spec" / "models.yaml"))
    assert result.returncode == 1
    assert "workflows.smoke.targets.width[0]: parameter width: node 1 is a EmptyLatentImage, expected a EmptyImage" in result.stdout


def test_lint_names_parameter_and_node_when_an_id_moves(checkout):
    template = checkout / "templates" / "smoke.json"
    graph = json.loads(template.read_text())
    graph["7"] = graph.pop("1")
    graph["2"]["inputs"]["images"] = ["7", 0]
    template.write_text(json.dumps(graph))
    result = run("--spec", str(checkout / "spec" / "mappings.yaml"), "lint")
    assert result.returncode == 1
    assert "parameter width: node 1 is not in the template (expected a EmptyImage)" in result.stdout


def test_schema_prints_the_request_schema():
    result = run("schema", "smoke")
    assert result.returncode == 0 and json.loads(result.stdout)["properties"]["workflow"]["const"] == "smoke"


def test_workflows_lists_parameters():
    result = run("workflows")
    assert result.returncode == 0 and "smoke" in result.stdout and "width: integer >= 16, <= 1920 (default 64)" in result.stdout


def test_import_plus_the_recipe_patch_reproduces_a_committed_template_and_prints_a_starter_entry(tmp_path):
    result = run("import", "templates/source/video_ltx2_t2v.json", "--name", "again", "--enable", "92:105", "92:106", "--templates", str(tmp_path))
    assert result.returncode == 0, result.stderr
    recipe = yaml.safe_load((ROOT / "templates" / "sources.yaml").read_text())
    entry = next(e for e in recipe["templates"] if e["output"] == "templates/ltx2-t2v-pro.json")
    imported = jsonpatch.apply_patch(json.loads((tmp_path / "again.json").read_text()), entry["add"])
    assert json.dumps(imported, indent=2, ensure_ascii=False) + "\n" == (ROOT / "templates" / "ltx2-t2v-pro.json").read_text()
    assert "noise_seed" in result.stdout and "template: again.json" in result.stdout


def test_import_of_a_broken_file_is_one_line(tmp_path):
    broken = tmp_path / "ui.json"
    broken.write_text("{")
    result = run("import", str(broken), "--name", "x", "--templates", str(tmp_path))
    assert result.returncode == 1 and result.stderr.startswith("error: import ") and result.stderr.count("\n") == 1


def test_import_refuses_an_api_format_file_in_one_line(tmp_path):
    result = run("import", "tests/data/frontend/mixed.api.json", "--name", "x", "--templates", str(tmp_path))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("error: import tests/data/frontend/mixed.api.json: this is an API-format graph (what "
                             "Export (API) saves), not a UI workflow: it is what /prompt runs already, so copy it "
                             "to templates/ as it is\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["My-LTX", "my_ltx", "-ltx", "ltx 2", ""])
def test_import_refuses_a_name_the_spec_does_not_allow(tmp_path, name):
    result = run("import", "templates/source/video_ltx2_t2v.json", f"--name={name}", "--templates", str(tmp_path))
    assert result.returncode == 1 and list(tmp_path.iterdir()) == []
    assert result.stderr == (f"error: import --name {json.dumps(name)}: a workflow name must match "
                             "^[a-z0-9][a-z0-9-]*$ (lowercase letters, digits and dashes)\n")


def test_import_refuses_to_overwrite_a_template_unless_forced(tmp_path):
    (tmp_path / "again.json").write_text("{}")
    result = run("import", "templates/source/video_ltx2_t2v.json", "--name", "again", "--templates", str(tmp_path))
    assert result.returncode == 1 and (tmp_path / "again.json").read_text() == "{}"
    assert result.stderr == (f"error: import --name \"again\": {tmp_path / 'again.json'} exists already; "
                             "pass --force to overwrite it\n")
    forced = run("import", "templates/source/video_ltx2_t2v.json", "--name", "again", "--templates", str(tmp_path),
                 "--force")
    assert forced.returncode == 0 and json.loads((tmp_path / "again.json").read_text())["75"]["class_type"] == "SaveVideo"


def test_import_refuses_the_name_of_a_workflow_in_the_spec_unless_forced(tmp_path):
    result = run("import", "templates/source/video_ltx2_t2v.json", "--name", "smoke", "--templates", str(tmp_path))
    assert result.returncode == 1 and list(tmp_path.iterdir()) == []
    assert result.stderr == (f"error: import --name \"smoke\": {ROOT / 'spec' / 'mappings.yaml'} has a workflow of "
                             "that name already; pass --force to write its template anyway\n")
    forced = run("import", "templates/source/video_ltx2_t2v.json", "--name", "smoke", "--templates", str(tmp_path),
                 "--force")
    assert forced.returncode == 0 and (tmp_path / "smoke.json").exists()


def test_import_prints_a_starter_entry_without_yaml_anchors(tmp_path):
    result = run("import", "templates/source/video_ltx2_3_t2v.json", "--name", "again", "--templates", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "&" not in result.stdout and "*id" not in result.stdout
    assert yaml.safe_load(result.stdout)["again"]["template"] == "again.json"


def test_a_request_file_that_cannot_be_read_is_one_line():
    result = run("render", "--request", "/nonexistent.json")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: request: cannot read /nonexistent.json: No such file or directory\n"


def test_a_reader_that_leaves_early_is_no_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "engine", "workflows"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # like `| head` that has already read all it wanted
    stderr = proc.stderr.read()
    assert proc.wait(timeout=30) == 141 and "Traceback" not in stderr


def test_models_without_a_subcommand_names_the_choices():
    result = run("models")
    assert result.returncode == 2 and "the following arguments are required: {list,download}" in result.stderr


def test_golden_check_says_ok_when_every_file_matches():
    result = run("golden", "--check")
    assert result.returncode == 0 and result.stderr == "ok: every golden file in tests/golden is what the spec renders\n"
