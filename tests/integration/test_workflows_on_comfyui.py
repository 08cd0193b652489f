"""The real-server twin of `python -m engine lint`: every graph each shipped workflow can produce (the
template, each schema example, each example with each enum or boolean value) is accepted by a real
ComfyUI's POST /prompt with no node_errors.

Accepted graphs are queued, so each is taken back at once, while the server is kept busy with slow
prompts of the tier's own: a graph waits behind them, is cancelled while pending and never runs (it
has no history entry), and nothing of it stays on the queue or in the history.
"""

import copy
import uuid

import pytest

import engine
from engine.variants import workflow_graphs

SHIPPED = list(engine.load_spec().workflows)


def with_input_image(graph: dict, image: str) -> dict:
    """The graph with every LoadImage reading the tier's uploaded first frame."""
    graph = copy.deepcopy(graph)
    for node in graph.values():
        if node.get("class_type") == "LoadImage":
            node["inputs"]["image"] = image
    return graph


def test_the_shipped_workflows_include_every_kind():
    assert {"ltx2-t2v-fast", "ltx2-t2v-pro", "ltx2-i2v-fast", "ltx2-i2v-pro", "ltx23-t2v", "smoke"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_graph_of_the_workflow_is_accepted_by_comfyui(name, tier, shipped_spec, placeholder_models,
                                                            first_frame, blockers):
    http = tier.http
    workflow = shipped_spec.workflows[name]
    examples = len(workflow.schema.get("examples") or [{}])
    graphs = list(workflow_graphs(shipped_spec, workflow))
    assert len(graphs) >= 1 + examples
    refused, ran = [], []
    for label, graph in graphs:
        blockers.keep_busy(2)
        prompt_id = str(uuid.uuid4())
        tier.posted.add(prompt_id)
        status, answer = http.post_prompt(with_input_image(graph, first_frame), prompt_id)
        if status == 200:
            http.cancel(prompt_id)
        if status != 200 or not isinstance(answer, dict) or answer.get("node_errors"):
            refused.append(f"{label}: HTTP {status}: {answer}")
            continue
        if http.history(prompt_id) is not None:
            ran.append(label)
        http.delete_history([prompt_id])
        assert prompt_id not in set().union(*http.queued_ids())
    assert refused == [], f"{name}: ComfyUI refused {len(refused)} of {len(graphs)} graphs:\n" + "\n".join(refused)
    assert ran == [], f"{name}: graphs started running although the server was kept busy: {ran}"
