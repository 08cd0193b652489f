"""The model manifest (spec/models.yaml): which files exist, where they live, where they come from,
and which workflows need them (derived by rendering each workflow, never written by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

from jsonschema import Draft202012Validator

from . import files
from .errors import SpecError
from .graph import is_link
from .schema_messages import describe
from .spec import Spec
from .variants import workflow_graphs


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
    return Draft202012Validator(files.meta_schema("models.schema.yaml"))


def load_manifest(path: Path | str | None = None) -> Manifest:
    """Read and check spec/models.yaml; raises SpecError naming the YAML path of each problem."""
    manifest_path = Path(path or files.MANIFEST)
    raw = files.read_yaml(manifest_path)
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


def gigabytes(size_gb: float) -> str:
    """A size for people: ``43.3 GB``."""
    return f"{size_gb:.1f} GB"
