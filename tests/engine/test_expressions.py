"""Spec expressions: native results, sandboxing, user text stays data, errors name the spec place."""

import pytest

from engine.errors import ExpressionError, SpecError
from engine.expressions import compile_expression, round_to


def test_result_keeps_its_native_type():
    assert compile_expression("(fps * duration) | round_to(8) + 1", "x").evaluate({"fps": 24, "duration": 10}) == 241


def test_request_text_is_never_template_source():
    prompt = "{{ 7*7 }} {% if true %}x{% endif %}"
    assert compile_expression("prompt", "x").evaluate({"prompt": prompt}) == prompt


def test_string_that_looks_like_a_literal_stays_a_string():
    assert compile_expression("prompt", "x").evaluate({"prompt": "[1, 2]"}) == "[1, 2]"


def test_undefined_name_is_an_expression_error_naming_the_place():
    with pytest.raises(ExpressionError, match=r"workflows\.w\.let\.a: expression 'missing \+ 1' failed"):
        compile_expression("missing + 1", "workflows.w.let.a").evaluate({})


def test_sandbox_blocks_attribute_escape():
    with pytest.raises(ExpressionError, match="undefined"):
        compile_expression("x.__class__", "w").evaluate({"x": 1})


def test_syntax_error_names_the_place():
    with pytest.raises(SpecError, match=r"targets\.a\[0\]\.value: invalid expression"):
        compile_expression("1 +", "targets.a[0].value")


@pytest.mark.parametrize(
    ("value", "multiple", "expected"),
    [(720, 64, 704), (1080, 64, 1088), (736, 64, 768), (240, 8, 240), (244, 8, 248), (243.9, 8, 240), (-12, 8, -16)],
)
def test_round_to_rounds_halves_away_from_zero(value, multiple, expected):
    assert round_to(value, multiple) == expected
