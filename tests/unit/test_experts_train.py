"""LoRA training (peft) on a tiny random Llama: it learns, it saves an ordinary checkpoint, and it refuses
a training set that is empty or too small, with the count."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from app.experts.train import TrainingSetError, TrainOptions, train_lora
from tests.unit.tiny_llama import WORDS, tiny_llama, weights

pytest.importorskip("peft")

OPTIONS = TrainOptions(steps=6, batch_size=2, seq_len=16, learning_rate=1e-2, min_blocks=2)


def test_a_lora_expert_learns_its_domain_and_is_saved_merged(tmp_path: Path) -> None:
    base = tiny_llama(tmp_path / "base", seed=0)
    texts = [" ".join(WORDS[i : i + 8]) for i in range(0, 64, 8)] * 4  # a repetitive "domain"
    steps: list[int] = []
    report = train_lora("film", base, texts, tmp_path / "film", OPTIONS, lambda step, total, loss: steps.append(step))
    assert steps == [1, 2, 3, 4, 5, 6] and report.steps == 6
    assert report.last_loss < report.first_loss
    merged, original = weights(tmp_path / "film"), weights(base)
    assert merged.keys() == original.keys()  # merge_and_unload: plain weights, no adapter tensors
    changed = [n for n in original if not torch.equal(original[n], merged[n])]
    assert any("q_proj" in n for n in changed) and not any("embed_tokens" in n for n in changed)
    assert (tmp_path / "film" / "tokenizer.json").is_file()


def test_an_empty_or_tiny_training_set_is_refused_with_the_count(tmp_path: Path) -> None:
    base = tiny_llama(tmp_path / "base", seed=0)
    with pytest.raises(TrainingSetError, match=r"training set of 'film' is empty \(0 texts\)"):
        train_lora("film", base, ["", "  "], tmp_path / "out", OPTIONS)
    with pytest.raises(TrainingSetError, match=r"too small: 2 texts make 1 blocks of 16 tokens; at least 2"):
        train_lora(
            "film",
            base,
            ["w1 w2 w3 w4 w5 w6 w7 w8 w9 w10", "w11 w12 w13 w14 w15 w16 w17 w18 w19 w20"],
            tmp_path / "out",
            OPTIONS,
        )
    assert not (tmp_path / "out").exists()
