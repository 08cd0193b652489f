"""worker.job: the handler through the runpod SDK's own job runner (rp_job.run_job), against the ComfyUI stand-in.

Every scenario ends with one clear error or a result with its video, and leaves no job files behind.
"""

import asyncio
import base64
import socket
import tempfile
import time

import pytest
from runpod.serverless.modules import rp_job

from engine.errors import ExpressionError
from tests.support import files_under, image_bytes
from tests.support.comfyui_standin import MP4_HEADER, REJECT_400_BODY, Scenario
from worker import job
from worker.cleanup import remove_job_files

PNG = image_bytes("PNG")
I2V = {"type": "i2v", "prompt": "The waves roll in.", "image_base64": base64.b64encode(PNG).decode()}
SMOKE = {"workflow": "smoke", "width": 32, "height": 32, "frames": 8}


@pytest.fixture
def worker(comfy, comfy_dirs, monkeypatch):
    """Point the worker at the stand-in with short timings; afterwards assert no job file remains."""
    env = {"COMFYUI_URL": comfy.url, "COMFYUI_INPUT_DIR": str(comfy_dirs[0]),
           "COMFYUI_OUTPUT_DIR": str(comfy_dirs[1]), "JOB_TIMEOUT_S": "5", "HISTORY_POLL_S": "0.2",
           "INTERRUPT_GRACE_S": "0.5"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY", "BUCKET_NAME",
                 "RUNPOD_WEBHOOK_POST_OUTPUT", "INLINE_MAX_BYTES", "ENABLED_WORKFLOWS"):
        monkeypatch.delenv(name, raising=False)
    yield comfy
    assert files_under(*comfy_dirs) == []


def run(job_input, job_id="sync-4f6a2c9e-test"):
    """One job through the SDK exactly as RunPod runs it: returns the SDK's result dict."""
    return asyncio.run(rp_job.run_job(job.handler, {"id": job_id, "input": job_input}))


def test_smoke_job_returns_the_video_inline_with_metadata(worker):
    result = run(SMOKE)
    assert set(result) == {"output"}
    output = result["output"]
    assert base64.b64decode(output["video"]) == MP4_HEADER + bytes(2048 - len(MP4_HEADER))
    assert {k: output[k] for k in ("workflow", "width", "height", "frames", "fps", "duration_s")} == {
        "workflow": "smoke", "width": 32, "height": 32, "frames": 8, "fps": 24, "duration_s": 8 / 24}
    timings = output["timings"]
    assert set(timings) == {"queue_wait_s", "execution_s", "total_s"}
    assert 0 <= timings["queue_wait_s"] <= timings["total_s"] and timings["execution_s"] <= timings["total_s"] < 1


def test_every_job_gets_a_unique_filename_prefix_with_a_fresh_prompt_and_client_id(worker):
    run(SMOKE, job_id="local_test")
    run(SMOKE, job_id="local_test")
    prefixes = [p["prompt"]["3"]["inputs"]["filename_prefix"] for p in worker.prompts]
    assert prefixes[0] != prefixes[1] and all(p.startswith("smoke/local_test-") for p in prefixes)
    assert len({p["prompt_id"] for p in worker.prompts}) == 2 and len({p["client_id"] for p in worker.prompts}) == 2
    assert worker.ws_connects == [p["client_id"] for p in worker.prompts]


def test_i2v_uploads_the_image_under_a_worker_chosen_name_and_reports_progress(worker, monkeypatch):
    sent = []
    monkeypatch.setenv("RUNPOD_WEBHOOK_POST_OUTPUT", "http://runpod.invalid/done?id=$ID")
    monkeypatch.setenv("PROGRESS_INTERVAL_S", "0.1")
    monkeypatch.setattr(job.runpod.serverless, "progress_update", lambda _job, value: sent.append(value))
    worker.scenario = Scenario(steps=8, step_delay=0.03)
    result = run(I2V)
    output = result["output"]
    assert output["workflow"] == "ltx2-i2v-fast" and output["frames"] == 241 and isinstance(output["seed"], int)
    upload = worker.uploads[0]
    assert upload["name"].startswith("sync-4f6a2c9e-test-") and upload["name"].endswith(".png")
    assert worker.prompts[0]["prompt"]["98"]["inputs"]["image"] == upload["name"]
    stages = {(p.get("stage"), p.get("stages")) for p in sent}
    assert {(1, 2), (2, 2)} <= stages
    assert 3 <= len(sent) <= 0.5 / 0.1 + 3  # ~0.5 s of sampling at one update per 0.1 s
    percents = [p["percent"] for p in sent]
    assert percents == sorted(percents) and 0 <= percents[0] and percents[-1] <= 99


