"""Training TreeHop: InfoNCE over hop chains.

For each step ``context -> target`` of a chain, the updated query ``model(q, c)`` must score the target
above its negatives. Two objectives:

- ``corpus`` (default): every passage of the corpus is a negative (a full softmax; 17.6k x 384 passages
  cost ~3 s an epoch on one core), except the chain's other gold passages. This optimises exactly what the
  search does with the next query: rank the target first among all passages, against whatever the next
  query itself retrieves. Temperature 0.05.
- ``sampled`` (the paper's): the passages dense retrieval returned for the question that are not gold
  (hard negatives) plus the other chains' targets in the batch. Temperature ~0.15.

Chains with several steps are unrolled: the query of step ``s + 1`` is the model's own output at step
``s``, as at search time.

Only the train split and passages generated from the corpus are ever used (``hops.question_chains``
refuses dev questions).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from app.evaluation.treehop_hops import Chain
from retrieval.treehop.model import TreeHopConfig, TreeHopModel

log = logging.getLogger(__name__)
MAX_GOLD = 4  # supporting passages per question in the data set: 2 to 4
OBJECTIVES = ("corpus", "sampled")


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    objective: str = "corpus"  # or "sampled" (see the module docstring)
    temperature: float = 0.05  # 0.15 suits "sampled"
    hard_negatives: int = 16
    max_steps: int = 3  # longer chains are cut: 4-hop questions are rare
    seed: int = 0


@dataclass
class ChainTensors:
    """Chains as index tensors into the passage matrix, padded to ``max_steps``."""

    queries: torch.Tensor  # (n, d) question embeddings
    contexts: torch.Tensor  # (n, s) passage rows
    targets: torch.Tensor  # (n, s) passage rows
    valid: torch.Tensor  # (n, s) bool: step exists
    negatives: torch.Tensor  # (n, h) passage rows of hard negatives
    gold: torch.Tensor  # (n, MAX_GOLD) passage rows never used as negatives, padded with -1


def hard_negatives(query_vectors: np.ndarray, passages: np.ndarray, gold: Sequence[set[int]], count: int) -> np.ndarray:
    """The ``count`` best-scoring non-gold passages of each query by exact inner product."""
    out = np.zeros((len(query_vectors), count), dtype=np.int64)
    for start in range(0, len(query_vectors), 256):
        scores = query_vectors[start : start + 256] @ passages.T
        top = np.argsort(-scores, axis=1)[:, : count + 8]  # a few spare for the gold ones removed
        for row, ranked in enumerate(top):
            keep = [int(i) for i in ranked if int(i) not in gold[start + row]][:count]
            out[start + row] = keep
    return out


def tensorize(
    chains: Sequence[Chain],
    chain_vectors: np.ndarray,
    passages: np.ndarray,
    row_of: dict[str, int],
    config: TrainConfig,
) -> ChainTensors:
    usable = [i for i, c in enumerate(chains) if all(a in row_of and b in row_of for a, b in c.steps)]
    n, s = len(usable), config.max_steps
    contexts, targets = np.zeros((n, s), np.int64), np.zeros((n, s), np.int64)
    valid = np.zeros((n, s), bool)
    for out_row, i in enumerate(usable):
        for step, (a, b) in enumerate(chains[i].steps[:s]):
            contexts[out_row, step], targets[out_row, step], valid[out_row, step] = row_of[a], row_of[b], True
    gold = [{row_of[g] for g in chains[i].gold if g in row_of} for i in usable]
    gold_rows = np.full((n, MAX_GOLD), -1, np.int64)
    for out_row, rows in enumerate(gold):
        kept = sorted(rows)[:MAX_GOLD]
        gold_rows[out_row, : len(kept)] = kept
    negatives = hard_negatives(chain_vectors[usable], passages, gold, config.hard_negatives)
    return ChainTensors(
        torch.from_numpy(chain_vectors[usable]),
        torch.from_numpy(contexts),
        torch.from_numpy(targets),
        torch.from_numpy(valid),
        torch.from_numpy(negatives),
        torch.from_numpy(gold_rows),
    )


def batch_loss(
    model: TreeHopModel, batch: ChainTensors, passages: torch.Tensor, temperature: float, objective: str = "corpus"
) -> torch.Tensor:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    step_loss = _corpus_step_loss if objective == "corpus" else _sampled_step_loss
    q = batch.queries
    losses = []
    for step in range(batch.contexts.shape[1]):
        valid = batch.valid[:, step]
        if not valid.any():
            break
        q_next = model(q, passages[batch.contexts[:, step]])
        per_chain = step_loss(q_next, batch, step, passages, temperature)
        losses.append(per_chain[valid].mean())
        q = torch.where(valid[:, None], q_next, q)
    return torch.stack(losses).mean()


def _corpus_step_loss(
    q_next: torch.Tensor, batch: ChainTensors, step: int, passages: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Full softmax over the corpus; the chain's other gold passages are masked out (not negatives)."""
    target_ids = batch.targets[:, step]
    logits = q_next @ passages.T
    gold = batch.gold
    blocked = torch.zeros_like(logits, dtype=torch.bool).scatter_(1, gold.clamp(min=0), gold >= 0)
    blocked[torch.arange(len(target_ids)), target_ids] = False
    logits = logits.masked_fill(blocked, -1e4) / temperature
    return F.cross_entropy(logits, target_ids, reduction="none")


