"""The job input: read from the command line, checked locally with the worker's own schemas and messages."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import engine
from engine.errors import ConfigError, RequestError


@functools.cache
def spec() -> engine.Spec:
    """The workflows this checkout knows (spec/mappings.yaml), loaded once."""
    return engine.load_spec()


def read_input(text: str) -> Any:
    """``--input``: a JSON object, or ``@file.json``; a job body ``{"input": {...}}`` is unwrapped."""
    source = "input"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise RequestError("input", f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = "" if source == "input" else f" in {source}"
        raise RequestError("input", f"not valid JSON{where}: {exc}") from None
    return unwrap(value)


def unwrap(value: Any) -> Any:
    """``{"input": {...}}`` (a whole RunPod job body, like test_input.json) as its input."""
    if isinstance(value, dict) and set(value) == {"input"}:
        return value["input"]
    return value


def validate(job_input: Any) -> None:
    """Check the input as the worker will: raises RequestError with the worker's exact one-line message."""
    spec().prepare(job_input)


def schema(workflow: str) -> dict[str, Any]:
    """A workflow's request JSON Schema (what ``python -m engine schema`` prints)."""
    workflows = spec().workflows
    if workflow not in workflows:
        raise ConfigError(f"workflow: {workflow!r} is not one of {sorted(workflows)}")
    return dict(workflows[workflow].schema)


def workflows() -> dict[str, str]:
    """Every workflow this checkout knows, with its description."""
    return {name: " ".join(w.description.split()) for name, w in spec().workflows.items()}