def test_enhancement_returns_the_enhanced_prompt_the_preview_recorded(worker):
    output = run({"prompt": "A fox in snow.", "seed": 5, "enhance_prompt": True})["output"]
    assert output["enhance_prompt"] is True
    assert output["enhanced_prompt"] == "Enhanced (seed 5, at most 512 tokens): A fox in snow."


def test_i2v_enhancement_returns_the_enhanced_prompt(worker):
    output = run({**I2V, "seed": 8, "enhance_prompt": True, "enhance_max_length": 64})["output"]
    assert output["enhanced_prompt"] == "Enhanced (seed 8, at most 64 tokens): The waves roll in."


def test_without_enhancement_the_result_has_no_enhanced_prompt_and_no_generator_ran(worker):
    output = run({"prompt": "A fox in snow."})["output"]
    assert output["enhance_prompt"] is False and "enhanced_prompt" not in output
    queued = {n["class_type"] for n in worker.prompts[0]["prompt"].values()}
    assert not queued & {"TextGenerateLTX2Prompt", "PreviewAny"}


def test_a_text_output_that_recorded_nothing_is_left_out_and_logged(caplog):
    spec = job.get_spec()
    rendered = spec.render(spec.prepare({"prompt": "p", "enhance_prompt": True}), {"job_id": "t", "random_seed": 1})
    assert job.text_outputs(rendered, {"outputs": {"104": {"images": []}}}, "104") == {}
    assert "output enhanced_prompt: node 901 (PreviewAny) recorded no text" in caplog.text


def test_a_text_output_that_recorded_several_texts_returns_them_all():
    spec = job.get_spec()
    rendered = spec.render(spec.prepare({"prompt": "p", "enhance_prompt": True}), {"job_id": "t", "random_seed": 1})
    entry = {"outputs": {"104": {"images": []}, "901": {"text": ["one", "two"]}}}
    assert job.text_outputs(rendered, entry, "104") == {"enhanced_prompt": ["one", "two"]}


def test_an_image_url_to_a_loopback_server_is_refused(worker):
    result = run({**{k: v for k, v in I2V.items() if k != "image_base64"},
                  "image_url": f"{worker.url}/system_stats"})
    assert result == {"error": "image_url: host \"127.0.0.1\" resolves to 127.0.0.1, which is not a public address "
                               "(loopback, private, link-local and metadata addresses are refused)"}
    assert worker.prompts == []


def test_a_non_image_payload_is_refused(worker):
    result = run({**I2V, "image_base64": base64.b64encode(b"%PDF-1.7 not an image").decode()})
    assert result == {"error": "image_base64: not a PNG, JPEG, WebP or GIF image"}
    assert worker.uploads == [] and worker.prompts == []


def test_a_bad_request_ends_with_the_engine_error_before_comfyui(worker):
    assert run({"workflow": "smoke", "width": 3}) == {"error": "width: 3 is less than the minimum of 16"}
    assert run("just a string") == {"error": "input: must be a JSON object, got string"}
    assert worker.prompts == []


def test_a_bug_while_following_the_job_takes_the_prompt_back_and_is_one_line(worker, monkeypatch):
    def broken(job_):
        def send(payload):
            raise KeyError("bug")
        return send

    monkeypatch.setattr(job, "progress_sender", broken)
    monkeypatch.setenv("PROGRESS_INTERVAL_S", "0.01")
    worker.scenario = Scenario(outcome="hang", error_node="92:20")
    assert run(I2V) == {"error": "internal worker error: KeyError: 'bug'"}
    assert worker.cancels == [worker.prompts[0]["prompt_id"]]


def test_the_callers_mistakes_are_logged_as_refused_and_a_failing_expression_as_a_failure(worker, monkeypatch,
                                                                                          caplog):
    def failing(prepared, runtime):
        raise ExpressionError("workflows.smoke.let.frames: expression 'x' failed: boom")

    run({"workflow": "smoke", "width": 3})
    assert [r.levelname for r in caplog.records if "refused" in r.getMessage()] == ["WARNING"]
    monkeypatch.setattr("engine.spec.render", failing)
    assert run(SMOKE) == {"error": "workflows.smoke.let.frames: expression 'x' failed: boom"}
    failed = [r for r in caplog.records if "failed" in r.getMessage() and "expression" in r.getMessage()]
    assert [r.levelname for r in failed] == ["ERROR"] and worker.prompts == []


