"""Preflight: can the running ComfyUI serve these workflows? The same graph checks as lint, with the live
GET /object_info as the node catalogue and the live model folders (GET /models/{folder}, else the disk)
deciding whether each model file is there. A worker that fails it must not take jobs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from engine.authoring.lint import workflow_graph_problems
from engine.comfy.input_spec import without_combo_values
from engine.errors import PreflightError
from engine.manifest import Manifest, gigabytes, load_manifest
from engine.spec import Spec
from worker.comfyui import ComfyClient


def without_model_options(catalog: Mapping[str, Any], loaders: Mapping[str, str]) -> dict[str, Any]:
    """A copy of a live catalogue whose model-file combos are empty, so the model check judges them
    (a live combo lists one machine's files, and "not one of [...]" hides what is missing where)."""
    result = dict(catalog)
    for key in loaders:
        class_type, input_name = key.split(".", 1)
        if class_type not in result:
            continue
        entry = result[class_type] = {**result[class_type], "input": dict(result[class_type].get("input", {}))}
        for name, section in entry["input"].items():
            if isinstance(section, dict) and input_name in section:
                entry["input"][name] = {**section, input_name: without_combo_values(section[input_name])}
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


async def fetch_live(client: ComfyClient, manifest: Manifest) -> tuple[dict[str, Any], dict[str, set[str] | None]]:
    """The live catalogue (model combos emptied) and the file list of every model folder the manifest uses."""
    catalog = without_model_options(await client.object_info(), manifest.loaders)
    folders = sorted(set(manifest.loaders.values()))
    return catalog, {folder: await client.model_files(folder) for folder in folders}


def live_checks(url: str, manifest_path: Path | str | None = None) -> tuple[dict[str, Any], ModelPresence]:
    """For ``lint --comfy-url``: the live catalogue and a model check reporting missing files at the node."""
    manifest = load_manifest(manifest_path)

    async def fetch() -> tuple[dict[str, Any], dict[str, set[str] | None]]:
        async with ComfyClient.open(url, timeout=30.0) as client:
            return await fetch_live(client, manifest)

    catalog, listed = asyncio.run(fetch())
    return catalog, ModelPresence(manifest, listed, inline=True)


def check_workflows(spec: Spec, catalog: Mapping[str, Any], presence: ModelPresence,
                    workflows: Iterable[str]) -> list[str]:
    """Every problem of every graph each workflow can render (template, examples, each enum value)."""
    problems: dict[str, None] = {}
    for name in workflows:
        presence.workflow = name
        for _, problem in workflow_graph_problems(spec, spec.workflows[name], catalog, presence):
            problems[f"{name}: {problem}"] = None
    return list(problems) + presence.missing_lines()


async def preflight(client: ComfyClient, spec: Spec, manifest: Manifest, workflows: Sequence[str],
              disk: Mapping[str, Sequence[Path]] | None = None) -> None:
    """Raise PreflightError listing exactly what the running ComfyUI lacks for ``workflows``."""
    catalog, listed = await fetch_live(client, manifest)
    problems = check_workflows(spec, catalog, ModelPresence(manifest, listed, disk), workflows)
    if problems:
        raise PreflightError(f"preflight: ComfyUI at {client.base_url} cannot serve {', '.join(workflows)}; "
                             "this worker takes no jobs until this is fixed:", problems)
