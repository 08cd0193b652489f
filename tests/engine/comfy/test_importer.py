"""The UI-format -> API-format importer, on the official LTX-2 files and on small synthetic workflows."""

from __future__ import annotations

import copy
import importlib.util
import json
import re

import jsonpatch
import pytest

from engine.comfy.catalog import graph_problems
from engine.comfy.importer import WorkflowImportError, convert, dumps
from tests.support import ROOT

CATALOG = json.loads((ROOT / "spec" / "object_info.json").read_text(encoding="utf-8"))


def _load_regenerate():
    """templates/regenerate.py as a module (it is a script, not part of a package)."""
    spec = importlib.util.spec_from_file_location("regenerate", ROOT / "templates" / "regenerate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REGENERATE = _load_regenerate()
RECIPE = REGENERATE.load_recipe()
TEMPLATES = RECIPE["templates"]


# --- small UI-format builders -------------------------------------------------------------------

def slot(name: str, type_: str, link: int | None = None, widget: bool = False) -> dict:
    """A node input as the editor saves it; ``widget`` marks an input that also has a widget."""
    saved = {"name": name, "type": type_, "link": link}
    if widget:
        saved["widget"] = {"name": name}
    return saved


def out(name: str, type_: str) -> dict:
    """A node output."""
    return {"name": name, "type": type_, "links": []}


def node(node_id: int, type_: str, widgets: list | None = None, inputs: list = (), outputs: list = (),
         mode: int = 0, title: str | None = None) -> dict:
    """A UI node."""
    saved = {"id": node_id, "type": type_, "mode": mode, "inputs": list(inputs), "outputs": list(outputs),
             "widgets_values": widgets if widgets is not None else []}
    if title is not None:
        saved["title"] = title
    return saved


def workflow(nodes: list, links: list, subgraphs: list = ()) -> dict:
    """A root graph; links are [id, origin, origin_slot, target, target_slot, type]."""
    return {"nodes": nodes, "links": links, "definitions": {"subgraphs": list(subgraphs)}}


def subgraph(sg_id: str, inputs: list, outputs: list, nodes: list, links: list) -> dict:
    """A subgraph definition; inputs/outputs are (name, type, link ids); links in the dict form."""
    keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
    return {
        "id": sg_id, "name": sg_id,
        "inputs": [{"name": n, "type": t, "linkIds": ids} for n, t, ids in inputs],
        "outputs": [{"name": n, "type": t, "linkIds": ids} for n, t, ids in outputs],
        "nodes": nodes, "links": [dict(zip(keys, link)) for link in links],
    }


def checkpoint(node_id: int) -> dict:
    """A CheckpointLoaderSimple with its three outputs."""
    return node(node_id, "CheckpointLoaderSimple", ["model.safetensors"],
                outputs=[out("MODEL", "MODEL"), out("CLIP", "CLIP"), out("VAE", "VAE")])


# --- catalogue checks for the generated templates ------------------------------------------------

def catalogue_problems(graph: dict) -> list[str]:
    """Every problem ComfyUI's /prompt validation would find offline (model files are lint's job)."""
    return list(graph_problems(graph, CATALOG, lambda class_type, name, value: None))


# --- the committed templates ---------------------------------------------------------------------

@pytest.mark.parametrize("entry", TEMPLATES, ids=lambda e: e["output"])
def test_committed_template_is_the_conversion_of_its_official_file_plus_the_recipe_patch(entry):
    catalog = REGENERATE.recipe_catalog(RECIPE)
    ui = json.loads((ROOT / entry["source"]).read_text(encoding="utf-8"))
    expected = jsonpatch.apply_patch(convert(ui, catalog, entry["enable"]), copy.deepcopy(entry.get("add") or []))
    assert (ROOT / entry["output"]).read_text(encoding="utf-8") == dumps(expected)


@pytest.mark.parametrize("entry", TEMPLATES, ids=lambda e: e["output"])
def test_recipe_patch_keeps_every_official_node_and_only_adds_ids_from_900(entry):
    catalog = REGENERATE.recipe_catalog(RECIPE)
    ui = json.loads((ROOT / entry["source"]).read_text(encoding="utf-8"))
    official = convert(ui, catalog, entry["enable"])
    graph = REGENERATE.build(entry, catalog)
    assert set(official) <= set(graph) and all(int(i) >= 900 for i in set(graph) - set(official))
    assert [graph[i]["class_type"] for i in official] == [official[i]["class_type"] for i in official]


def test_recipe_patch_that_no_longer_fits_its_source_names_the_template():
    entry = {**TEMPLATES[0], "add": [{"op": "test", "path": "/177:102/class_type", "value": "KSampler"}]}
    with pytest.raises(REGENERATE.RecipeError, match=r"^templates/ltx2-t2v-fast.json: the add patch does not fit"):
        REGENERATE.build(entry, REGENERATE.recipe_catalog(RECIPE))


def test_recipe_patch_shared_between_entries_is_not_changed_by_building():
    entry = next(e for e in TEMPLATES if e["output"].endswith("i2v-fast.json"))
    before = json.dumps(entry["add"])
    REGENERATE.build(entry, REGENERATE.recipe_catalog(RECIPE))
    assert json.dumps(entry["add"]) == before


@pytest.mark.parametrize("entry", TEMPLATES, ids=lambda e: e["output"])
def test_committed_template_passes_the_catalogue_checks(entry):
    graph = json.loads((ROOT / entry["output"]).read_text(encoding="utf-8"))
    assert catalogue_problems(graph) == []


@pytest.mark.parametrize("entry", TEMPLATES, ids=lambda e: e["output"])
def test_committed_template_has_every_enabled_camera_lora_on(entry):
    graph = json.loads((ROOT / entry["output"]).read_text(encoding="utf-8"))
    assert [graph[i]["inputs"]["lora_name"] for i in entry["enable"]] == \
        ["ltx-2-19b-lora-camera-control-dolly-left.safetensors"] * len(entry["enable"])


def test_dynamic_combo_sub_inputs_take_values_in_definition_order():
    ui = workflow([node(1, "ResizeImageMaskNode", ["scale dimensions", 1280, 720, "center", "lanczos"],
                        inputs=[slot("input", "IMAGE,MASK")])], [])
    inputs = convert(ui, CATALOG)["1"]["inputs"]
    assert (inputs["resize_type.width"], inputs["resize_type.height"], inputs["resize_type.crop"]) == (1280, 720, "center")


def test_key_sorted_catalogue_misassigns_dynamic_combo_values_with_a_warning(caplog):
    catalog = json.loads(json.dumps(CATALOG, sort_keys=True))
    ui = workflow([node(1, "ResizeImageMaskNode", ["scale dimensions", 1280, 720, "center", "lanczos"],
                        inputs=[slot("input", "IMAGE,MASK")])], [])
    convert(ui, catalog)
    assert re.search(r"node 1 \(ResizeImageMaskNode\): widget value 'center' does not fit input "
                     r"'resize_type.width' \(INT\)", caplog.text)


# --- synthetic workflows -------------------------------------------------------------------------

def test_subgraph_nodes_get_instance_path_ids_through_nested_subgraphs():
    inner = subgraph("inner", [("image", "IMAGE", [21])], [("IMAGE", "IMAGE", [22])],
                     [node(7, "ImageInvert", inputs=[slot("image", "IMAGE", 21)], outputs=[out("IMAGE", "IMAGE")])],
                     [[21, -10, 0, 7, 0, "IMAGE"], [22, 7, 0, -20, 0, "IMAGE"]])
    outer = subgraph("outer", [], [("IMAGE", "IMAGE", [12])],
                     [node(2, "EmptyImage", [64, 64, 1, 0], outputs=[out("IMAGE", "IMAGE")]),
                      node(3, "inner", inputs=[slot("image", "IMAGE", 11)], outputs=[out("IMAGE", "IMAGE")])],
                     [[11, 2, 0, 3, 0, "IMAGE"], [12, 3, 0, -20, 0, "IMAGE"]])
    ui = workflow([node(5, "outer", outputs=[out("IMAGE", "IMAGE")]),
                   node(9, "PreviewImage", inputs=[slot("images", "IMAGE", 1)])],
                  [[1, 5, 0, 9, 0, "IMAGE"]], [outer, inner])
    graph = convert(ui, CATALOG)
    assert list(graph) == ["5:2", "5:3:7", "9"]
    assert graph["5:3:7"]["inputs"] == {"image": ["5:2", 0]}
    assert graph["9"]["inputs"] == {"images": ["5:3:7", 0]}


def test_unconnected_promoted_input_exports_the_inner_widget_value_not_the_instances_saved_value():
    """1.45.20 shows the inner widget on the instance: mixed.api.json exports the inner seed 42, not
    the 123456789 the instance saved (test_importer_frontend.py)."""
    sg = subgraph("sg", [("width", "INT", [31]), ("image", "IMAGE", [33]), ("height", "INT", [32])], [],
                  [node(2, "EmptyImage", [1280, 720, 1, 0],
                        inputs=[slot("width", "INT", 31, widget=True), slot("height", "INT", 32, widget=True)]),
                   node(4, "PreviewImage", inputs=[slot("images", "IMAGE", 33)])],
                  [[31, -10, 0, 2, 0, "INT"], [32, -10, 2, 2, 1, "INT"], [33, -10, 1, 4, 0, "IMAGE"]])
    ui = workflow([node(5, "sg", [640, 480], inputs=[slot("image", "IMAGE", None)])], [], [sg])
    assert convert(ui, CATALOG)["5:2"]["inputs"] == {"width": 1280, "height": 720, "batch_size": 1, "color": 0}


def test_outer_link_into_an_instance_wins_over_its_promoted_value():
    sg = subgraph("sg", [("width", "INT", [31])], [],
                  [node(2, "EmptyImage", [1280, 720, 1, 0], inputs=[slot("width", "INT", 31, widget=True)])],
                  [[31, -10, 0, 2, 0, "INT"]])
    ui = workflow([node(1, "PrimitiveInt", [96, "fixed"], outputs=[out("INT", "INT")]),
                   node(5, "sg", [640], inputs=[slot("width", "INT", 1, widget=True)])],
                  [[1, 1, 0, 5, 0, "INT"]], [sg])
    assert convert(ui, CATALOG)["5:2"]["inputs"]["width"] == ["1", 0]


def test_bypassed_node_passes_the_input_in_the_same_slot_first():
    ui = workflow([node(1, "CLIPTextEncode", ["positive"], inputs=[slot("clip", "CLIP")],
                        outputs=[out("CONDITIONING", "CONDITIONING")]),
                   node(2, "CLIPTextEncode", ["negative"], inputs=[slot("clip", "CLIP")],
                        outputs=[out("CONDITIONING", "CONDITIONING")]),
                   node(3, "LTXVCropGuides", mode=4,
                        inputs=[slot("positive", "CONDITIONING", 1), slot("negative", "CONDITIONING", 2),
                                slot("latent", "LATENT")],
                        outputs=[out("positive", "CONDITIONING"), out("negative", "CONDITIONING"),
                                 out("latent", "LATENT")]),
                   node(4, "ConditioningZeroOut", inputs=[slot("conditioning", "CONDITIONING", 3)])],
                  [[1, 1, 0, 3, 0, "CONDITIONING"], [2, 2, 0, 3, 1, "CONDITIONING"],
                   [3, 3, 1, 4, 0, "CONDITIONING"]])
    graph = convert(ui, CATALOG)
    assert "3" not in graph
    assert graph["4"]["inputs"] == {"conditioning": ["2", 0]}


def test_bypassed_node_falls_back_to_its_first_input_of_the_matching_type():
    ui = workflow([node(1, "EmptyLatentImage", [64, 64, 1], outputs=[out("LATENT", "LATENT")]),
                   node(2, "LTXVSeparateAVLatent", mode=4, inputs=[slot("av_latent", "LATENT", 1)],
                        outputs=[out("video_latent", "LATENT"), out("audio_latent", "LATENT")]),
                   node(3, "LTXVConcatAVLatent", inputs=[slot("video_latent", "LATENT", 2),
                                                         slot("audio_latent", "LATENT", 3)])],
                  [[1, 1, 0, 2, 0, "LATENT"], [2, 2, 1, 3, 0, "LATENT"], [3, 2, 0, 3, 1, "LATENT"]])
    assert convert(ui, CATALOG)["3"]["inputs"] == {"video_latent": ["1", 0], "audio_latent": ["1", 0]}


def test_muted_node_is_dropped_and_so_is_every_link_from_it():
    ui = workflow([node(1, "EmptyImage", [64, 64, 1, 0], mode=2, outputs=[out("IMAGE", "IMAGE")]),
                   node(3, "ImageScaleBy", ["area", 0.5], inputs=[slot("image", "IMAGE", 1)])],
                  [[1, 1, 0, 3, 0, "IMAGE"]])
    graph = convert(ui, CATALOG)
    assert list(graph) == ["3"]
    assert graph["3"]["inputs"] == {"upscale_method": "area", "scale_by": 0.5}


def test_widget_input_linked_to_a_muted_node_keeps_its_widget_value():
    ui = workflow([node(2, "PrimitiveInt", [96, "fixed"], mode=2, outputs=[out("INT", "INT")]),
                   node(4, "EmptyImage", [512, 384, 1, 0], inputs=[slot("width", "INT", 2, widget=True)])],
                  [[2, 2, 0, 4, 0, "INT"]])
    assert convert(ui, CATALOG)["4"]["inputs"] == {"width": 512, "height": 384, "batch_size": 1, "color": 0}


def test_reroutes_are_followed_to_the_real_source():
    ui = workflow([checkpoint(1),
                   node(2, "Reroute", inputs=[slot("", "*", 1)], outputs=[out("", "VAE")]),
                   node(3, "Reroute", inputs=[slot("", "*", 2)], outputs=[out("", "VAE")]),
                   node(4, "VAEDecode", inputs=[slot("samples", "LATENT"), slot("vae", "VAE", 3)])],
                  [[1, 1, 2, 2, 0, "VAE"], [2, 2, 0, 3, 0, "VAE"], [3, 3, 0, 4, 1, "VAE"]])
    graph = convert(ui, CATALOG)
    assert list(graph) == ["1", "4"]
    assert graph["4"]["inputs"] == {"vae": ["1", 2]}


def test_primitive_node_value_goes_into_the_inputs_it_feeds_and_the_node_is_dropped():
    ui = workflow([node(1, "PrimitiveNode", [768, "fixed"], outputs=[out("INT", "INT")]),
                   node(2, "EmptyImage", [512, 512, 1, 0], inputs=[slot("width", "INT", 1, widget=True)]),
                   node(3, "EmptyLatentImage", [512, 512, 1], inputs=[slot("width", "INT", 2, widget=True)])],
                  [[1, 1, 0, 2, 0, "INT"], [2, 1, 0, 3, 0, "INT"]])
    graph = convert(ui, CATALOG)
    assert list(graph) == ["2", "3"]
    assert (graph["2"]["inputs"]["width"], graph["3"]["inputs"]["width"]) == (768, 768)


def test_notes_are_dropped():
    ui = workflow([node(1, "Note", ["read me"]), node(2, "MarkdownNote", ["# read me"]),
                   node(3, "EmptyImage", [64, 64, 1, 0])], [])
    assert list(convert(ui, CATALOG)) == ["3"]


def test_control_after_generate_values_are_skipped():
    ui = workflow([node(1, "KSampler", [7, "randomize", 20, 4.0, "euler", "simple", 1.0]),
                   node(2, "PrimitiveInt", [121, "fixed"])], [])
    graph = convert(ui, CATALOG)
    assert graph["1"]["inputs"] == {"seed": 7, "steps": 20, "cfg": 4.0, "sampler_name": "euler",
                                    "scheduler": "simple", "denoise": 1.0}
    assert graph["2"]["inputs"] == {"value": 121}


def test_linked_widget_input_still_takes_its_place_in_widgets_values():
    ui = workflow([node(1, "PrimitiveInt", [96, "fixed"], outputs=[out("INT", "INT")]),
                   node(2, "EmptyImage", [1280, 720, 1, 0], inputs=[slot("width", "INT", 1, widget=True)])],
                  [[1, 1, 0, 2, 0, "INT"]])
    assert convert(ui, CATALOG)["2"]["inputs"] == {"width": ["1", 0], "height": 720, "batch_size": 1, "color": 0}


def test_upload_button_value_is_skipped():
    ui = workflow([node(1, "LoadImage", ["girl.png", "image"])], [])
    assert convert(ui, CATALOG)["1"]["inputs"] == {"image": "girl.png"}


def test_dynamic_combo_option_inputs_become_dotted_names():
    ui = workflow([node(1, "ResizeImageMaskNode", ["scale longer dimension", 1536, "lanczos"])], [])
    assert convert(ui, CATALOG)["1"]["inputs"] == {
        "resize_type": "scale longer dimension", "resize_type.longer_size": 1536, "scale_method": "lanczos"}


def test_list_values_are_wrapped_so_they_are_not_read_as_links():
    catalog = {**CATALOG, "TagPicker": {
        "input": {"required": {"tags": ["COMBO", {"multiselect": True, "options": ["a", "b", "c"]}]}},
        "input_order": {"required": ["tags"]}, "output": ["STRING"], "display_name": "Tag Picker"}}
    ui = workflow([node(1, "TagPicker", [["a", "c"]])], [])
    assert convert(ui, catalog)["1"]["inputs"] == {"tags": {"__value__": ["a", "c"]}}


def test_unknown_class_raises_naming_the_node_and_class():
    sg = subgraph("sg", [], [], [node(4, "NoSuchNode", [1])], [])
    ui = workflow([node(9, "sg")], [], [sg])
    with pytest.raises(WorkflowImportError, match=r"node 9:4 \(NoSuchNode\): class is not in the node catalogue"):
        convert(ui, CATALOG)


def test_subgraph_that_contains_itself_raises():
    sg = subgraph("loop", [], [], [node(4, "loop")], [])
    with pytest.raises(WorkflowImportError, match=r"node 9:4: subgraph loop contains itself"):
        convert(workflow([node(9, "loop")], [], [sg]), CATALOG)


def test_missing_trailing_widget_values_take_the_catalogue_default(caplog):
    """As edges.api.json shows: the frontend keeps a new widget's default where no value was saved."""
    ui = workflow([node(3, "EmptyImage", [64, 48])], [])
    assert convert(ui, CATALOG)["3"]["inputs"] == {"width": 64, "height": 48, "batch_size": 1, "color": 0}
    assert "node 3 (EmptyImage): no saved value for 'batch_size', 'color'; the catalogue default is used" in caplog.text


def test_widget_value_of_the_wrong_type_is_kept_like_the_frontend_keeps_it(caplog):
    ui = workflow([node(3, "EmptyImage", [64, "wide", 1, 0])], [])
    assert convert(ui, CATALOG)["3"]["inputs"]["height"] == "wide"
    assert "node 3 (EmptyImage): widget value 'wide' does not fit input 'height' (INT)" in caplog.text


def test_dynamic_combo_value_that_is_not_an_option_has_no_sub_inputs_and_the_next_value_moves_up():
    """As edges.api.json shows: no option, no sub-widgets, so 1280 lands in scale_method."""
    ui = workflow([node(1, "ResizeImageMaskNode", ["scale sideways", 1280, "lanczos"],
                        inputs=[slot("input", "IMAGE,MASK")])], [])
    assert convert(ui, CATALOG)["1"]["inputs"] == {"resize_type": "scale sideways", "scale_method": 1280}


def test_surplus_widget_values_from_a_newer_node_are_ignored():
    ui = workflow([node(1, "CreateVideo", [25, 8, "sRGB", "none"], inputs=[slot("images", "IMAGE")])], [])
    assert convert(ui, CATALOG)["1"]["inputs"] == {"fps": 25, "bit_depth": 8}


def test_enable_turns_a_bypassed_node_inside_a_subgraph_back_on():
    sg = subgraph("sg", [], [], [checkpoint(1),
                                 node(2, "LoraLoaderModelOnly", ["camera.safetensors", 1], mode=4,
                                      inputs=[slot("model", "MODEL", 41)], outputs=[out("MODEL", "MODEL")]),
                                 node(3, "CFGGuider", [1], inputs=[slot("model", "MODEL", 42)])],
                  [[41, 1, 0, 2, 0, "MODEL"], [42, 2, 0, 3, 0, "MODEL"]])
    ui = workflow([node(6, "sg")], [], [sg])
    assert convert(ui, CATALOG)["6:3"]["inputs"]["model"] == ["6:1", 0]
    assert convert(ui, CATALOG, enable=["6:2"])["6:3"]["inputs"]["model"] == ["6:2", 0]


def test_enable_refuses_a_node_that_is_already_on():
    ui = workflow([node(1, "EmptyImage", [64, 64, 1, 0])], [])
    with pytest.raises(WorkflowImportError, match=r"enable: node 1 \(EmptyImage\) is not bypassed or muted"):
        convert(ui, CATALOG, enable=["1"])


def test_title_is_the_node_title_else_the_display_name_else_the_frontend_name_else_the_class():
    ui = workflow([node(1, "EmptyImage", [64, 64, 1, 0], title="Canvas"), node(2, "EmptyImage", [64, 64, 1, 0]),
                   node(3, "EmptyLTXVLatentVideo", [768, 512, 97, 1]), node(4, "EmptyLTXVLatentVideo", [768, 512, 97, 1])], [])
    graph = convert(ui, CATALOG, display_names={"EmptyLTXVLatentVideo": "Empty LTXV Latent Video"})
    assert [n["_meta"]["title"] for n in graph.values()] == \
        ["Canvas", "Empty Image", "Empty LTXV Latent Video", "Empty LTXV Latent Video"]
    assert convert(ui, CATALOG, display_names={})["3"]["_meta"]["title"] == "EmptyLTXVLatentVideo"


def test_meta_holds_only_the_title_not_the_node_pack_properties():
    """1.45.20 writes no cnr_id/ver: no node of the library capture has them in _meta."""
    saved = node(1, "EmptyImage", [64, 64, 1, 0])
    saved["properties"] = {"cnr_id": "comfy-core", "ver": "0.3.56", "Node name for S&R": "EmptyImage"}
    assert convert(workflow([saved], []), CATALOG)["1"]["_meta"] == {"title": "Empty Image"}


def test_nodes_are_in_natural_id_order_and_serialised_canonically():
    sg = subgraph("sg", [], [], [node(10, "EmptyImage", [64, 64, 1, 0]), node(9, "EmptyImage", [64, 64, 1, 0])], [])
    ui = workflow([node(100, "EmptyImage", [64, 64, 1, 0], title="Größe"), node(92, "sg")], [], [sg])
    graph = convert(ui, CATALOG)
    assert list(graph) == ["92:9", "92:10", "100"]
    assert dumps(graph) == json.dumps(graph, indent=2, ensure_ascii=False) + "\n"
    assert "Größe" in dumps(graph)
