"""The layering stays true: imports go deploy -> worker -> engine, no cycles, one exception root."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from engine import errors
from tests.support import ROOT

LAYERS = ("engine", "worker", "deploy")
ENGINE_EXITS = {"engine.cli", "engine.start"}
"""The engine modules allowed to reach the layers above: the CLI (lint --comfy-url, models download)
and the old container entry name, an alias of python -m deploy."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))}
MODULES["handler"] = ROOT / "handler.py"


def imports(name: str) -> set[str]:
    """Every project module ``name`` imports, anywhere in the file (function-level included)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            named = [f"{base}.{alias.name}" for alias in node.names]
            targets = named + [base] if node.module else named  # "from . import x" names x, not the package
        else:
            continue
        found |= {t for t in targets if t in MODULES}
    return found - {name}


GRAPH = {name: imports(name) for name in MODULES}


def layer(name: str) -> str:
    return name.split(".")[0]


def test_the_engine_imports_nothing_from_the_layers_above():
    wrong = {m: sorted(i for i in deps if layer(i) in ("worker", "deploy", "handler"))
             for m, deps in GRAPH.items() if layer(m) == "engine" and m not in ENGINE_EXITS}
    assert {m: d for m, d in wrong.items() if d} == {}


def test_the_worker_never_imports_deploy():
    wrong = {m: sorted(i for i in deps if layer(i) in ("deploy", "handler")) for m, deps in GRAPH.items()
             if layer(m) == "worker"}
    assert {m: d for m, d in wrong.items() if d} == {}


def test_nothing_imports_the_handler_script():
    assert [m for m, deps in GRAPH.items() if "handler" in deps] == []


def test_there_are_no_import_cycles():
    cycles, done, path = [], set(), []

    def visit(name: str) -> None:
        if name in path:
            cycles.append(path[path.index(name):] + [name])
            return
        if name in done:
            return
        path.append(name)
        for dep in sorted(GRAPH[name]):
            visit(dep)
        path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)
    assert cycles == []


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "handler" and not n.endswith("__main__")))
def test_every_exception_class_is_in_the_one_tree(name):
    module = importlib.import_module(name)
    own = [c for _, c in inspect.getmembers(module, inspect.isclass)
           if issubclass(c, BaseException) and c.__module__ == name]
    if name == "engine.errors":
        assert own and all(issubclass(c, errors.Error) for c in own)
        drawn = errors.__doc__ or ""
        assert [c.__name__ for c in own if f" {c.__name__} " not in drawn] == []
    else:
        assert own == [], f"{name} defines exceptions outside engine/errors.py"
