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
    assert sorted(resolve(graph, n["inputs"]["text"]) for n in nodes(graph, "CLIPTextEncode")) == ["no text", "p"]


def test_prompt_with_template_syntax_reaches_the_graph_literally(spec):
    prompt = "{{ 7*7 }} {% for x in y %} ${x}"
    graph = render(spec, prompt=prompt, mode="pro").graph
    assert prompt in [resolve(graph, n["inputs"]["text"]) for n in nodes(graph, "CLIPTextEncode")]


WORKFLOWS = [({}, "ltx2-t2v-fast"), ({"mode": "pro"}, "ltx2-t2v-pro"), (IMAGE, "ltx2-i2v-fast"),
             ({**IMAGE, "mode": "pro"}, "ltx2-i2v-pro")]
POSITIVE = {"ltx2-t2v-fast": "177:102", "ltx2-t2v-pro": "92:3", "ltx2-i2v-fast": "92:3", "ltx2-i2v-pro": "92:3"}
"""The CLIPTextEncode that encodes the prompt, per workflow."""
GENERATOR, PREVIEW = "900", "901"


@pytest.mark.parametrize(("extra", "workflow"), WORKFLOWS)
def test_enhancement_sends_the_prompt_through_the_generator_into_the_text_encoder(spec, extra, workflow):
    graph = render(spec, prompt="a fox", enhance_prompt=True, **extra).graph
    generator = graph[GENERATOR]
    assert graph[POSITIVE[workflow]]["inputs"]["text"] == [GENERATOR, 0]
    assert generator["class_type"] == "TextGenerateLTX2Prompt"
    assert resolve(graph, generator["inputs"]["prompt"]) == "a fox"


@pytest.mark.parametrize(("extra", "workflow"), WORKFLOWS)
def test_generator_uses_the_workflows_own_gemma_text_encoder(spec, extra, workflow):
    graph = render(spec, prompt="p", enhance_prompt=True, **extra).graph
    clip = graph[GENERATOR]["inputs"]["clip"]
    assert graph[clip[0]]["class_type"] == "LTXAVTextEncoderLoader"
    assert clip == graph[POSITIVE[workflow]]["inputs"]["clip"]


@pytest.mark.parametrize("extra", [IMAGE, {**IMAGE, "mode": "pro"}])
def test_i2v_generator_sees_the_first_frame_as_the_video_gets_it(spec, extra):
    graph = render(spec, prompt="p", enhance_prompt=True, **extra).graph
    image = graph[GENERATOR]["inputs"]["image"]
    resize = graph[image[0]]
    assert resize["class_type"] == "ResizeImageMaskNode"
    assert graph[resize["inputs"]["input"][0]]["class_type"] == "LoadImage"
    assert (resize["inputs"]["resize_type.width"], resize["inputs"]["resize_type.height"]) == (1280, 704)


@pytest.mark.parametrize("extra", [{}, {"mode": "pro"}])
def test_t2v_generator_gets_no_image(spec, extra):
    assert "image" not in render(spec, prompt="p", enhance_prompt=True, **extra).graph[GENERATOR]["inputs"]


@pytest.mark.parametrize(("extra", "workflow"), WORKFLOWS)
def test_without_enhancement_no_generator_or_preview_is_in_the_graph(spec, extra, workflow):
    graph = render(spec, prompt="p", enhance_max_length=1024, **extra).graph
    assert not nodes(graph, "TextGenerateLTX2Prompt") and not nodes(graph, "PreviewAny")


@pytest.mark.parametrize(("extra", "workflow"), WORKFLOWS)
def test_without_enhancement_the_prompt_goes_straight_to_the_text_encoder(spec, extra, workflow):
    graph = render(spec, prompt="a fox", **extra).graph
    text = graph[POSITIVE[workflow]]["inputs"]["text"]
    assert graph[text[0]]["class_type"] == "PrimitiveStringMultiline" and resolve(graph, text) == "a fox"


