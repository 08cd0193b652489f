"""RunPod serverless entry point: ``handler`` takes one job dict and returns its result (worker/job.py).

    python handler.py --test_input '{"input": {"workflow": "smoke"}}'   # one local job
    python handler.py --rp_serve_api                                     # RunPod's local API

The container runs ``python -m deploy`` instead, which starts ComfyUI, checks it, then serves
this same handler.
"""

from worker.job import handler, serve, setup_logging

__all__ = ["handler"]

setup_logging()

if __name__ == "__main__":
    serve()
