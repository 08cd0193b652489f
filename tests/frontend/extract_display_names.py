"""Write spec/frontend_display_names.json: the English display names the ComfyUI frontend gives
node classes whose catalogue `display_name` is null, missing or empty.

The frontend (1.58.1, `src/i18n.ts` `resolveNodeDefText`, used by `ComfyNodeDefImpl.display_name`)
resolves a node's display name, with the English locale active, as: the backend's
`display_name` if it is a non-empty string, else the bundled English locale's
`nodeDefs.<class>.display_name` (class name with dots replaced by underscores, then the dotted
path), else the class name. A node without a saved title is titled with it, and the Export (API)
writes that title to `_meta.title`. So the locale only fills in missing names; this table holds
exactly those, read from the wheel's source map of `src/locales/en/nodeDefs.json`.

Exact command (from the repository root):

    python3 tests/frontend/extract_display_names.py \
        /tmp/fe/comfyui_frontend_package-1.58.1-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "spec" / "object_info.json"
OUTPUT = ROOT / "spec" / "frontend_display_names.json"
EN_NODE_DEFS = "locales/en/nodeDefs.json"
# vue-i18n message syntax: a name containing one would be compiled by t(), not shown verbatim.
I18N_SYNTAX = re.compile(r"[@${}|%\\]")


def read_en_node_defs(wheel: Path) -> dict[str, Any]:
    """Return the English nodeDefs locale bundled in the frontend wheel.

    The bundle inlines it as a JS module; its source map carries the original JSON.
    """
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if not name.endswith(".js.map") or "/assets/nodeDefs-" not in name:
                continue
            source_map = json.loads(zf.read(name))
            for source, content in zip(source_map["sources"], source_map.get("sourcesContent", [])):
                if source.endswith(EN_NODE_DEFS):
                    return json.loads(content)
    raise SystemExit(f"{wheel}: no source map for {EN_NODE_DEFS}")


def locale_display_name(node_defs: dict[str, Any], class_type: str) -> str | None:
    """Look a class up as the frontend does: `a.b` as key `a_b`, then as the nested path `a`.`b`."""
    candidates = [class_type.replace(".", "_")]
    if candidates[0] != class_type:
        candidates.append(class_type)
    for candidate in candidates:
        entry: Any = node_defs
        for segment in candidate.split("."):
            entry = entry.get(segment) if isinstance(entry, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("display_name"), str):
            return entry["display_name"]
    return None


def frontend_display_names(catalogue: dict[str, Any], node_defs: dict[str, Any]) -> dict[str, str]:
    """Map each catalogue class without a non-empty `display_name` to its English locale name."""
    table: dict[str, str] = {}
    for class_type, spec in catalogue.items():
        backend = spec.get("display_name")
        if isinstance(backend, str) and backend:
            continue  # the backend's name wins
        name = locale_display_name(node_defs, class_type)
        if name is None:
            print(f"note: {class_type} has no locale name; the frontend shows the class name",
                  file=sys.stderr)
            continue
        if I18N_SYNTAX.search(name):
            raise SystemExit(f"{class_type}: {name!r} has vue-i18n syntax; resolve it by hand")
        table[class_type] = name
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help="comfyui_frontend_package-*.whl")
    args = parser.parse_args()
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    table = frontend_display_names(catalogue, read_en_node_defs(args.wheel))
    OUTPUT.write_text(json.dumps(table, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                      encoding="utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(table)} classes")


if __name__ == "__main__":
    main()