@pytest.mark.parametrize(("extra", "workflow"), WORKFLOWS)
def test_enhanced_prompt_output_is_the_preview_of_the_generator(spec, extra, workflow):
    rendered = render(spec, prompt="p", enhance_prompt=True, **extra)
    preview = rendered.graph[rendered.outputs["enhanced_prompt"]]
    assert preview["class_type"] == "PreviewAny" and preview["inputs"]["source"] == [GENERATOR, 0]


def test_without_enhancement_the_enhanced_prompt_output_node_is_gone(spec):
    rendered = render(spec, prompt="p")
    preview = spec.workflows[rendered.workflow].outputs["enhanced_prompt"].node
    assert preview not in rendered.graph and "enhanced_prompt" not in rendered.outputs


@pytest.mark.parametrize("extra", [{}, {"mode": "pro"}, IMAGE, {**IMAGE, "mode": "pro"}])
def test_generator_samples_with_the_request_seed(spec, extra):
    graph = render(spec, prompt="p", enhance_prompt=True, seed=2**64 - 1, **extra).graph
    assert graph[GENERATOR]["inputs"]["sampling_mode"] == "on"
    assert graph[GENERATOR]["inputs"]["sampling_mode.seed"] == 2**64 - 1
    assert [n["inputs"]["noise_seed"] for n in nodes(graph, "RandomNoise")].count(2**64 - 1) == 1


def test_generator_samples_with_the_reported_random_seed_when_none_is_given(spec):
    rendered = render(spec, prompt="p", enhance_prompt=True)
    assert rendered.graph[GENERATOR]["inputs"]["sampling_mode.seed"] == rendered.metadata["seed"] == 424242


def test_same_request_and_seed_render_the_same_generator(spec):
    first = render(spec, prompt="p", enhance_prompt=True, seed=9, **IMAGE).graph
    second = spec.render(spec.prepare({"prompt": "p", "enhance_prompt": True, "seed": 9, **IMAGE}),
                         {**RUNTIME, "random_seed": 1}).graph
    assert first[GENERATOR] == second[GENERATOR]


@pytest.mark.parametrize(("request_", "max_length"),
                         [({}, 512), ({"enhance_max_length": 64}, 64), ({"enhance_max_length": 2048}, 2048)])
def test_enhance_max_length_reaches_the_generator(spec, request_, max_length):
    graph = render(spec, prompt="p", enhance_prompt=True, **request_).graph
    assert graph[GENERATOR]["inputs"]["max_length"] == max_length


def test_enhance_prompt_is_reported(spec):
    assert render(spec, prompt="p").metadata["enhance_prompt"] is False
    assert render(spec, prompt="p", enhance_prompt=True).metadata["enhance_prompt"] is True


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
        ({"prompt": "p", "mode": "turbo"}, 'mode: "turbo" is not one of ["fast", "pro"]'),
        ({"prompt": "p", "camera_lora": "zoom"}, 'camera_lora: "zoom" is not one of ["static", "dolly_in", "dolly_out", "dolly_left", "dolly_right", "jib_up", "jib_down", "none"]'),
        ({"prompt": "p", "seed": 2**64}, "seed: 18446744073709551616 is greater than the maximum of 18446744073709551615"),
        ({"prompt": "p", "workflow": "ltx2-t2v-fast", "mode": "pro"}, "mode: must be 'fast' for workflow ltx2-t2v-fast (or omit it)"),
        ({"prompt": "p", "width": 100}, "width: 100 is less than the minimum of 256"),
        ({"prompt": "p", "enhance_prompt": "true"}, 'enhance_prompt: "true" is not of type "boolean"'),
        ({"prompt": "p", "enhance_max_length": 63}, "enhance_max_length: 63 is less than the minimum of 64"),
        ({"prompt": "p", "enhance_max_length": 2049}, "enhance_max_length: 2049 is greater than the maximum of 2048"),
    ],
)
def test_bad_requests_get_one_clear_error(spec, request_, message):
    with pytest.raises(RequestError) as info:
        spec.prepare(request_)
    assert str(info.value) == message


def test_negative_prompt_is_refused_where_the_graph_has_none(spec):
    with pytest.raises(RequestError, match=r"^negative_prompt: unknown field for workflow ltx2-t2v-fast \(allowed: "):
        spec.prepare({"prompt": "p", "negative_prompt": "x"})
