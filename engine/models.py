"""The model manifest (spec/models.yaml): which files exist, where they live, where they come from,
and which workflows need them (derived by rendering each workflow, never written by hand)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

import yaml
from jsonschema import Draft202012Validator

from .errors import EngineError, SpecError
from .graph import is_link
from .loader import ROOT, SAFE_LOADER, read_yaml
from .schema_errors import describe

if TYPE_CHECKING:
    from .spec import Spec, Workflow

DEFAULT_MANIFEST = ROOT / "spec" / "models.yaml"


@dataclass(frozen=True)
class ModelFile:
    """One model file: its ComfyUI folder and its Hugging Face source."""

    name: str
    folder: str
    repo: str
    path: str
    size_gb: float
    sha256: str | None
    gated: bool
    revision: str = "main"

    @property
    def where(self) -> str:
        """Its place under a models directory, as ComfyUI names it: ``folder/name``."""
        return f"{self.folder}/{self.name}"

    def find(self, roots: Iterable[Path | str]) -> Path | None:
        """The first ``root/folder/name`` that is a file, or None."""
        for root in roots:
            candidate = Path(root) / self.folder / self.name
            if candidate.is_file():
                return candidate
        return None


@dataclass(frozen=True)
class Manifest:
    """Model files by name, and which node inputs name model files (and in which folder)."""

    models: Mapping[str, ModelFile]
    loaders: Mapping[str, str]

    def problem(self, class_type: str, input_name: str, value: Any) -> str | None:
        """Why ``value`` in a model-file input is not servable, or None (a catalog.ModelCheck)."""
        folder = self.loaders.get(f"{class_type}.{input_name}")
        if folder is None:
            return f"names a model file but {class_type}.{input_name} is not under loaders in spec/models.yaml"
        model = self.models.get(value)
        if model is None:
            return f"model file {value!r} is not in spec/models.yaml"
        if model.folder != folder:
            return f"model file {value!r} is listed in folder {model.folder!r}, but {class_type} reads {folder!r}"
        return None


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    text = resources.files("engine").joinpath("schemas/models.schema.yaml").read_text()
    return Draft202012Validator(yaml.load(text, Loader=SAFE_LOADER))


def load_manifest(path: Path | str | None = None) -> Manifest:
    """Read and check spec/models.yaml; raises SpecError naming the YAML path of each problem."""
    manifest_path = Path(path or DEFAULT_MANIFEST)
    raw = read_yaml(manifest_path)
    errors = list(_validator().iter_errors(raw))
    if errors:
        raise SpecError([f"{manifest_path.name}: {p or '(top)'}: {rule}" for p, rule in map(describe, errors)])
    models = {name: ModelFile(name=name, sha256=m.get("sha256"), **{k: v for k, v in m.items() if k != "sha256"})
              for name, m in raw["models"].items()}
    return Manifest(models=models, loaders=dict(raw["loaders"]))


def model_references(graph: Mapping[str, Any], loaders: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    """(folder, file name) for every literal model-file input of ``graph`` (inputs listed under loaders)."""
    for node in graph.values():
        for input_name, value in node.get("inputs", {}).items():
            folder = loaders.get(f"{node.get('class_type')}.{input_name}")
            if folder is not None and isinstance(value, str) and not is_link(value):
                yield folder, value


RENDER_RUNTIME = {"job_id": "models", "random_seed": 0, "input_image": "models-input.png"}
"""Runtime values used when rendering a workflow to see which model files it can name."""


def _variants(workflow: Workflow) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(label, request, is an example): each schema example, then each example with one enum (or
    boolean) parameter set to each of its values."""
    examples = list(workflow.schema.get("examples") or [{}])
    for index, example in enumerate(examples):
        yield f"schema.examples[{index}]", example, True
    for index, example in enumerate(examples):
        for name, schema in workflow.parameters.items():
            values = schema.get("enum") or ([True, False] if schema.get("type") == "boolean" else [])
            for value in values:
                if example.get(name, object()) != value:
                    yield f"schema.examples[{index}] with {name}={value!r}", {**example, name: value}, False


ExampleError = Callable[[str, EngineError], None]
"""Told (label, error) when a schema example itself fails to render (lint reports it)."""


def workflow_graphs(
    spec: Spec, workflow: Workflow, on_example_error: ExampleError | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, graph): the template, then every graph rendered from ``_variants``.

    Enum parameters such as camera_lora choose model files, so rendering each value finds every file a
    request can make the workflow load, which schema examples alone would miss. Variants the schema
    refuses are skipped; an example that fails goes to ``on_example_error``.
    """
    yield f"template {workflow.template_file.name}", workflow.template
    for label, request, is_example in _variants(workflow):
        try:
            yield label, spec.render(spec.prepare({**request, "workflow": workflow.name}), RENDER_RUNTIME).graph
        except EngineError as exc:
            if is_example and on_example_error is not None:
                on_example_error(label, exc)


def needed_models(spec: Spec, manifest: Manifest, workflows: Sequence[str] | None = None) -> dict[str, list[ModelFile]]:
    """The model files each workflow can load, by workflow name; SpecError if one is not in the manifest."""
    needed: dict[str, list[ModelFile]] = {}
    unknown: list[str] = []
    for name in workflows if workflows is not None else spec.workflows:
        files: dict[str, ModelFile] = {}
        for _, graph in workflow_graphs(spec, spec.workflows[name]):
            for folder, file_name in model_references(graph, manifest.loaders):
                model = manifest.models.get(file_name)
                if model is None or model.folder != folder:
                    unknown.append(f"{name}: model file {folder}/{file_name} is not in spec/models.yaml")
                else:
                    files[file_name] = model
        needed[name] = sorted(files.values(), key=lambda m: (m.folder, m.name))
    if unknown:
        raise SpecError(list(dict.fromkeys(unknown)))
    return needed


def pick_workflows(available: Iterable[str], patterns: str | None, what: str = "--workflows") -> list[str]:
    """Workflow names matching comma-separated names or glob patterns ('all' or empty: every workflow)."""
    names = list(available)
    wanted = [p.strip() for p in (patterns or "").split(",") if p.strip()]
    if not wanted or wanted == ["all"]:
        return names
    picked: list[str] = []
    for pattern in wanted:
        matches = fnmatch.filter(names, pattern)
        if not matches:
            raise EngineError(f"{what}: {pattern!r} matches no workflow (have: {', '.join(names)})")
        picked += [m for m in matches if m not in picked]
    return picked


def gigabytes(size_gb: float) -> str:
    """A size for people: ``43.3 GB``."""
    return f"{size_gb:.1f} GB"
