"""Selecting a workflow and validating a request: one clear error naming the field and the rule."""

import pytest

from engine import RequestError, load_spec


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def error(spec, request):
    with pytest.raises(RequestError) as info:
        spec.prepare(request)
    return str(info.value)


def test_defaults_are_filled(spec):
    prepared = spec.prepare({"workflow": "smoke"})
    assert prepared.request == {"workflow": "smoke", "width": 64, "height": 64, "fps": 24, "duration": 1, "color": "#000000"}


def test_out_of_range_names_field_and_rule(spec):
    assert error(spec, {"workflow": "smoke", "duration": 12}) == "duration: 12 is greater than the maximum of 10"


def test_unknown_field_is_rejected_with_the_allowed_list(spec):
    assert error(spec, {"workflow": "smoke", "colour": "#000000"}).startswith(
        "colour: unknown field for workflow smoke (allowed: color, duration, fps, frames, height, width, workflow)"
    )


def test_unknown_workflow_lists_the_known_ones(spec):
    assert error(spec, {"workflow": "nope"}).startswith('workflow: "nope" is not one of [')


def test_custom_message_replaces_the_pattern(spec):
    assert error(spec, {"workflow": "smoke", "color": "red"}) == "color: must be a colour like #ff8800"


def test_mutually_exclusive_fields_are_both_named(spec):
    assert error(spec, {"workflow": "smoke", "frames": 3, "duration": 1}) == "frames + duration: give frames or duration, not both"


def test_non_object_input_is_rejected(spec):
    assert error(spec, ["workflow"]) == "input: must be a JSON object, got array"


def test_wrong_type_is_named(spec):
    assert error(spec, {"workflow": "smoke", "width": "64"}) == 'width: "64" is not of type "integer"'


def test_the_request_is_not_mutated(spec):
    request = {"workflow": "smoke"}
    spec.prepare(request)
    assert request == {"workflow": "smoke"}


@pytest.mark.parametrize("value, message", [
    (float("nan"), "camera_lora_strength: must be a finite number, got NaN"),
    (float("inf"), "camera_lora_strength: must be a finite number, got Infinity"),
])
def test_nan_and_infinity_are_refused_naming_the_field(spec, value, message):
    assert error(spec, {"prompt": "p", "camera_lora_strength": value}) == message


def test_null_is_named_as_json_does(spec):
    assert error(spec, {"prompt": "p", "seed": None}) == 'seed: null is not of type "integer"'
    assert error(spec, None) == "input: must be a JSON object, got null"


def test_a_huge_value_is_echoed_as_a_short_excerpt(spec):
    message = error(spec, {"prompt": "p", "width": "9" * 1_048_576})
    assert message == 'width: "' + "9" * 40 + '..." (1048576 characters) is not of type "integer"'


def test_a_huge_unknown_key_is_cut_and_the_line_stays_short(spec):
    message = error(spec, {"prompt": "p", "k" * 1_048_576: 1})
    assert message.startswith('"' + "k" * 40 + '..." (1048576 characters): unknown field for workflow ltx2-t2v-fast')
    assert len(message) <= 300 and "\n" not in message


def test_a_list_as_workflow_is_one_line_naming_workflow(spec):
    assert error(spec, {"workflow": []}).startswith('workflow: [] is not one of ["')


def test_workflow_null_is_an_error_not_absent(spec):
    assert error(spec, {"workflow": None}).startswith('workflow: null is not one of ["')


def test_a_trailing_newline_does_not_pass_a_pattern(spec):
    assert error(spec, {"workflow": "smoke", "color": "#ff8800\n"}).startswith("color: must be a colour like #ff8800")
