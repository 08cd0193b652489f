"""docs/client.md and the README's "Call it" name only options and verbs the client has."""

from __future__ import annotations

import re

from client.cli import build_parser
from tests.support import ROOT


def documented() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    call_it = re.search(r"^## Call it\n(.*?)(?=^## )", readme, re.S | re.M)
    assert call_it, "README.md needs its '## Call it' section"
    return call_it.group(1) + (ROOT / "docs" / "client.md").read_text(encoding="utf-8")


def test_every_documented_option_and_verb_exists():
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices
    options = {o for sub in verbs.values() for a in sub._actions for o in a.option_strings}
    text = documented()
    named_options = set(re.findall(r"(?<![\w-])(--[a-z][a-z_-]+)", text)) - {"--rp_serve_api"}  # handler.py's
    assert sorted(named_options - options) == []
    named_verbs = set(re.findall(r"python -m client (\w+)", text))
    assert named_verbs and sorted(named_verbs - set(verbs)) == []
    assert {"generate", "status", "cancel", "schema", "workflows"} <= named_verbs
