"""What ``amalgam experts train|merge`` do, with the workspace's settings: build the checkpoints, then
register them in the workspace's experts.yaml (experts under ``<workspace>/experts/<name>``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from app.config import Settings
from app.errors import ConfigError
from app.experts.checkpoint import BASE_MODEL, base_checkpoint
from app.experts.domains import Domain
from app.experts.merge import MergeInput, MergeReport, load_recipe, run_merge
from app.experts.registry import (
    GENERAL,
    CheckpointBackend,
    Expert,
    ExpertRegistry,
    load_registry,
    register,
    registry_path,
)
from app.experts.train import TrainOptions, TrainProgress, TrainReport, train_lora

EXAMPLES_PER_EXPERT = 5  # a few opening sentences of its text stand in for example questions


def experts_dir(settings: Settings) -> Path:
    return settings.workspace_dir / "experts"


def train_domains(
    settings: Settings,
    domains: Sequence[Domain],
    options: TrainOptions,
    base: str = BASE_MODEL,
    progress: TrainProgress | None = None,
) -> list[TrainReport]:
    """One expert per domain, each registered with the domain's description; ``general`` is the base
    model unless the registry has one already."""
    base_dir = base_checkpoint(settings.experts_cache, base)
    path = registry_path(settings.workspace_dir, settings.experts_file)
    reports = []
    for domain in domains:
        output = experts_dir(settings) / domain.name
        reports.append(train_lora(domain.name, base_dir, domain.texts, output, options, progress))
        expert = Expert(
            name=domain.name,
            description=domain.description,
            examples=[_opening(t) for t in domain.texts[:EXAMPLES_PER_EXPERT]],
            backend=CheckpointBackend(path=output),
            base_model=base,
            communities=domain.communities,
            documents=domain.documents,
        )
        register(path, expert)
    if not _has_general(path):
        general = Expert(name=GENERAL, description="The base model, for anything no expert covers.",
                         backend=CheckpointBackend(path=base_dir), base_model=base)  # fmt: skip
        register(path, general)
    return reports


def merge_recipe(settings: Settings, recipe_file: Path) -> MergeReport:
    """Merge what the recipe names (registered experts or folders) and register the result under its name."""
    recipe = load_recipe(recipe_file)
    path = registry_path(settings.workspace_dir, settings.experts_file)
    registry = load_registry(path)
    models = [(item, _checkpoint_of(item, registry)) for item in recipe.models]
    base = _folder(recipe.base, registry) if recipe.base else None
    output = recipe.output or experts_dir(settings) / recipe.name
    report = run_merge(recipe, base, models, output)
    names = ", ".join(item.expert or str(item.path) for item in recipe.models)
    description = recipe.description or f"{recipe.method} merge of {names}"
    examples = [x for item in recipe.models if item.expert for x in registry.get(item.expert).examples]
    communities = [c for item in recipe.models if item.expert for c in registry.get(item.expert).communities]
    documents = [d for item in recipe.models if item.expert for d in registry.get(item.expert).documents]
    expert = Expert(name=recipe.name, description=description, examples=examples,
                    backend=CheckpointBackend(path=output), communities=communities, documents=documents)  # fmt: skip
    register(path, expert)
    return report


def _checkpoint_of(item: MergeInput, registry: ExpertRegistry) -> Path:
    return item.path if item.path is not None else _folder(item.expert, registry)


def _folder(name_or_path: str, registry: ExpertRegistry) -> Path:
    if name_or_path in registry.names:
        local = registry.get(name_or_path).local_path
        if local is None or not local.is_dir():
            raise ConfigError(f"expert {name_or_path!r} is not a local checkpoint folder, so it cannot be merged")
        return local
    folder = Path(name_or_path)
    if not folder.is_dir():
        raise ConfigError(f"{name_or_path!r} is neither a registered expert nor a checkpoint folder")
    return folder


def _has_general(path: Path) -> bool:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    return any(isinstance(e, dict) and e.get("name") == GENERAL for e in (raw or {}).get("experts", []))


def _opening(text: str) -> str:
    return " ".join(text.split()[:40])
