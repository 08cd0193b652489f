"""Preflight: can the running ComfyUI serve these workflows? The same graph checks as lint, with the live
GET /object_info as the node catalogue and the live model folders (GET /models/{folder}, else the disk)
deciding whether each model file is there. A worker that fails it must not take jobs."""

from __future__ import annotations

import copy
import urllib.parse
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .catalog import graph_problems
from .comfy_client import ComfyClient
from .models import Manifest, gigabytes, load_manifest, workflow_graphs
from .spec import Spec
from .worker_errors import ComfyFailed, WorkerError

OBJECT_INFO_TIMEOUT_S = 120.0
"""ComfyUI builds /object_info on first request (every node class): allow it time on a cold start."""


class PreflightError(WorkerError):
    """The worker cannot serve its enabled workflows; one line per problem after the first."""

    def __init__(self, headline: str, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join([headline, *(f"  - {p}" for p in self.problems)]))


class LiveComfy(ComfyClient):
    """A ComfyClient that also reads the node catalogue and the model folder lists."""

    def object_info(self) -> dict[str, Any]:
        """GET /object_info: every node class with its inputs, as this ComfyUI sees them."""
        status, answer = self._call("GET", "/object_info", timeout=OBJECT_INFO_TIMEOUT_S)
        answer = self._expect_ok("object_info", status, answer)
        if not isinstance(answer, dict):
            raise ComfyFailed(f"ComfyUI /object_info answered {type(answer).__name__}, not a node catalogue")
        return answer

    def model_files(self, folder: str) -> set[str] | None:
        """GET /models/{folder}: the files ComfyUI can load from it; None if ComfyUI has no such folder."""
        status, answer = self._call("GET", f"/models/{urllib.parse.quote(folder)}")
        if status == 404:
            return None
        answer = self._expect_ok(f"models/{folder}", status, answer)
        return {str(name) for name in answer or []}


def without_model_options(catalog: Mapping[str, Any], loaders: Mapping[str, str]) -> dict[str, Any]:
    """A copy of a live catalogue whose model-file combos are empty, so the model check judges them
    (a live combo lists one machine's files, and "not one of [...]" hides what is missing where)."""
    result = copy.deepcopy(dict(catalog))
    for key in loaders:
        class_type, input_name = key.split(".", 1)
        for section in result.get(class_type, {}).get("input", {}).values():
            spec = section.get(input_name) if isinstance(section, dict) else None
            if spec is None:
                continue
            if isinstance(spec[0], list):
                spec[0] = []
            elif len(spec) > 1 and isinstance(spec[1], dict):
                spec[1]["options"] = []
    return result


class ModelPresence:
    """A catalog.ModelCheck: the manifest's rules, then "is the file in ComfyUI's folder list (or on disk)".

    With ``inline`` a missing file is reported at the node (lint); otherwise it is recorded in ``missing``
    with the workflows that need it, so the preflight names each missing file once.
    """

    def __init__(self, manifest: Manifest, listed: Mapping[str, set[str] | None],
                 disk: Mapping[str, Sequence[Path]] | None = None, inline: bool = False):
        self.manifest = manifest
        self.listed = listed
        self.disk = disk or {}
        self.inline = inline
        self.workflow = ""
        self.missing: dict[tuple[str, str], list[str]] = {}

    def _on_disk(self, folder: str, name: str) -> Path | None:
        return next((d / name for d in self.disk.get(folder, ()) if (d / name).is_file()), None)

    def present(self, folder: str, name: str) -> bool:
        """Listed by ComfyUI; when ComfyUI has no list for the folder, found on disk."""
        listed = self.listed.get(folder)
        return name in listed if listed is not None else self._on_disk(folder, name) is not None

    def where(self, folder: str, name: str) -> str:
        """Where the file was looked for, for the message."""
        dirs = ", ".join(str(d) for d in self.disk.get(folder, ()))
        if self.listed.get(folder) is None:
            looked = f"ComfyUI has no {folder!r} model folder (GET /models/{folder}: 404)"
            return looked + (f"; not on disk in {dirs}" if dirs else "")
        looked = f"not in ComfyUI's list GET /models/{folder}"
        if dirs:
            looked += f" (it looks in {dirs})"
        found = self._on_disk(folder, name)
        return looked + (f"; {found} exists but ComfyUI does not list it" if found else "")

    def __call__(self, class_type: str, input_name: str, value: Any) -> str | None:
        problem = self.manifest.problem(class_type, input_name, value)
        if problem is not None:
            return problem
        folder = self.manifest.models[value].folder
        if self.present(folder, value):
            return None
        if self.inline:
            return f"model file {folder}/{value} is missing: {self.where(folder, value)}"
        users = self.missing.setdefault((folder, value), [])
        if self.workflow not in users:
            users.append(self.workflow)
        return None

    def missing_lines(self) -> list[str]:
        """One line per missing file: size, source, the workflows that need it, where it was looked for."""
        lines = []
        for (folder, name), users in self.missing.items():
            model = self.manifest.models[name]
            lines.append(f"missing model file {folder}/{name} ({gigabytes(model.size_gb)} from {model.repo}), "
                         f"needed by {', '.join(users)}: {self.where(folder, name)}")
        return lines


def fetch_live(client: LiveComfy, manifest: Manifest) -> tuple[dict[str, Any], dict[str, set[str] | None]]:
    """The live catalogue (model combos emptied) and the file list of every model folder the manifest uses."""
    catalog = without_model_options(client.object_info(), manifest.loaders)
    folders = sorted(set(manifest.loaders.values()))
    return catalog, {folder: client.model_files(folder) for folder in folders}


def live_checks(url: str, manifest_path: Path | str | None = None) -> tuple[dict[str, Any], ModelPresence]:
    """For ``lint --comfy-url``: the live catalogue and a model check reporting missing files at the node."""
    manifest = load_manifest(manifest_path)
    catalog, listed = fetch_live(LiveComfy(url, timeout=30.0), manifest)
    return catalog, ModelPresence(manifest, listed, inline=True)


def check_workflows(spec: Spec, catalog: Mapping[str, Any], presence: ModelPresence,
                    workflows: Iterable[str]) -> list[str]:
    """Every problem of every graph each workflow can render (template, examples, each enum value)."""
    problems: dict[str, None] = {}
    for name in workflows:
        presence.workflow = name
        for _, graph in workflow_graphs(spec, spec.workflows[name]):
            for problem in graph_problems(graph, catalog, presence):
                problems[f"{name}: {problem}"] = None
    return list(problems) + presence.missing_lines()


def preflight(client: LiveComfy, spec: Spec, manifest: Manifest, workflows: Sequence[str],
              disk: Mapping[str, Sequence[Path]] | None = None) -> None:
    """Raise PreflightError listing exactly what the running ComfyUI lacks for ``workflows``."""
    catalog, listed = fetch_live(client, manifest)
    problems = check_workflows(spec, catalog, ModelPresence(manifest, listed, disk), workflows)
    if problems:
        raise PreflightError(f"preflight: ComfyUI at {client.base_url} cannot serve {', '.join(workflows)}; "
                             "this worker takes no jobs until this is fixed:", problems)
