"""``experts.yaml``: the experts a workspace can answer with, validated when it is read.

Each expert has a name, a description of its domain, example questions, a backend (a local transformers
checkpoint folder, a GGUF file, or an OpenAI-compatible endpoint and model name), optionally the base it was
tuned from and the graph communities or workspace documents it was trained on (what the graph router reads).
An expert named ``general`` is the fallback.
Relative paths are relative to the file. Every problem names the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import ConfigError, UnknownComponentError

GENERAL = "general"
REGISTRY_FILE = "experts.yaml"


class NoRegistryError(ConfigError):
    """The workspace has no experts.yaml (no expert trained, merged or written yet)."""


class CheckpointBackend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["checkpoint"] = "checkpoint"
    path: Path = Field(description="A transformers checkpoint folder (config.json and weights).")


class GGUFBackend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["gguf"] = "gguf"
    path: Path = Field(description="A .gguf file; transformers de-quantises it when the expert loads.")


class OpenAIBackend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["openai"] = "openai"
    base_url: str = Field(description="An OpenAI-compatible endpoint, e.g. http://127.0.0.1:8001/v1.")
    model: str  # the key, if the endpoint wants one, is the server's llm_api_key (never stored here)


Backend = Annotated[CheckpointBackend | GGUFBackend | OpenAIBackend, Field(discriminator="kind")]
BACKEND_KINDS = ("checkpoint", "gguf", "openai")


class Expert(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    description: str = ""
    examples: list[str] = Field(default_factory=list, description="Example questions of its domain.")
    backend: Backend
    base_model: str = ""
    communities: list[str] = Field(default_factory=list, description="Ids of the communities it was trained on.")
    documents: list[str] = Field(
        default_factory=list, description="Ids of the workspace documents it was trained on (for graph routing)."
    )
    context_tokens: int | None = Field(default=None, ge=64, description="Its context window; read from the model.")

    @property
    def local_path(self) -> Path | None:
        return None if isinstance(self.backend, OpenAIBackend) else self.backend.path


class ExpertRegistry(BaseModel):
    experts: list[Expert]
    source: Path | None = Field(default=None, exclude=True)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.experts]

    def get(self, name: str) -> Expert:
        for expert in self.experts:
            if expert.name == name:
                return expert
        raise UnknownComponentError("expert", name, self.names)

    @property
    def general(self) -> Expert:
        return self.get(GENERAL)

    @property
    def specialists(self) -> list[Expert]:
        """The experts a router chooses among: all but the fallback."""
        return [e for e in self.experts if e.name != GENERAL]


def registry_path(workspace_dir: Path, configured: Path | None) -> Path:
    """The configured file, else ``experts.yaml`` in the workspace folder."""
    return configured if configured else workspace_dir / REGISTRY_FILE


def load_registry(path: Path) -> ExpertRegistry:
    if not path.is_file():
        raise NoRegistryError(f"{path}: no experts registry here (train or merge an expert, or write one)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    return parse_registry(raw, path)


def parse_registry(raw: Any, path: Path) -> ExpertRegistry:
    if not isinstance(raw, dict) or not isinstance(raw.get("experts"), list):
        raise ConfigError(f"{path}: experts: a list of experts is required")
    for index, entry in enumerate(raw["experts"]):
        _check_backend_kind(entry, f"{path}: experts[{index}].backend.kind")
    try:
        registry = ExpertRegistry.model_validate({"experts": raw["experts"]})
    except ValidationError as exc:
        problems = "; ".join(f"{_field(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc
    registry = _resolve_paths(registry, path.parent)
    _check_names_and_paths(registry, path)
    return registry.model_copy(update={"source": path})


def _check_backend_kind(entry: Any, where: str) -> None:
    """Said before pydantic's union error, which lists every member's missing fields instead."""
    backend = entry.get("backend") if isinstance(entry, dict) else None
    kind = backend.get("kind") if isinstance(backend, dict) else None
    if isinstance(backend, dict) and kind not in BACKEND_KINDS:
        raise ConfigError(f"{where}: unknown backend {kind!r}; known: {', '.join(BACKEND_KINDS)}")


def _field(loc: tuple[Any, ...]) -> str:
    """('experts', 2, 'backend', 'gguf', 'path') → experts[2].backend.path (the union's tag left out)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
        elif part not in BACKEND_KINDS:
            parts.append(str(part))
    return ".".join(parts)


def _resolve_paths(registry: ExpertRegistry, folder: Path) -> ExpertRegistry:
    for expert in registry.experts:
        if not isinstance(expert.backend, OpenAIBackend) and not expert.backend.path.is_absolute():
            expert.backend.path = folder / expert.backend.path
    return registry


def _check_names_and_paths(registry: ExpertRegistry, path: Path) -> None:
    seen: dict[str, int] = {}
    for index, expert in enumerate(registry.experts):
        if expert.name in seen:
            raise ConfigError(
                f"{path}: experts[{index}].name: duplicate expert name {expert.name!r} "
                f"(also experts[{seen[expert.name]}])"
            )
        seen[expert.name] = index
        local = expert.local_path
        if local is not None and not local.exists():
            raise ConfigError(f"{path}: experts[{index}].backend.path: {local} does not exist")
    if GENERAL not in seen:
        raise ConfigError(f"{path}: experts: no {GENERAL!r} expert (the fallback every route can use)")


def register(path: Path, expert: Expert) -> None:
    """Add (or replace, by name) one expert in the file, creating it if needed; paths stored relative to it."""
    raw: dict[str, Any] = {"experts": []}
    if path.is_file():
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {"experts": []}
    entries = [e for e in raw.get("experts", []) if e.get("name") != expert.name]
    entries.append(_relative(expert, path.parent).model_dump(mode="json", exclude_none=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"experts": entries}, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _relative(expert: Expert, folder: Path) -> Expert:
    copy = expert.model_copy(deep=True)
    local = copy.local_path
    if local is not None and local.is_absolute() and local.is_relative_to(folder.resolve()):
        copy.backend.path = local.relative_to(folder.resolve())  # type: ignore[union-attr]
    return copy
