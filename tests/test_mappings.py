"""The shipped spec (spec/mappings.yaml): the LTX-2 request contract, end to end through render."""

import pytest

from engine import RequestError, load_spec
from engine.graph import is_link

RUNTIME = {"job_id": "t", "random_seed": 424242, "input_image": "job-t.png"}
IMAGE = {"type": "i2v", "image_url": "https://example.com/a.png"}


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def render(spec, **request):
    return spec.render(spec.prepare(request), RUNTIME)


def resolve(graph, value):
    """Follow a link to a Primitive* node's literal value."""
    while is_link(value):
        value = graph[value[0]]["inputs"]["value"]
    return value


def nodes(graph, class_type):
    return [n for n in graph.values() if n["class_type"] == class_type]


@pytest.mark.parametrize(
    ("extra", "workflow"),
    [({}, "ltx2-t2v-fast"), ({"mode": "pro"}, "ltx2-t2v-pro"), (IMAGE, "ltx2-i2v-fast"), ({**IMAGE, "mode": "pro"}, "ltx2-i2v-pro")],
)
def test_type_and_mode_select_the_workflow(spec, extra, workflow):
    assert render(spec, prompt="p", **extra).workflow == workflow


def test_defaults_are_1280x704_241_frames_24_fps(spec):
    meta = render(spec, prompt="p").metadata
    assert (meta["width"], meta["height"], meta["frames"], meta["fps"], meta["duration_s"]) == (1280, 704, 241, 24, 10.0)


@pytest.mark.parametrize(("duration", "frames"), [(10, 241), (15, 361), (20, 481)])
def test_frames_are_8n_plus_1_for_every_duration(spec, duration, frames):
    assert render(spec, prompt="p", duration=duration).metadata["frames"] == frames and (frames - 1) % 8 == 0


@pytest.mark.parametrize(("request_size", "effective"), [({"resolution": "1080p"}, (1920, 1088)), ({"width": 1000, "height": 600}, (1024, 576)), ({"width": 736, "height": 800}, (768, 832))])
def test_sizes_snap_to_the_nearest_multiple_of_64(spec, request_size, effective):
    meta = render(spec, prompt="p", **request_size).metadata
    assert (meta["width"], meta["height"]) == effective


@pytest.mark.parametrize("extra", [{}, {"mode": "pro"}, IMAGE, {**IMAGE, "mode": "pro"}])
def test_frame_rate_and_length_agree_everywhere(spec, extra):
    graph = render(spec, prompt="p", duration=15, **extra).graph
    rates = [resolve(graph, n["inputs"]["frame_rate"]) for n in nodes(graph, "LTXVConditioning") + nodes(graph, "LTXVEmptyLatentAudio")]
    rates += [resolve(graph, n["inputs"]["fps"]) for n in nodes(graph, "CreateVideo")]
    lengths = [resolve(graph, n["inputs"]["frames_number"]) for n in nodes(graph, "LTXVEmptyLatentAudio")]
    lengths += [resolve(graph, n["inputs"]["length"]) for n in nodes(graph, "EmptyLTXVLatentVideo")]
    assert set(rates) == {24} and len(rates) == 3 and set(lengths) == {361}


def test_absent_seed_uses_the_runtime_random_seed_and_reports_it(spec):
    rendered = render(spec, prompt="p")
    assert rendered.metadata["seed"] == 424242
    assert 424242 in [n["inputs"]["noise_seed"] for n in nodes(rendered.graph, "RandomNoise")]


def test_given_seed_is_used(spec):
    assert render(spec, prompt="p", seed=5).metadata["seed"] == 5


@pytest.mark.parametrize("extra", [{}, {"mode": "pro"}, IMAGE, {**IMAGE, "mode": "pro"}])
def test_camera_lora_goes_into_every_camera_node(spec, extra):
    graph = render(spec, prompt="p", camera_lora="dolly_in", camera_lora_strength=0.5, **extra).graph
    cameras = [n for n in nodes(graph, "LoraLoaderModelOnly") if "camera-control" in n["inputs"]["lora_name"]]
    assert cameras and {(n["inputs"]["lora_name"], n["inputs"]["strength_model"]) for n in cameras} == {
        ("ltx-2-19b-lora-camera-control-dolly-in.safetensors", 0.5)
    }
    assert len(cameras) == (2 if extra.get("mode") == "pro" else 1)


