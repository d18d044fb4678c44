"""Merging experts in weight space with mergekit (``amalgam experts merge merge.yaml``).

mergekit does the merging; this module only checks that the models can be merged (same architecture,
shapes and tokenizer), translates a small recipe into mergekit's configuration, always with a seed (DARE
drops parameters at random), and writes the recipe next to the merged model.

A recipe::

    name: film-sport-ties
    method: ties            # linear, task_arithmetic, ties, dare_ties, dare_linear
    base: general           # an expert name or a checkpoint folder; not used by linear
    models:
      - {expert: film, weight: 0.5, density: 0.5}
      - {path: /models/sport, weight: 0.5, density: 0.5}
    seed: 0
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.errors import AmalgamError, ConfigError, MissingExtraError

MergeMethod = Literal["linear", "task_arithmetic", "ties", "dare_ties", "dare_linear"]
NEEDS_BASE = {"task_arithmetic", "ties", "dare_ties", "dare_linear"}
RECIPE_FILE = "amalgam-merge.yaml"
# config.json fields that must agree for two checkpoints to be merged tensor by tensor.
SHAPE_FIELDS = (
    "model_type",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
)


class MergeError(AmalgamError):
    """The models of a merge cannot be merged (different architecture or tokenizer) or mergekit failed."""


class MergeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expert: str = ""
    path: Path | None = None
    weight: float = 1.0
    density: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _one_source(self) -> MergeInput:
        if bool(self.expert) == (self.path is not None):
            raise ValueError("give exactly one of expert (a registered name) or path (a checkpoint folder)")
        return self


class MergeRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    method: MergeMethod
    base: str = Field(default="", description="An expert name or a checkpoint folder (not used by linear).")
    models: list[MergeInput] = Field(min_length=1)
    seed: int = 0
    normalize: bool = True
    description: str = ""
    output: Path | None = None

    @model_validator(mode="after")
    def _base_when_needed(self) -> MergeRecipe:
        if self.method in NEEDS_BASE and not self.base:
            raise ValueError(f"method {self.method} needs a base model (base: an expert name or a folder)")
        return self


class MergeReport(BaseModel):
    name: str
    output: str
    method: str
    seconds: float


def load_recipe(path: Path) -> MergeRecipe:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return MergeRecipe.model_validate(raw)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the merge recipe: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc


def check_compatible(models: dict[str, Path]) -> None:
    """Refuse models that differ in architecture, tensor shapes or tokenizer, naming the two that differ."""
    first_name, first = next(iter(models.items()))
    reference = _signature(first)
    for name, path in list(models.items())[1:]:
        other = _signature(path)
        for field in ("architectures", *SHAPE_FIELDS):
            if reference.get(field) != other.get(field):
                raise MergeError(
                    f"cannot merge {first_name!r} with {name!r}: different architecture "
                    f"({field} {reference.get(field)!r} vs {other.get(field)!r})"
                )
        if reference["tokenizer"] != other["tokenizer"]:
            raise MergeError(f"cannot merge {first_name!r} with {name!r}: different tokenizers (vocabularies differ)")


def _signature(path: Path) -> dict[str, Any]:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise MergeError(f"{path} is not a transformers checkpoint folder (no config.json)")
    config = json.loads(config_file.read_text())
    signature = {field: config.get(field) for field in ("architectures", *SHAPE_FIELDS)}
    signature["tokenizer"] = _tokenizer_fingerprint(path)
    return signature


def _tokenizer_fingerprint(path: Path) -> str:
    """A hash of the vocabulary (token → id), which is what must agree; merges and settings may differ."""
    from transformers import AutoTokenizer

    try:
        vocab = AutoTokenizer.from_pretrained(path, local_files_only=True).get_vocab()
    except (OSError, ValueError) as exc:
        raise MergeError(f"{path}: no readable tokenizer ({exc})") from exc
    return hashlib.sha256(json.dumps(sorted(vocab.items())).encode()).hexdigest()


def mergekit_config(recipe: MergeRecipe, base: Path | None, models: list[tuple[MergeInput, Path]]) -> dict[str, Any]:
    def parameters(item: MergeInput) -> dict[str, float]:
        wanted = {"weight": item.weight}
        if recipe.method in {"ties", "dare_ties", "dare_linear"}:
            wanted["density"] = item.density
        return wanted

    config: dict[str, Any] = {
        "merge_method": recipe.method,
        "models": [{"model": str(path), "parameters": parameters(item)} for item, path in models],
        "dtype": "float32",
    }
    if recipe.method != "task_arithmetic":
        config["parameters"] = {"normalize": recipe.normalize}
    if recipe.method in NEEDS_BASE and base is not None:
        config["base_model"] = str(base)
    return config


def run_merge(
    recipe: MergeRecipe, base: Path | None, models: list[tuple[MergeInput, Path]], output: Path
) -> MergeReport:
    """Check, merge with mergekit on CPU (GPU when present), and write the recipe beside the output."""
    if importlib.util.find_spec("mergekit") is None:
        raise MissingExtraError("mergekit", "experts")
    named = {(item.expert or str(item.path)): path for item, path in models}
    if base is not None and recipe.method in NEEDS_BASE:
        named = {"base": base, **named}
    check_compatible(named)
    started = time.perf_counter()
    _mergekit(mergekit_config(recipe, base, models), output, recipe.seed)
    (output / RECIPE_FILE).write_text(
        yaml.safe_dump(recipe.model_dump(mode="json", exclude_none=True), sort_keys=False)
    )
    return MergeReport(
        name=recipe.name, output=str(output), method=recipe.method, seconds=round(time.perf_counter() - started, 2)
    )


def _mergekit(config: dict[str, Any], output: Path, seed: int) -> None:
    import torch
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions
    from mergekit.merge import run_merge as mergekit_run

    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = MergeConfiguration.model_validate(config)
        mergekit_run(parsed, str(output), options=MergeOptions(device=device, random_seed=seed, copy_tokenizer=True))
    except (ValueError, RuntimeError, KeyError) as exc:
        raise MergeError(f"mergekit failed: {exc}") from exc
