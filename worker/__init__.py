"""One job's I/O around the engine: configuration, ComfyUI's HTTP API and websocket, progress, the
input image, delivery, cleanup, and the job itself (worker.job.handler, what RunPod calls)."""
