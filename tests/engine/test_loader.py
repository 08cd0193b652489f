"""Loading the spec: meta-schema errors name the YAML path; mappings are checked against templates."""

import json
import textwrap

import pytest

from engine import SpecError, load_spec

TEMPLATE = {
    "1": {"inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}, "class_type": "EmptyImage", "_meta": {"title": "Canvas"}},
    "2": {"inputs": {"images": ["1", 0], "fps": 24.0}, "class_type": "CreateVideo", "_meta": {"title": "Create Video"}},
    "3": {"inputs": {"video": ["2", 0], "filename_prefix": "x", "format": "auto", "codec": "auto"}, "class_type": "SaveVideo", "_meta": {"title": "Save Video"}},
}

SPEC = """
version: 1
workflows:
  tiny:
    template: tiny.json
    schema:
      type: object
      additionalProperties: false
      properties:
        width: {type: integer, default: 64}
    targets:
      width:
        - {node: "1", class_type: EmptyImage, input: width}
    outputs:
      video: {node: "3", class_type: SaveVideo}
"""


def write_spec(tmp_path, text=SPEC, template=None):
    """A spec directory with one template; returns (spec path, templates dir)."""
    (tmp_path / "tiny.json").write_text(json.dumps(template or TEMPLATE))
    path = tmp_path / "mappings.yaml"
    path.write_text(textwrap.dedent(text))
    return path, tmp_path


def load(tmp_path, text=SPEC, template=None):
    path, templates = write_spec(tmp_path, text, template)
    return load_spec(path, templates)


def problems(tmp_path, text=SPEC, template=None):
    with pytest.raises(SpecError) as info:
        load(tmp_path, text, template)
    return info.value.problems


def test_shipped_spec_loads():
    assert {"smoke"} <= set(load_spec().workflows)


def test_minimal_spec_loads(tmp_path):
    assert load(tmp_path).workflows["tiny"].outputs["video"].node == "3"


def test_meta_schema_error_names_the_yaml_path(tmp_path):
    text = SPEC.replace("input: width}", "inputt: width}")
    assert any(p.startswith("mappings.yaml: workflows.tiny.targets.width[0]") for p in problems(tmp_path, text))


def test_yaml_syntax_error_is_one_line(tmp_path):
    (line,) = problems(tmp_path, "version: 1\nworkflows: [\n")
    assert "invalid YAML" in line and "\n" not in line


def test_moved_node_id_names_parameter_node_and_class(tmp_path):
    text = SPEC.replace('node: "1"', 'node: "2"')
    assert problems(tmp_path, text) == [
        "workflows.tiny.targets.width[0]: parameter width: node 2 is a CreateVideo, expected a EmptyImage"
    ]


def test_missing_node_is_reported(tmp_path):
    text = SPEC.replace('node: "1"', 'node: "99"')
    assert problems(tmp_path, text) == [
        "workflows.tiny.targets.width[0]: parameter width: node 99 is not in the template (expected a EmptyImage)"
    ]


def test_unknown_input_is_reported(tmp_path):
    text = SPEC.replace("input: width", "input: widht")
    assert "has no input 'widht'" in problems(tmp_path, text)[0]


def test_writing_into_a_linked_input_is_reported(tmp_path):
    text = SPEC.replace('{node: "1", class_type: EmptyImage, input: width}', '{node: "2", class_type: CreateVideo, input: images}')
    assert "is linked to node 1; writing a value would cut that link" in problems(tmp_path, text)[0]


def test_target_name_must_be_a_known_value(tmp_path):
    text = SPEC.replace("      width:\n        - {node", "      widht:\n        - {node")
    assert "'widht' is not a request field, runtime value or derived (let) value" in problems(tmp_path, text)[0]


def test_node_by_title_resolves(tmp_path):
    text = SPEC.replace('node: "1"', "node: {title: Canvas}")
    assert load(tmp_path, text).workflows["tiny"].targets[0][1][0].node == "1"


def test_missing_title_is_reported(tmp_path):
    text = SPEC.replace('node: "1"', "node: {title: Nope}")
    assert "no node has the title 'Nope'" in problems(tmp_path, text)[0]


def test_ambiguous_title_is_reported(tmp_path):
    template = json.loads(json.dumps(TEMPLATE))
    template["2"]["_meta"]["title"] = "Canvas"
    text = SPEC.replace('node: "1"', "node: {title: Canvas}")
    assert "2 nodes (1, 2) have the title 'Canvas'" in problems(tmp_path, text, template)[0]


def test_schema_must_reject_unknown_fields(tmp_path):
    text = SPEC.replace("      additionalProperties: false\n", "")
    assert "additionalProperties: false" in problems(tmp_path, text)[0]


def test_invalid_json_schema_is_reported(tmp_path):
    text = SPEC.replace("type: integer", "type: integr")
    assert "not a valid JSON Schema" in problems(tmp_path, text)[0]


def test_all_problems_are_collected(tmp_path):
    text = SPEC.replace('node: "1"', 'node: "99"').replace('node: "3"', 'node: "98"')
    assert len(problems(tmp_path, text)) == 2


def test_bypass_of_consumed_output_needs_a_passthrough(tmp_path):
    text = SPEC + '    bypass:\n      - {node: "2", class_type: CreateVideo, when: "false"}\n'
    assert "output 0 of node 2 feeds node 3 input 'video'; say which input replaces it" in problems(tmp_path, text)[0]


# --------------------------------------------------------------------------- the fast validity check
REPLACEMENTS = (None, 1, 1.0, 1.5, True, "", "x", "(", [], ["x"], [1, 1], {}, {"title": ""}, {"type": "nope"})


def mutations(value, limit=None):
    """Copies of ``value`` with one change each: at every node, each replacement, and for objects a
    key removed or an unknown key added (what an author's typo does)."""
    yield from (r for r in REPLACEMENTS)
    if isinstance(value, dict):
        yield {**value, "zz_unknown": 1}
        for key, item in list(value.items())[:limit]:
            yield {k: v for k, v in value.items() if k != key}
            for changed in mutations(item, limit):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for index, item in enumerate(value[:limit]):
            for changed in mutations(item, limit):
                yield value[:index] + [changed] + value[index + 1:]


def test_the_fast_meta_check_agrees_with_jsonschema_on_every_mutation():
    from engine.files import SPEC, read_yaml
    from engine.loader import _meta_validator, _meta_validity

    raw = read_yaml(SPEC)
    entry = raw["workflows"]["ltx2-t2v-fast"]
    small = {"version": 1, "selection": raw["selection"], "workflows": {"w": {
        **entry, "schema": "w.yaml", "let": dict(list(entry["let"].items())[:2]),
        "targets": {k: entry["targets"][k] for k in ("prompt", "fps", "job_id")}}}}
    seen = 0
    for spec in mutations(small):
        assert _meta_validity()(spec) == _meta_validator().is_valid(spec), spec
        seen += 1
    assert _meta_validity()(raw) and seen > 1000


def test_an_object_shared_by_alias_is_checked_once_and_judged_alike_everywhere():
    """The meta check remembers each (subschema, object) answer for one call: a shared bad object fails
    wherever it is used, a shared good one is checked once, and nothing is remembered between calls."""
    from engine.files import SPEC, read_yaml
    from engine.loader import _meta_validator, _meta_validity

    raw = read_yaml(SPEC)
    shared = raw["workflows"]["ltx2-t2v-fast"]["targets"]
    spec = {**raw, "workflows": {f"w{n}": {**raw["workflows"]["ltx2-t2v-fast"], "targets": shared} for n in range(3)}}
    assert _meta_validity()(spec) and _meta_validator().is_valid(spec)
    broken = {**shared, "prompt": "not a list"}
    spec["workflows"]["w2"] = {**spec["workflows"]["w2"], "targets": broken}
    spec["workflows"]["w0"] = {**spec["workflows"]["w0"], "targets": broken}
    assert not _meta_validity()(spec) and not _meta_validator().is_valid(spec)
    spec["workflows"]["w0"]["targets"] = spec["workflows"]["w2"]["targets"] = shared
    assert _meta_validity()(spec)


def test_the_fast_schema_check_agrees_with_check_schema_on_every_mutation():
    from jsonschema import Draft7Validator, Draft202012Validator

    from engine.files import SPEC, read_yaml
    from engine.loader import _schema_validity

    raw = read_yaml(SPEC)
    smoke, i2v = raw["workflows"]["smoke"]["schema"], raw["workflows"]["ltx2-i2v-pro"]["schema"]
    schema = {**i2v, "examples": [], "properties": {
        "prompt": i2v["properties"]["prompt"], "camera_lora": i2v["properties"]["camera_lora"],
        "image_url": i2v["properties"]["image_url"], "duration": smoke["properties"]["duration"]}}
    for cls, limit in ((Draft7Validator, None), (Draft202012Validator, 1)):  # 2020-12: mostly asks jsonschema
        strict = cls(cls.META_SCHEMA, format_checker=cls.FORMAT_CHECKER)
        assert _schema_validity(cls)(smoke) and _schema_validity(cls)(i2v)
        for changed in mutations(schema, limit):
            assert _schema_validity(cls)(changed) == strict.is_valid(changed), changed


SHARED = """
version: 1
definitions:
  size: &size {type: integer, minimum: 16, default: 64}
workflows:
  tiny:
    template: tiny.json
    schema: &schema
      type: object
      additionalProperties: false
      properties: {width: *size, height: *size}
    targets: &targets
      width:
        - {node: "1", class_type: EmptyImage, input: width}
    outputs: &outputs
      video: {node: "3", class_type: SaveVideo}
  tiny-too:
    template: tiny.json
    schema: *schema
    targets: *targets
    outputs: *outputs
  tiny-three:
    template: tiny.json
    schema: {type: object, additionalProperties: false, properties: {width: *size}}
    targets: *targets
    outputs: *outputs
"""


def test_each_distinct_schema_is_checked_once(tmp_path, monkeypatch):
    from engine import loader

    checked = []
    real = loader._schema_validity
    monkeypatch.setattr(loader, "_schema_validity", lambda cls: lambda s: checked.append(s) or real(cls)(s))
    assert len(load(tmp_path, SHARED).workflows) == 3
    size = {"type": "integer", "minimum": 16, "default": 64}
    assert [c for c in checked if c == size] == [size]  # the shared parameter, once for three workflows
    assert len(checked) == 3  # the parameter, and two schemas without their properties


def request_variants(workflow):
    """Requests around each example: every parameter set to odd values, to its bounds and just past
    them, removed, and an unknown field added."""
    for example in workflow.schema.get("examples") or [{}]:
        yield example
        yield {**example, "zz_unknown": 1}
        for name, schema in workflow.parameters.items():
            values = list(REPLACEMENTS) + list(schema.get("enum") or []) + ["x" * 20001, " ", "#12345g", 2**64, -1]
            for bound in ("minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength"):
                if bound in schema:
                    values += [schema[bound] - 1, schema[bound], schema[bound] + 1, float(schema[bound]) + 0.5]
            yield {k: v for k, v in example.items() if k != name}
            for value in values:
                yield {**example, name: value}


def test_the_fast_request_check_agrees_with_jsonschema_on_every_variant():
    from jsonschema.validators import validator_for

    spec = load_spec()
    count = 0
    for workflow in spec.workflows.values():
        strict = validator_for(workflow.schema)(workflow.schema)
        for request in request_variants(workflow):
            fast = next(workflow.validator.iter_errors(request), None) is None
            assert fast == strict.is_valid(request), (workflow.name, request)
            count += 1
    assert count > 1000
