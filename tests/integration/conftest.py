"""The integration tier: the worker against a real ComfyUI (see README.md here).

COMFYUI_TEST_URL is the address of a running ComfyUI, COMFYUI_TEST_DIR its ComfyUI folder (main.py,
models/, input/, output/). Unset, the tier fails with one message; it never skips.

The server may be one the tier did not start and others use, so the tier:
- names everything it causes uniquely: RunPod job ids (hence the worker's job ids, file prefixes and
  upload names) start with a per-session tag, prompt ids it posts itself are fresh uuids it records;
- creates empty placeholder model files only where no file of that name exists, and removes exactly
  those at the end;
- checks after every test that none of its prompts is still queued or running and that no file it
  caused is left in input/ or output/ (it then cleans up what it found, and fails the test);
- kills, freezes and restarts only private ComfyUI processes it starts itself from the same install.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pytest

from tests.integration.helpers import HERE, MISSING, TEST_SPEC, Blockers, JobLoop, Tier, Worker, missing_settings
from tests.support import image_bytes
from tests.support.real_comfyui import ComfyHTTP, PrivateComfyUI, comfy_python, files_in

ENV_CHECK = "test_the_tier_has_a_real_comfyui_to_run_against"
TEST_TIMEOUT_S = 300
"""Upper bound per test (pytest-timeout), so a wedged server fails the test instead of hanging CI."""


def _in_tier(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Unset settings: keep one tier test (the environment check), which fails with MISSING, and deselect
    the rest, so the run fails once and clearly. Every tier test gets a timeout when pytest-timeout is there."""
    tier = [item for item in items if _in_tier(item)]
    if not tier:
        return
    if missing_settings():
        keep = next((item for item in tier if item.name == ENV_CHECK), tier[0])
        dropped = [item for item in tier if item is not keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in dropped]
        return
    if config.pluginmanager.hasplugin("timeout"):
        for item in tier:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


# ---------------------------------------------------------------------------------------------------------
# the server and the session's own names


@pytest.fixture(scope="session")
def tier() -> Tier:
    missing = missing_settings()
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: {MISSING}", pytrace=False)
    url = os.environ["COMFYUI_TEST_URL"].strip().rstrip("/")
    comfy_dir = Path(os.environ["COMFYUI_TEST_DIR"].strip()).resolve()
    absent = [name for name in ("main.py", "models", "input", "output") if not (comfy_dir / name).exists()]
    if absent:
        pytest.fail(f"COMFYUI_TEST_DIR={comfy_dir} is not a ComfyUI folder (no {', '.join(absent)}): {MISSING}",
                    pytrace=False)
    http = ComfyHTTP(url)
    try:
        status, answer = http.request("GET", "/system_stats", timeout=10)
    except OSError as err:
        pytest.fail(f"COMFYUI_TEST_URL={url} does not answer ({err}): start that ComfyUI, or unset the "
                    f"variables and run .ci/run, which starts one", pytrace=False)
    if status != 200:
        pytest.fail(f"COMFYUI_TEST_URL={url}/system_stats answered HTTP {status}: {answer}", pytrace=False)
    return Tier(url=url, comfy_dir=comfy_dir, http=http, tag=f"it{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session", autouse=True)
