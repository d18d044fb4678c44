"""The TreeHop search loop: a tree of query embeddings, pruned so its cost grows linearly with hops.

Each hop retrieves ``top_n`` passages per query in one batched FAISS call, drops passages already
retrieved by an earlier hop or by a better-scoring sibling (redundancy pruning), and keeps only the
``keep`` best of the layer (by their retrieval score, the "true rank") to spawn next-hop queries through
the TreeHop model. So every hop after the first costs ``keep`` queries, whatever the tree's width.

The final ranking (``ranking="merged"``, the default) gives every passage one comparable score and
sorts once: a hop-1 passage scores ``s(q, p)``; a later-hop passage ``B`` reached through ``A`` scores

    s(q', B) + path_weight · s(q, A) + question_weight · s(q, B) + hop_offset

Updated queries sit further from every passage than the question does, so ``s(q', B)`` alone is not
comparable to ``s(q, p)``; real bridge targets still share the question's relation words (``s(q, B)``)
and a path through a strong first hop is more likely right (``s(q, A)``). A passage reached several
ways keeps its best score, so a hop-1 passage that a next query finds again moves up. The weights were
tuned on the train split with 2-fold cross-fitting (docs/bench-treehop.md, round 2):
``s(q', B) + 0.5·s(q, A) + 3·s(q, B) - 1.6`` — the question's own similarity to B counts most, the
updated query decides among passages the question alone finds alike. ``ranking="interleave"`` keeps the
older rule (``lead`` best hop-1 passages, then round-robin over hops, with redundancy pruning across hops).

Next queries come from one of two contexts:

- the passage's vector, through the trained model (``q' = model(q, c)``, the paper's form);
- with a ``MentionSource`` (``mentions.py``), the vectors of the entities the passage names: one query
  ``normalize(m + λ·q)`` per (passage, entity). The graph supplies the names; a name's vector finds the
  passage about it far more often than anything computed from the pooled passage vector (docs/bench-treehop.md,
  round 3), and the merged ranking filters the wrong names out: ``s(q', B) + 0.75·s(q, A) - 0.6`` (train split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.errors import RetrievalError
from retrieval.index.faiss import FaissIndex
from retrieval.treehop.mentions import MentionSource, mention_queries
from retrieval.treehop.model import TreeHopModel
from retrieval.types import Query, ScoredChunk


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    score: float  # similarity to the query that retrieved it
    hop: int  # 1 = retrieved by the question itself
    parent: int  # index of the query (in its layer) that retrieved it
    parent_score: float = 0.0  # score of the passage that spawned that query (0 at hop 1)


RANKINGS = ("merged", "interleave")
# Tuned on the train split (2-fold: models trained on one half, knobs scored on the other half).
PATH_WEIGHT, QUESTION_WEIGHT, HOP_OFFSET = 0.5, 3.0, -1.6


@dataclass(frozen=True)
class SearchDefaults:
    keep: int  # hop-1 passages that spawn next queries
    path_weight: float
    question_weight: float
    hop_offset: float


MODEL_DEFAULTS = SearchDefaults(5, PATH_WEIGHT, QUESTION_WEIGHT, HOP_OFFSET)
# Mention queries, chosen on the train split (nothing trained: `amalgam eval tune-treehop`). They need no
# s(q, B), the question is already inside them; keeping 3 passages instead of 5 cut the queries from ~33 to
# ~21 (the hop's cost) at the same recall. Re-run on the product-built full corpus's train split (2026-12-07):
# these weights still score best (tied with λ 0.5), so they stay.
MENTION_DEFAULTS = SearchDefaults(3, 0.75, 0.0, -0.6)
MENTION_MIX = 0.7  # λ of normalize(m + λ·q)


class TreeHopRetriever:
    name = "treehop"

    def __init__(
        self,
        index: FaissIndex,
        model: TreeHopModel | None = None,
        *,
        mentions: MentionSource | None = None,
        hops: int = 2,
        top_n: int = 10,
        keep: int | None = None,
        lead: int = 3,
        ranking: str = "merged",
        path_weight: float | None = None,
        question_weight: float | None = None,
        hop_offset: float | None = None,
        mention_mix: float = MENTION_MIX,
    ):
        """Next queries from ``mentions`` when given, else from ``model``; ``keep`` and the ranking weights
        left None take the defaults tuned for that kind of query."""
        defaults = MENTION_DEFAULTS if mentions is not None else MODEL_DEFAULTS
        keep = defaults.keep if keep is None else keep
        if hops < 1 or top_n < 1 or keep < 1 or lead < 0:
            raise ValueError(f"hops, top_n, keep must be >= 1, lead >= 0 (got {hops}, {top_n}, {keep}, {lead})")
        if ranking not in RANKINGS:
            raise ValueError(f"ranking must be one of {RANKINGS}, got {ranking!r}")
        if model is None and mentions is None:
            raise ValueError("TreeHop needs a model or a mention source to make next queries")
        if mentions is None and model is not None and index.dim != model.embed_dim:
            raise RetrievalError(
                f"TreeHop model expects {model.embed_dim}-d embeddings but the index holds {index.dim}-d; "
                "retrain it for this embedder with `amalgam treehop train`"
            )
        self.index, self.model, self.mentions = index, model, mentions
        self.hops, self.top_n, self.keep, self.lead = hops, top_n, keep, lead
        self.ranking = ranking
        self.path_weight = defaults.path_weight if path_weight is None else path_weight
        self.question_weight = defaults.question_weight if question_weight is None else question_weight
        self.hop_offset = defaults.hop_offset if hop_offset is None else hop_offset
        self.mention_mix = mention_mix

    def search(self, query: Query, k: int, *, first_hop: Sequence[ScoredChunk] | None = None) -> list[ScoredChunk]:
        """The merged (or interleaved) ranking, ``k`` deep. ``first_hop``: the question's own dense ranking, at
        least ``top_n`` deep, when it was searched already (the dense signal's): hop 1 is then not searched
        again."""
        if k <= 0 or len(self.index) == 0:
            return []
        embedding = np.asarray(query.embedding, dtype=np.float32)
        layers = self.search_layers(embedding, first_hop)
        if self.ranking == "interleave":
            return [ScoredChunk(hit.chunk_id, hit.score) for hit in interleave(layers, self.lead)[:k]]
        return self.merged(layers, embedding)[:k]

    def merged(self, layers: list[list[Hit]], embedding: np.ndarray) -> list[ScoredChunk]:
        """One comparable score per passage (see the module docstring), best first."""
        if self.question_weight == 0:  # s(q, B) would count for nothing: skip the vector lookups
            to_question = dict.fromkeys((hit.chunk_id for layer in layers[1:] for hit in layer), 0.0)
        else:
            to_question = later_hop_question_scores(self.index, layers, embedding)
        return merge(
            layers,
            to_question,
            self.path_weight,
            self.question_weight,
            self.hop_offset,
        )

    def search_layers(self, embedding: np.ndarray, first_hop: Sequence[ScoredChunk] | None = None) -> list[list[Hit]]:
        """All hits, one list per hop, each best first; no passage twice in a layer, none from its own parent.
        ``first_hop`` (see ``search``) stands in for hop 1's search.

        With ``ranking="interleave"`` a passage also appears in one layer only (redundancy pruning)."""
        if embedding.shape != (self.index.dim,):
            raise RetrievalError(f"query embedding has shape {embedding.shape}, expected ({self.index.dim},)")
        queries = embedding.reshape(1, -1)
        parent_scores, parent_ids = [0.0], [""]
        # The merged ranking lets a later hop re-score an earlier hop's passage (a hop-1 passage that the
        # next query also finds is likely a bridge target), so only interleave prunes across hops.
        prune = self.ranking == "interleave"
        seen: set[str] = set()
        layers: list[list[Hit]] = []
        for hop in range(1, self.hops + 1):
            found = [first_hop[: self.top_n]] if hop == 1 and first_hop is not None else None
            hits = self._retrieve_new(queries, hop, seen if prune else set(), parent_scores, parent_ids, found)
            if not hits:
                break
            layers.append(hits)
            if hop == self.hops:
                break
            spawn = hits[: self.keep]  # layer-wise top-K: the only hits that spawn next queries
            queries, parent_scores, parent_ids = self._next_queries(embedding, queries, spawn)
            if not len(queries):
                break
        return layers

    def _next_queries(
        self, question: np.ndarray, queries: np.ndarray, spawn: list[Hit]
    ) -> tuple[np.ndarray, list[float], list[str]]:
        """The next layer's queries, with the score and id of the passage each one comes from."""
        if self.mentions is None:
            assert self.model is not None  # the constructor requires one of the two
            parents = queries[[hit.parent for hit in spawn]]
            passages = self.index.reconstruct([hit.chunk_id for hit in spawn])
            return self.model.next_queries(parents, passages), [h.score for h in spawn], [h.chunk_id for h in spawn]
        named = self.mentions.mention_vectors([hit.chunk_id for hit in spawn])
        sources = [(hit, vector) for hit in spawn for vector in named.get(hit.chunk_id, ())]
        if not sources:
            return np.zeros((0, self.index.dim), np.float32), [], []
        contexts = np.stack([vector for _, vector in sources])
        # Always the question, not the parent query: at any depth its relation words pick the right passage.
        next_queries = mention_queries(np.broadcast_to(question, contexts.shape), contexts, self.mention_mix)
        return next_queries, [hit.score for hit, _ in sources], [hit.chunk_id for hit, _ in sources]

    def _retrieve_new(
        self,
        queries: np.ndarray,
        hop: int,
        seen: set[str],
        parent_scores: list[float],
        parent_ids: list[str],
        found: Sequence[Sequence[ScoredChunk]] | None = None,
    ) -> list[Hit]:
        """Top-n per query in one batched call (or ``found``, searched already); keep each unseen passage once,
        by its best route.

        ``seen`` is updated with this layer's passages."""
        # interleave ranks by the raw score; merged also counts the path through the parent.
        route_weight = 0.0 if self.ranking == "interleave" else self.path_weight
        best: dict[str, Hit] = {}
        for parent, results in enumerate(found if found is not None else self.index.search_batch(queries, self.top_n)):
            for chunk_id, score in results:
                if chunk_id in seen or chunk_id == parent_ids[parent]:
                    continue
                hit = Hit(chunk_id, score, hop, parent, parent_scores[parent])
                old = best.get(chunk_id)
                if old is None or score + route_weight * hit.parent_score > old.score + route_weight * old.parent_score:
                    best[chunk_id] = hit
        seen.update(best)
        return sorted(best.values(), key=lambda hit: -hit.score)


def interleave(layers: list[list[Hit]], lead: int = 0) -> list[Hit]:
    """The first ``lead`` hits of hop 1, then round-robin over hops, each hop best first."""
    if not layers:
        return []
    rest = [layers[0][lead:], *layers[1:]]
    merged: list[Hit] = list(layers[0][:lead])
    for rank in range(max((len(layer) for layer in rest), default=0)):
        merged.extend(layer[rank] for layer in rest if rank < len(layer))
    return merged


def later_hop_question_scores(index: FaissIndex, layers: list[list[Hit]], embedding: np.ndarray) -> dict[str, float]:
    """``s(q, p)`` of every passage retrieved after hop 1 (what ``merge`` needs beside the hits)."""
    later = list(dict.fromkeys(hit.chunk_id for layer in layers[1:] for hit in layer))
    scores = index.reconstruct(later) @ embedding if later else np.zeros(0, np.float32)
    return dict(zip(later, scores.tolist(), strict=True))


def merge(
    layers: list[list[Hit]],
    to_question: dict[str, float],
    path_weight: float = PATH_WEIGHT,
    question_weight: float = QUESTION_WEIGHT,
    hop_offset: float = HOP_OFFSET,
) -> list[ScoredChunk]:
    """Every passage at its best route's score, best first; ``to_question`` holds ``s(q, p)`` of the
    passages of hops 2 and later (hop-1 hits already carry it)."""
    best = {hit.chunk_id: hit.score for hit in layers[0]} if layers else {}
    for hit in (hit for layer in layers[1:] for hit in layer):
        score = hit.score + path_weight * hit.parent_score + question_weight * to_question[hit.chunk_id] + hop_offset
        if score > best.get(hit.chunk_id, -np.inf):
            best[hit.chunk_id] = score
    return [ScoredChunk(c, s) for c, s in sorted(best.items(), key=lambda item: -item[1])]
