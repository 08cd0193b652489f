"""Write spec/frontend_display_names.json: the English names the ComfyUI frontend gives node classes
where they differ from the catalogue's ``display_name``.

The frontend ComfyUI 0.27.0 serves (1.45.20, ``src/scripts/app.ts`` ``getNodeDefs``) names a class,
with the English locale active, ``st('nodeDefs.<class>.display_name', display_name || class)``:
the bundled English locale's name when it has one (the key is the class name as it is, a dotted
name read as a nested path), else the backend's ``display_name``, else the class name. A node
without a saved title is titled with it, and Export (API) writes that title to ``_meta.title``.
The locale was generated from an older backend, so it often wins with an older name
(``ConditioningZeroOut`` for "Conditioning Zero Out"). This table holds every class whose
frontend name is not ``display_name || class``, read from the locale in the frontend's source map
(``src/locales/en/nodeDefs.json``).

Exact command (from the repository root; the catalogue is the one the capture recorded):

    python3 tests/frontend/extract_display_names.py \\
        /tmp/comfy/venv/lib/python3.11/site-packages/comfyui_frontend_package
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.frontend.library import read_library  # noqa: E402

OUTPUT = ROOT / "spec" / "frontend_display_names.json"
EN_NODE_DEFS = "locales/en/nodeDefs.json"
I18N_SYNTAX = re.compile(r"[@${}|%\\]")
"""vue-i18n message syntax: a name containing one would be compiled by t(), not shown verbatim."""


def _source_maps(frontend: Path) -> Iterator[bytes]:
    """The source maps of the frontend's nodeDefs bundle, from a wheel or an installed package folder."""
    if frontend.is_file():
        with zipfile.ZipFile(frontend) as zf:
            for name in zf.namelist():
                if name.endswith(".js.map") and "/assets/nodeDefs-" in name:
                    yield zf.read(name)
        return
    yield from (path.read_bytes() for path in sorted((frontend / "static" / "assets").glob("nodeDefs-*.js.map")))


def read_en_node_defs(frontend: Path) -> dict[str, Any]:
    """The English nodeDefs locale bundled in the frontend (its source map carries the original JSON)."""
    for raw in _source_maps(frontend):
        source_map = json.loads(raw)
        for source, content in zip(source_map["sources"], source_map.get("sourcesContent", [])):
            if source.endswith(EN_NODE_DEFS):
                return json.loads(content)
    raise SystemExit(f"{frontend}: no source map for {EN_NODE_DEFS}")


def locale_display_name(node_defs: dict[str, Any], class_type: str) -> str | None:
    """``te``/``t`` of ``nodeDefs.<class>.display_name``: the key's dots are path separators."""
    entry: Any = node_defs
    for segment in f"{class_type}.display_name".split("."):
        entry = entry.get(segment) if isinstance(entry, dict) else None
    return entry if isinstance(entry, str) else None


def frontend_display_names(catalogue: dict[str, Any], node_defs: dict[str, Any]) -> dict[str, str]:
    """Each catalogue class whose English frontend name differs from ``display_name || class``."""
    table: dict[str, str] = {}
    for class_type, spec in catalogue.items():
        name = locale_display_name(node_defs, class_type)
        if name is None or name == (spec.get("display_name") or class_type):
            continue
        if I18N_SYNTAX.search(name):
            raise SystemExit(f"{class_type}: {name!r} has vue-i18n syntax; resolve it by hand")
        table[class_type] = name
    return table


def main() -> None:
    """Write the table for the catalogue of the committed library capture."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("frontend", type=Path, help="comfyui_frontend_package-*.whl or its installed folder")
    args = parser.parse_args()
    catalogue = read_library()[0]["catalog"]
    table = frontend_display_names(catalogue, read_en_node_defs(args.frontend))
    OUTPUT.write_text(json.dumps(table, sort_keys=True, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(table)} classes")


if __name__ == "__main__":
    main()
