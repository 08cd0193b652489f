"""engine.quote: values in JSON terms, cut short; messages on one line."""

import math

from engine.quote import json_type, one_line, quote


def test_scalars_are_quoted_as_json_writes_them():
    assert [quote(v) for v in (None, True, False, 7, 1.5, "text")] == ["null", "true", "false", "7", "1.5", '"text"']


def test_non_finite_numbers_are_named_as_javascript_does():
    assert [quote(v) for v in (math.nan, math.inf, -math.inf)] == ["NaN", "Infinity", "-Infinity"]


def test_a_long_string_is_an_excerpt_with_its_length():
    assert quote("a" * 1_048_576) == '"' + "a" * 40 + '..." (1048576 characters)'


def test_short_containers_are_json_and_long_ones_are_counted():
    assert (quote([]), quote({}), quote([1, "a"])) == ("[]", "{}", '[1, "a"]')
    assert quote(list(range(1000))) == "an array of 1000 items"
    assert quote({str(i): i for i in range(100)}) == "an object with 100 keys"


def test_json_type_names():
    assert [json_type(v) for v in (None, True, 1, 1.0, "", [], {})] == [
        "null", "boolean", "integer", "number", "string", "array", "object"]


def test_one_line_collapses_whitespace_and_cuts_at_the_limit():
    assert one_line("a\nb  c") == "a b c"
    assert len(one_line("x" * 1000)) == 300 and one_line("x" * 1000).endswith("...")
