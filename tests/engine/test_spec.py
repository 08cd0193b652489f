"""engine.spec: picking workflows by name or pattern (ENABLED_WORKFLOWS, --workflows)."""

from __future__ import annotations

import pytest

from engine import load_spec
from engine.errors import ConfigError
from engine.spec import pick_workflows


def test_workflows_are_picked_by_name_or_pattern():
    names = list(load_spec().workflows)
    assert pick_workflows(names, "*-fast") == ["ltx2-t2v-fast", "ltx2-i2v-fast"]
    assert pick_workflows(names, "smoke, ltx2-t2v-pro") == ["smoke", "ltx2-t2v-pro"]
    assert pick_workflows(names, "all") == pick_workflows(names, "") == names


def test_a_pattern_matching_no_workflow_is_an_error():
    with pytest.raises(ConfigError, match=r"^--workflows: 'ltx2-t2v-turbo' matches no workflow \(have: ltx2-t2v-fast, "):
        pick_workflows(load_spec().workflows, "ltx2-t2v-turbo")