def test_a_workflow_this_endpoint_does_not_serve_is_refused_before_comfyui(worker, monkeypatch):
    monkeypatch.setenv("ENABLED_WORKFLOWS", "ltx2-t2v-fast")
    assert run({"prompt": "x", "mode": "pro"}) == {"error": "workflow: ltx2-t2v-pro is not enabled on this "
                                                            "endpoint (ENABLED_WORKFLOWS serves ltx2-t2v-fast, smoke)"}
    assert worker.prompts == []


def test_the_default_endpoint_does_not_serve_the_opt_in_workflow(worker, monkeypatch):
    monkeypatch.delenv("ENABLED_WORKFLOWS", raising=False)
    assert run({"workflow": "ltx23-t2v", "prompt": "x"})["error"].startswith(
        "workflow: ltx23-t2v is not enabled on this endpoint (ENABLED_WORKFLOWS serves ltx2-t2v-fast, ")


def test_a_list_or_object_as_workflow_is_one_line_naming_workflow(worker):
    assert run({"workflow": []})["error"].startswith("workflow: [] is not one of ")
    assert run({"workflow": {}})["error"].startswith("workflow: {} is not one of ")
    assert worker.prompts == []


@pytest.mark.parametrize("reject", ["400", "node_errors"])
def test_comfyui_validation_errors_are_one_line_per_node_naming_the_parameter(worker, reject):
    worker.scenario = Scenario(reject=reject, reject_body=REJECT_400_BODY)
    result = run(SMOKE)
    summary = " (Prompt outputs failed validation)" if reject == "400" else ""
    assert result["error"].splitlines() == [
        f"ComfyUI rejected the workflow{summary}:",
        "node 1 (EmptyImage) input width: value 20000 bigger than max of 16384 (request parameter: width)",
    ]
    assert "stopPod" not in result


def test_execution_error_reports_node_class_and_message(worker):
    worker.scenario = Scenario(outcome="execution_error", error_node="92:11")
    result = run(I2V)
    assert result == {"error": "ComfyUI failed in node 92:11 (RandomNoise): SafetensorError: "
                               "Error while deserializing header: header too small"}


def test_an_interrupted_job_fails(worker):
    worker.scenario = Scenario(outcome="interrupted", fail_after_steps=2)
    assert run(I2V)["error"].startswith("ComfyUI interrupted the job at node ")


@pytest.mark.parametrize("lose_completion", [False, True])
def test_a_dropped_websocket_still_delivers_the_video(worker, lose_completion):
    worker.scenario = Scenario(steps=4, step_delay=0.02, drop_ws_after_step=3, lose_completion=lose_completion)
    result = run(I2V)
    assert "error" not in result and base64.b64decode(result["output"]["video"]).startswith(MP4_HEADER)
    assert len(worker.ws_connects) == 2


def test_comfyui_dying_mid_job_fails_at_once_and_refreshes_the_worker(worker):
    worker.scenario = Scenario(outcome="die", fail_after_steps=3)
    started = time.monotonic()
    result = run(I2V)
    assert result["error"].startswith(f"ComfyUI at {worker.url} died during the job")
    assert result["stopPod"] is True
    assert time.monotonic() - started < 1


def test_a_job_past_its_deadline_is_interrupted_and_fails_in_time(worker, monkeypatch):
    monkeypatch.setenv("JOB_TIMEOUT_S", "0.5")
    worker.scenario = Scenario(outcome="hang", error_node="92:11")
    started = time.monotonic()
    result = run(I2V)
    assert result["error"].startswith("the job ran past its 0.5 s deadline (JOB_TIMEOUT_S) while running on ComfyUI "
                                      "(ComfyUI was at node 92:11 (RandomNoise)")
    assert result["error"].endswith("; it was interrupted") and "stopPod" not in result
    assert worker.cancels == [worker.prompts[0]["prompt_id"]]
    assert time.monotonic() - started < 1.5


def test_a_hung_comfyui_that_ignores_the_interrupt_refreshes_the_worker(worker, monkeypatch):
    monkeypatch.setenv("JOB_TIMEOUT_S", "0.3")
    worker.scenario = Scenario(outcome="hang", ignore_interrupt=True)
    result = run(SMOKE)
    assert "did not stop within 0.5 s (INTERRUPT_GRACE_S)" in result["error"] and result["stopPod"] is True


