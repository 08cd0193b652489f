"""The model manifest (spec/models.yaml): which files exist, where they live, where they come from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml
from jsonschema import Draft202012Validator

from .errors import SpecError
from .loader import ROOT, SAFE_LOADER, read_yaml
from .schema_errors import describe

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