def _sampled_step_loss(
    q_next: torch.Tensor, batch: ChainTensors, step: int, passages: torch.Tensor, temperature: float
) -> torch.Tensor:
    """In-batch targets plus the question's own dense hard negatives."""
    valid = batch.valid[:, step]
    target_ids = batch.targets[:, step]
    in_batch = q_next @ passages[target_ids].T  # (b, b); the diagonal is the positive
    # Another chain whose target is the same passage is not a negative; padded steps are nobody's.
    same = target_ids[:, None] == target_ids[None, :]
    blocked = (same & ~torch.eye(len(q_next), dtype=torch.bool)) | ~valid[None, :]
    in_batch = in_batch.masked_fill(blocked, float("-inf"))
    hard = torch.einsum("bd,bhd->bh", q_next, passages[batch.negatives])
    logits = torch.cat([in_batch, hard], dim=1) / temperature
    return F.cross_entropy(logits, torch.arange(len(q_next)), reduction="none")


def _take(tensors: ChainTensors, rows: torch.Tensor) -> ChainTensors:
    return ChainTensors(*(t[rows] for t in vars(tensors).values()))


def train(
    tensors: ChainTensors,
    passages: np.ndarray,
    config: TrainConfig | None = None,
    model_config: TreeHopConfig | None = None,
    model: TreeHopModel | None = None,
) -> tuple[TreeHopModel, list[float]]:
    """Train (or continue training) a model; returns it and the mean loss of each epoch."""
    config = config or TrainConfig()
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    model = model or TreeHopModel(model_config or TreeHopConfig(embed_dim=passages.shape[1]))
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    passage_tensor = torch.from_numpy(np.ascontiguousarray(passages, np.float32))
    n = len(tensors.queries)
    steps_total = config.epochs * max(1, -(-n // config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=steps_total)
    epoch_losses = []
    for epoch in range(config.epochs):
        started, total, batches = time.perf_counter(), 0.0, 0
        for rows in torch.randperm(n).split(config.batch_size):
            loss = batch_loss(model, _take(tensors, rows), passage_tensor, config.temperature, config.objective)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total, batches = total + loss.item(), batches + 1
        epoch_losses.append(total / max(batches, 1))
        log.info("epoch %d: loss %.4f (%.1fs)", epoch + 1, epoch_losses[-1], time.perf_counter() - started)
    return model.eval(), epoch_losses


def evaluate_loss(
    model: TreeHopModel, tensors: ChainTensors, passages: np.ndarray, temperature: float, objective: str = "corpus"
) -> float:
    with torch.no_grad():
        return float(batch_loss(model.eval(), tensors, torch.from_numpy(passages), temperature, objective))
