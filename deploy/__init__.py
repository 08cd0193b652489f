"""Container start-up: ComfyUI as a child process, readiness, preflight, model downloads, warmup, then
the worker's job loop (``python -m deploy``)."""
