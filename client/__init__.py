"""A caller's client for the worker's endpoint: a video from the terminal or from Python (docs/client.md).

    python -m client generate --url https://api.runpod.ai/v2/<id> --input '{"prompt": "..."}' --output out.mp4

    from client import Client
    with Client(endpoint="<id>", api_key="...") as client:
        video = client.generate({"prompt": "A red fox in the snow"}, "fox.mp4",
                                on_progress=lambda s: print(s.status, s.progress))
    video.metadata["seed"]

Imports the engine (the workflows' schemas, for local validation) and nothing from worker/ or deploy/.
"""

from .api import Client, Poll, ProgressCallback, Video
from .errors import EndpointError, JobError
from .status import JobStatus, Progress

__all__ = ["Client", "EndpointError", "JobError", "JobStatus", "Poll", "Progress", "ProgressCallback", "Video"]
