"""LoRA fine-tuning of a small base model on one domain's text (peft), merged into full weights.

The text is tokenised, joined with end-of-text tokens and cut into blocks of ``seq_len`` tokens; each step
takes a batch of blocks in a fixed shuffled order (seeded). On CPU the forward pass runs under bfloat16
autocast (about 1.6x faster here, the LoRA weights stay fp32). The adapter is merged into the base
(``merge_and_unload``) so the expert is an ordinary checkpoint: mergekit and every backend can read it.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from app.errors import AmalgamError, MissingExtraError

# (step done, steps in all, loss of that step)
TrainProgress = Callable[[int, int, float], None]


class TrainingSetError(AmalgamError):
    """A domain has too little text to fine-tune on."""


class TrainOptions(BaseModel):
    steps: int = Field(default=40, ge=1)
    batch_size: int = Field(default=4, ge=1)
    seq_len: int = Field(default=256, ge=16)
    learning_rate: float = Field(default=1e-3, gt=0)
    rank: int = Field(default=16, ge=1)
    alpha: int = Field(default=32, ge=1)
    seed: int = 0
    device: str = "auto"  # auto: cuda when present, else cpu
    min_blocks: int = Field(default=8, ge=1, description="Refuse a domain with fewer token blocks than this.")


class TrainReport(BaseModel):
    output: str
    texts: int
    blocks: int
    steps: int
    seconds: float
    first_loss: float
    last_loss: float


LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def require_peft() -> None:
    if importlib.util.find_spec("peft") is None:
        raise MissingExtraError("peft", "experts")


def token_blocks(tokenizer: Any, texts: Sequence[str], seq_len: int) -> Any:
    """All texts as one token stream (end-of-text between them) cut into full blocks: shape (n, seq_len)."""
    import torch

    stream: list[int] = []
    for text in texts:
        stream.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        stream.append(tokenizer.eos_token_id)
    usable = len(stream) // seq_len * seq_len
    return torch.tensor(stream[:usable], dtype=torch.long).view(-1, seq_len)


def check_training_set(name: str, texts: Sequence[str], blocks: int, options: TrainOptions) -> None:
    nonempty = sum(1 for t in texts if t.strip())
    if nonempty == 0:
        raise TrainingSetError(f"the training set of {name!r} is empty (0 texts)")
    if blocks < options.min_blocks:
        raise TrainingSetError(
            f"the training set of {name!r} is too small: {nonempty} texts make {blocks} blocks of "
            f"{options.seq_len} tokens; at least {options.min_blocks} are needed"
        )


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def train_lora(
    name: str,
    base_dir: Path,
    texts: Sequence[str],
    output: Path,
    options: TrainOptions | None = None,
    progress: TrainProgress | None = None,
) -> TrainReport:
    """Fine-tune a LoRA adapter of ``base_dir`` on ``texts``, merge it and save a checkpoint at ``output``."""
    require_peft()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    options = options or TrainOptions()
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    blocks = token_blocks(tokenizer, texts, options.seq_len)
    check_training_set(name, texts, len(blocks), options)
    torch.manual_seed(options.seed)
    device = resolve_device(options.device)
    model = _lora_model(AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True), options).to(device)
    started = time.perf_counter()
    losses = _fit(model, blocks, options, device, progress)
    merged = model.merge_and_unload()
    _save(merged.to("cpu"), tokenizer, output)
    return TrainReport(
        output=str(output),
        texts=len(texts),
        blocks=len(blocks),
        steps=options.steps,
        seconds=round(time.perf_counter() - started, 2),
        first_loss=round(losses[0], 4),
        last_loss=round(losses[-1], 4),
    )


def _lora_model(model: Any, options: TrainOptions) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=options.rank, lora_alpha=options.alpha, lora_dropout=0.0, target_modules=LORA_TARGETS, task_type="CAUSAL_LM"
    )
    return get_peft_model(model, config)


def _fit(model: Any, blocks: Any, options: TrainOptions, device: str, progress: TrainProgress | None) -> list[float]:
    import torch

    order = torch.randperm(len(blocks), generator=torch.Generator().manual_seed(options.seed))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=options.learning_rate)
    dtype = torch.bfloat16 if device == "cpu" else torch.float16
    model.train()
    losses = []
    for step in range(options.steps):
        picks = [(step * options.batch_size + i) % len(blocks) for i in range(options.batch_size)]
        batch = blocks[order[picks]].to(device)
        with torch.autocast(device_type=device.split(":")[0], dtype=dtype):
            loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss))
        if progress is not None:
            progress(step + 1, options.steps, losses[-1])
    model.eval()
    return losses


def _save(model: Any, tokenizer: Any, output: Path) -> None:
    partial = output.with_name(output.name + ".partial")  # a crash leaves no half checkpoint under the name
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    shutil.rmtree(output, ignore_errors=True)
    partial.rename(output)
