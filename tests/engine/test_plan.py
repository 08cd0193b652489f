"""The read-only template: parsed frozen, all the way down."""

import json

import pytest

from engine.plan import FrozenDict, FrozenList, frozen_object
from tests.support import ROOT


def containers(value):
    """Every object and array inside ``value``, itself included."""
    if isinstance(value, (dict, list)):
        yield value
        for item in value.values() if isinstance(value, dict) else value:
            yield from containers(item)


def test_every_object_and_array_of_a_template_is_read_only():
    text = (ROOT / "templates" / "ltx2-t2v-pro.json").read_text(encoding="utf-8")
    frozen = json.loads(text, object_pairs_hook=frozen_object)
    assert frozen == json.loads(text)
    assert {type(c) for c in containers(frozen)} == {FrozenDict, FrozenList}


def test_arrays_inside_arrays_are_frozen_too():
    frozen = json.loads('{"a": [[1, {"b": [2]}], 3]}', object_pairs_hook=frozen_object)
    assert frozen == {"a": [[1, {"b": [2]}], 3]}
    assert {type(c) for c in containers(frozen)} == {FrozenDict, FrozenList}
    with pytest.raises(TypeError, match="part of a workflow template"):
        frozen["a"][0].append(4)
