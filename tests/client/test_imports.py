"""The client is a caller's package: it may use the engine (schemas) but nothing from worker/, deploy/ or handler."""

from __future__ import annotations

import ast

from tests.support import ROOT


def test_the_client_imports_nothing_from_the_worker_or_deploy():
    wrong = []
    for path in sorted((ROOT / "client").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            wrong += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("worker", "deploy", "handler")]
    assert wrong == []