def _tidy_directories(request):
    """At the end, remove the empty folders the tier's outputs created under output/ (e.g. output/slow/)."""
    if missing_settings():  # the environment check reports it
        yield
        return
    tier = request.getfixturevalue("tier")
    before = {p for p in tier.output_dir.rglob("*") if p.is_dir()}
    yield
    for path in sorted((p for p in tier.output_dir.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if path not in before:
            with contextlib.suppress(OSError):
                path.rmdir()


@pytest.fixture(autouse=True)
def leaves_nothing_behind(request):
    """After each test: none of the tier's prompts on the queue, no file it caused in input/ or output/.

    Every name the tier causes carries its tag (job ids, hence the worker's file prefixes and upload
    names; the tier's own blockers and image), so a file it caused is a new file with the tag in its name
    (others may write untagged files into the same folders meanwhile, even from another ComfyUI).
    Whatever is found is cleaned up (prompts cancelled, files removed), and the test fails naming it.
    """
    if missing_settings():  # the environment check reports it
        yield
        return
    tier = request.getfixturevalue("tier")
    job_loop = request.getfixturevalue("job_loop")
    http = tier.http
    before_files = files_in(tier.input_dir, tier.output_dir)
    yield
    problems = []
    busy = job_loop.drain(timeout=30)  # a job's clean-up still waiting for ComfyUI to let go of its prompt
    if busy:
        problems.append(f"tasks still running on the job loop 30 s after the test: {busy}")
    ours = tier.our_queue()
    if ours:
        left = http.wait_gone(ours, timeout=15)
        if left:
            problems.append(f"prompts of the tier still queued or running after the test: {sorted(left)}")
            for prompt_id in left:
                http.cancel(prompt_id)
            http.wait_gone(left, timeout=30)
    http.delete_history(pid for pid, entry in http.recent_history().items() if tier.ours(pid, entry.get("prompt")))
    leaked = sorted(f for f in files_in(tier.input_dir, tier.output_dir) - before_files if tier.tag in f)
    if leaked:
        problems.append(f"files the tier caused are left in ComfyUI's input/output: {leaked}")
        for path in leaked:
            with contextlib.suppress(OSError):
                os.remove(path)
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


# ---------------------------------------------------------------------------------------------------------
# specs, model placeholders, the first-frame image


@pytest.fixture(scope="session")
def shipped_spec():
    import engine
    return engine.load_spec()


@pytest.fixture(scope="session")
def test_spec():
    import engine
    return engine.load_spec(TEST_SPEC)


@pytest.fixture(scope="session")
def placeholder_models(tier, shipped_spec):
    """An empty file for every model file a shipped workflow can load, where no file of that name exists.

    Removes exactly the files (and folders) it created when the session ends. Returns the created paths.
    """
    from engine.manifest import load_manifest, needed_models

    created: list[Path] = []
    created_dirs: list[Path] = []
    needed = needed_models(shipped_spec, load_manifest(), list(shipped_spec.workflows))
    for model in sorted({m for files in needed.values() for m in files}, key=lambda m: m.where):
        path = tier.comfy_dir / "models" / model.folder / model.name
        missing_dirs = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
        path.parent.mkdir(parents=True, exist_ok=True)
        created_dirs += missing_dirs
        try:
            with open(path, "xb"):
                pass
        except FileExistsError:
            continue
        created.append(path)
    yield created
    for path in created:
        with contextlib.suppress(OSError):
            path.unlink()
    for directory in created_dirs:  # deepest first, as collected
        with contextlib.suppress(OSError):
            directory.rmdir()


@pytest.fixture(scope="session")
def first_frame(tier):
    """A small real PNG uploaded into input/ under a unique name; removed at the end. Its ComfyUI name."""
    name = tier.http.upload_image(image_bytes("PNG", 64, 64), f"{tier.tag}-first-frame.png")
    yield name
    with contextlib.suppress(OSError):
        (tier.input_dir / name).unlink()


# ---------------------------------------------------------------------------------------------------------
# slow prompts of the tier's own that keep a server busy


@pytest.fixture
def blockers(tier, test_spec):
    """Slow prompts of the tier's own on the shared server, all cancelled after the test."""
    made = Blockers(tier, test_spec, tier.http)
    yield made
    made.close()


# ---------------------------------------------------------------------------------------------------------
# the worker, through the RunPod SDK's own job runner


@pytest.fixture(scope="session")
def job_loop():
    """The session's event loop for jobs (a thread), as a RunPod worker has one for its whole life."""
    loop = JobLoop()
    yield loop
    loop.close()


@pytest.fixture
def worker(tier, monkeypatch, job_loop) -> Worker:
    """The worker pointed at the shared server with the tier's settings (ENABLED_WORKFLOWS=all)."""
    made = Worker(tier, monkeypatch, job_loop)
    made.point_at(tier.url, tier.input_dir, tier.output_dir)
    made.configure(JOB_TIMEOUT_S=120, HISTORY_POLL_S=0.5, INTERRUPT_GRACE_S=5, COMFYUI_HTTP_TIMEOUT_S=10,
                   ENABLED_WORKFLOWS="all", PROGRESS_INTERVAL_S=1, LOG_LEVEL="INFO")
    for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY", "BUCKET_NAME",
                 "RUNPOD_WEBHOOK_POST_OUTPUT", "INLINE_MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)
    return made


# ---------------------------------------------------------------------------------------------------------
# a private ComfyUI (for tests that kill, freeze or restart it)


@pytest.fixture(scope="session")
def _private_comfyui(tier):
    try:
        python = comfy_python(tier.comfy_dir)
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    server = PrivateComfyUI(tier.comfy_dir, python)
    yield server
    server.close()


@pytest.fixture
def private_comfyui(_private_comfyui, tier, worker, job_loop):
    """The private ComfyUI, running (started or restarted only when needed), with the worker pointed at it.

    Afterwards: none of the tier's prompts left on it (when it is alive) and no file in its input/output.
    """
    server = _private_comfyui
    server.ensure_running()
    worker.point_at(server.url, server.input_dir, server.output_dir)
    yield server
    problems = []
    if server.running():
        with contextlib.suppress(ProcessLookupError):
            server.thaw()
    busy = job_loop.drain(timeout=30)
    if busy:
        problems.append(f"tasks still running on the job loop 30 s after the test: {busy}")
    if server.running() and server.http.alive(timeout=10):
        left = server.http.wait_gone(tier.our_queue(server.http), timeout=30)
        if left:
            problems.append(f"prompts still on the private ComfyUI: {sorted(left)}")
    leaked = sorted(files_in(server.input_dir, server.output_dir))
    for path in leaked:
        os.remove(path)
    if leaked and not server.leftovers_expected:
        problems.append(f"files left in the private ComfyUI's input/output: {leaked}")
    server.leftovers_expected = False
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
