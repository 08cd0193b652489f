"""A declarative workflow-templating engine for ComfyUI: spec + templates + request -> graph.

    spec = load_spec()                       # spec/mappings.yaml, fully checked
    prepared = spec.prepare(request)         # select + validate; RequestError on bad input
    rendered = spec.render(prepared, runtime={"job_id": "abc", "random_seed": 7})
    rendered.graph, rendered.metadata, rendered.outputs

Pure: no network, no RunPod. The layers above it (worker/, deploy/) import it, never the reverse.
"""

from .errors import Error, RenderError, RequestError, SpecError
from .loader import load_spec
from .prepare import Prepared
from .render import RUNTIME_NAMES, Rendered, new_random_seed
from .spec import Spec
from .workflow import Workflow

__all__ = [
    "Error",
    "Prepared",
    "RUNTIME_NAMES",
    "RenderError",
    "Rendered",
    "RequestError",
    "Spec",
    "SpecError",
    "Workflow",
    "load_spec",
    "new_random_seed",
]
