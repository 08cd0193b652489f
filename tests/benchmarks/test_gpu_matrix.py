"""The benchmark matrix: the cases the issue asks for, each a valid request for the worker's own spec."""

from __future__ import annotations

import pytest

import engine
from matrix import first_frame, ltx2_matrix, smoke_matrix

SPEC = engine.load_spec()
CASES = ltx2_matrix(first_frame(64, 36))


@pytest.mark.parametrize("case", CASES + smoke_matrix(), ids=lambda c: c.id)
def test_every_case_is_a_valid_request(case):
    prepared = SPEC.prepare(case.input)
    assert prepared.workflow.name == case.input["workflow"]


def test_every_ltx2_workflow_runs_at_720p_10s_and_t2v_fast_and_pro_at_1080p_20s():
    def runs(workflow, resolution, duration):
        return [c for c in CASES if c.input["workflow"] == workflow and c.input["resolution"] == resolution
                and c.input["duration"] == duration and not c.input.get("enhance_prompt")]
    for workflow in [name for name in SPEC.workflows if name.startswith("ltx2-")]:
        assert len(runs(workflow, "720p", 10)) == 1, workflow
    for workflow in ("ltx2-t2v-fast", "ltx2-t2v-pro"):
        assert len(runs(workflow, "1080p", 20)) == 1, workflow
    assert sum(1 for c in CASES if c.input.get("enhance_prompt")) == 1


def test_case_ids_are_unique_and_file_name_safe():
    ids = [c.id for c in CASES + smoke_matrix()]
    assert len(ids) == len(set(ids)) and all(i.replace("-", "").isalnum() for i in ids)


def test_the_1080p_20s_jobs_come_last_so_a_cut_run_keeps_the_720p_rows():
    assert [c.id.endswith("1080p-20s") for c in CASES] == sorted(c.id.endswith("1080p-20s") for c in CASES)