@pytest.mark.parametrize("extra", [{}, {"mode": "pro"}, IMAGE, {**IMAGE, "mode": "pro"}])
def test_camera_none_leaves_no_camera_lora_and_no_dangling_link(spec, extra):
    graph = render(spec, prompt="p", camera_lora="none", **extra).graph
    assert not [n for n in nodes(graph, "LoraLoaderModelOnly") if "camera-control" in n["inputs"]["lora_name"]]
    links = [v for n in graph.values() for v in n["inputs"].values() if is_link(v)]
    assert all(link[0] in graph for link in links)


def test_pro_keeps_the_distilled_lora_when_camera_is_none(spec):
    graph = render(spec, prompt="p", mode="pro", camera_lora="none").graph
    assert [n["inputs"]["lora_name"] for n in nodes(graph, "LoraLoaderModelOnly")] == ["ltx-2-19b-distilled-lora-384.safetensors"]


def test_uploaded_image_name_reaches_load_image(spec):
    graph = render(spec, prompt="p", **IMAGE).graph
    assert [n["inputs"]["image"] for n in nodes(graph, "LoadImage")] == ["job-t.png"]


def test_negative_prompt_replaces_the_pro_default(spec):
    graph = render(spec, prompt="p", mode="pro", negative_prompt="no text").graph
    assert sorted(n["inputs"]["text"] for n in nodes(graph, "CLIPTextEncode")) == ["no text", "p"]


def test_prompt_with_template_syntax_reaches_the_graph_literally(spec):
    prompt = "{{ 7*7 }} {% for x in y %} ${x}"
    graph = render(spec, prompt=prompt, mode="pro").graph
    assert prompt in [n["inputs"]["text"] for n in nodes(graph, "CLIPTextEncode")]


def test_output_prefix_is_unique_per_job(spec):
    graph = render(spec, prompt="p").graph
    assert [n["inputs"]["filename_prefix"] for n in nodes(graph, "SaveVideo")] == ["ltx2/t"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({}, "prompt: is required"),
        ({"prompt": " \n"}, "prompt: must be a non-blank string (at most 20000 characters)"),
        ({"prompt": "p", "duration": 12}, "duration: 12 is not one of [10, 15, 20]"),
        ({"prompt": "p", "image_url": "https://x/a.png"}, "image_url: only image-to-video takes an image: set type to i2v"),
        ({"prompt": "p", "type": "i2v"}, "image_url/image_base64: give exactly one of image_url or image_base64"),
        ({"prompt": "p", **IMAGE, "image_base64": "AAAA"}, "image_url/image_base64: give exactly one of image_url or image_base64"),
        ({"prompt": "p", "type": "i2v", "image_url": "file:///etc/passwd"}, "image_url: must be an http:// or https:// URL"),
        ({"prompt": "p", "resolution": "720p", "height": 720}, "resolution + height: give resolution or width/height, not both"),
        ({"prompt": "p", "mode": "turbo"}, "mode: 'turbo' is not one of ['fast', 'pro']"),
        ({"prompt": "p", "camera_lora": "zoom"}, "camera_lora: 'zoom' is not one of ['static', 'dolly_in', 'dolly_out', 'dolly_left', 'dolly_right', 'jib_up', 'jib_down', 'none']"),
        ({"prompt": "p", "seed": 2**64}, "seed: 18446744073709551616 is greater than the maximum of 18446744073709551615"),
        ({"prompt": "p", "workflow": "ltx2-t2v-fast", "mode": "pro"}, "mode: must be 'fast' for workflow ltx2-t2v-fast (or omit it)"),
        ({"prompt": "p", "width": 100}, "width: 100 is less than the minimum of 256"),
    ],
)
def test_bad_requests_get_one_clear_error(spec, request_, message):
    with pytest.raises(RequestError) as info:
        spec.prepare(request_)
    assert str(info.value) == message


def test_negative_prompt_is_refused_where_the_graph_has_none(spec):
    with pytest.raises(RequestError, match=r"^negative_prompt: unknown field for workflow ltx2-t2v-fast \(allowed: "):
        spec.prepare({"prompt": "p", "negative_prompt": "x"})