def test_no_output_is_an_error_not_an_empty_success(worker):
    worker.scenario = Scenario(write_output=False)
    assert run(SMOKE) == {"error": "ComfyUI finished but node 3 (SaveVideo) reported no video output"}


def test_an_output_too_large_to_inline_fails_naming_the_bucket_variables(worker, monkeypatch):
    monkeypatch.setenv("INLINE_MAX_BYTES", "50000")
    worker.scenario = Scenario(output_bytes=60_000)
    error = run(SMOKE)["error"]
    assert error.startswith("the video is 60000 bytes (")
    assert "over the 50000 bytes inline limit (INLINE_MAX_BYTES)" in error
    assert error.endswith("set BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY to receive it "
                          "as video_url instead")


def test_bucket_delivery_returns_a_presigned_url_to_an_mp4(worker, monkeypatch, bucket_env, s3_server):
    for name, value in bucket_env.items():
        monkeypatch.setenv(name, value)
    output = run(SMOKE)["output"]
    assert "video" not in output and output["video_url"].startswith(bucket_env["BUCKET_ENDPOINT_URL"])
    key = output["video_url"].split("/videos/", 1)[1].split("?", 1)[0]
    assert key.startswith("sync-4f6a2c9e-test-") and key.endswith("_00001_.mp4")
    assert s3_server[1].head_object(Bucket="videos", Key=key)["ContentType"] == "video/mp4"


def test_a_partial_bucket_configuration_is_a_configuration_error(worker, monkeypatch):
    monkeypatch.setenv("BUCKET_ENDPOINT_URL", "http://127.0.0.1:9")
    assert run(SMOKE) == {"error": "bucket upload is half configured: BUCKET_ENDPOINT_URL set but "
                                   "BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY missing; set all three "
                                   "BUCKET_* variables or none"}
    assert worker.prompts == []


def test_unreachable_comfyui_fails_at_once_and_refreshes_the_worker(worker, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("COMFYUI_URL", url)
    result = run(SMOKE)
    assert result["error"] == f"ComfyUI is not reachable at {url}: [Errno 111] Connection refused"
    assert result["stopPod"] is True


def test_outputs_are_fetched_through_view_when_comfyui_is_on_another_machine(worker, monkeypatch, tmp_path,
                                                                            comfy_dirs):
    monkeypatch.setenv("COMFYUI_OUTPUT_DIR", str(tmp_path / "not-this-machine"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    made = []
    real_mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(real_mkdtemp(dir=scratch, **kw)) or made[-1])
    output = run(SMOKE)["output"]
    assert base64.b64decode(output["video"]).startswith(MP4_HEADER)
    assert len(made) == 1 and list(scratch.iterdir()) == [], "the fetched copy's folder is removed with the job"
    left = files_under(comfy_dirs[1])
    assert len(left) == 1, "a remote ComfyUI's output cannot be deleted by the worker"
    (comfy_dirs[1] / left[0]).unlink()


def test_an_unexpected_exception_is_one_line_and_files_are_still_removed(worker, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(job, "deliver", explode)
    assert run(SMOKE) == {"error": "internal worker error: RuntimeError: boom"}


def test_job_ids_are_file_name_safe_unique_and_long_enough_to_match_files_safely():
    ids = {job.make_job_id("sync-12/../x y*") for _ in range(3)}
    assert len(ids) == 3 and all(i.startswith("sync-12xy-") and len(i) == 22 for i in ids)
    assert len(job.make_job_id(None)) == 32
    with pytest.raises(ValueError):
        remove_job_files("short", ["/"])


def test_the_readiness_check_waits_for_comfyui_and_gives_up_after_the_readiness_wait(worker, monkeypatch):
    asyncio.run(job.wait_for_comfyui())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("COMFYUI_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
    monkeypatch.setenv("COMFYUI_READY_TIMEOUT_S", "0.3")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="did not answer .* within 0.3 s \\(COMFYUI_READY_TIMEOUT_S\\)"):
        asyncio.run(job.wait_for_comfyui())
    assert time.monotonic() - started < 2
    monkeypatch.setenv("JOB_TIMEOUT_S", "never")
    assert asyncio.run(job.wait_for_comfyui()) is None  # a configuration error is left for the jobs to report
