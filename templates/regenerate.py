"""Regenerate the API templates from the official UI workflows, as recorded in templates/sources.yaml.

Each template is the importer's conversion of its source with the recipe's ``enable`` nodes
switched on, then the recipe's ``add`` JSON patch (RFC 6902) applied for the nodes we add.

Run from the repository root:

    python templates/regenerate.py           # write the templates
    python templates/regenerate.py --check   # exit 1, listing templates that differ from disk
    python templates/regenerate.py templates/ltx23-t2v.json   # only the templates named
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from pathlib import Path
from typing import Any, Mapping

import jsonpatch
from jsonpointer import JsonPointerException

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: make engine/ importable

from engine.comfy.importer import convert, dumps  # noqa: E402
from engine.errors import SpecError  # noqa: E402
from engine.files import ROOT, read_yaml  # noqa: E402

RECIPE = ROOT / "templates" / "sources.yaml"


def load_recipe(path: Path = RECIPE) -> dict[str, Any]:
    """The parsed sources.yaml."""
    return read_yaml(path)


def recipe_catalog(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """The node catalogue the recipe names."""
    return json.loads((ROOT / recipe["catalog"]).read_text(encoding="utf-8"))


class RecipeError(SpecError):
    """A recipe entry that does not fit its converted graph; the message names the template."""


def build(entry: Mapping[str, Any], catalog: Mapping[str, Any]) -> dict[str, Any]:
    """One template graph from its recipe entry: the conversion, then the entry's ``add`` patch.

    The patch is copied first: jsonpatch inserts its values by reference, and YAML anchors share
    one patch between entries.
    """
    ui = json.loads((ROOT / entry["source"]).read_text(encoding="utf-8"))
    graph = convert(ui, dict(catalog), entry["enable"])
    try:
        return jsonpatch.apply_patch(graph, copy.deepcopy(entry.get("add") or []), in_place=True)
    except (jsonpatch.JsonPatchException, JsonPointerException) as exc:
        raise RecipeError(f"{entry['output']}: the add patch does not fit the converted graph: {exc}") from exc


def render(entry: Mapping[str, Any], catalog: Mapping[str, Any]) -> str:
    """The canonical text of one template from its recipe entry."""
    return dumps(build(entry, catalog))


def main(argv: list[str] | None = None) -> int:
    """Write every template, or with --check report those that differ from what is on disk."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if any template differs")
    parser.add_argument("outputs", nargs="*", help="only these templates (e.g. templates/ltx23-t2v.json)")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(message)s")
    recipe = load_recipe()
    catalog = recipe_catalog(recipe)
    entries = [e for e in recipe["templates"] if not args.outputs or e["output"] in args.outputs]
    unknown = sorted(set(args.outputs) - {e["output"] for e in entries})
    if unknown:
        print(f"not in {RECIPE.relative_to(ROOT)}: {', '.join(unknown)}", file=sys.stderr)
        return 1
    stale = []
    for entry in entries:
        path = ROOT / entry["output"]
        try:
            text = render(entry, catalog)
        except RecipeError as exc:
            print(exc, file=sys.stderr)
            return 1
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(entry["output"])
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {entry['output']}")
    for output in stale:
        print(f"differs: {output}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
