"""The TreeHop search loop: a tree of query embeddings, pruned so its cost grows linearly with hops.

Each hop retrieves ``top_n`` passages per query in one batched FAISS call, drops passages already
retrieved by an earlier hop or by a better-scoring sibling (redundancy pruning), and keeps only the
``keep`` best of the layer (by their retrieval score, the "true rank") to spawn next-hop queries through
the TreeHop model. So every hop after the first costs ``keep`` queries, whatever the tree's width.

The final ranking keeps the ``lead`` best hop-1 passages first (the question's own best matches are
the most reliable hits), then interleaves the layers (next of hop 1, best of hop 2, ...): a multi-hop
answer needs one passage from each hop, and scores of different hops are not comparable (updated
queries sit further from every passage than the question does). ``lead=3`` was chosen on the train
split (see docs/bench-treehop.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.errors import RetrievalError
from retrieval.index.faiss import FaissIndex
from retrieval.treehop.model import TreeHopModel
from retrieval.types import Query, ScoredChunk


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    score: float  # similarity to the query that retrieved it
    hop: int  # 1 = retrieved by the question itself
    parent: int  # index of the query (in its layer) that retrieved it


class TreeHopRetriever:
    name = "treehop"

    def __init__(
        self,
        index: FaissIndex,
        model: TreeHopModel,
        *,
        hops: int = 2,
        top_n: int = 5,
        keep: int = 5,
        lead: int = 3,
    ):
        if hops < 1 or top_n < 1 or keep < 1 or lead < 0:
            raise ValueError(f"hops, top_n, keep must be >= 1, lead >= 0 (got {hops}, {top_n}, {keep}, {lead})")
        if index.dim != model.embed_dim:
            raise RetrievalError(
                f"TreeHop model expects {model.embed_dim}-d embeddings but the index holds {index.dim}-d; "
                "retrain it for this embedder with `amalgam treehop train`"
            )
        self.index, self.model = index, model
        self.hops, self.top_n, self.keep, self.lead = hops, top_n, keep, lead

    def search(self, query: Query, k: int) -> list[ScoredChunk]:
        if k <= 0 or len(self.index) == 0:
            return []
        layers = self.search_layers(np.asarray(query.embedding, dtype=np.float32))
        return [ScoredChunk(hit.chunk_id, hit.score) for hit in interleave(layers, self.lead)[:k]]

    def search_layers(self, embedding: np.ndarray) -> list[list[Hit]]:
        """All hits, one list per hop, each best first; duplicates across and within hops removed."""
        if embedding.shape != (self.index.dim,):
            raise RetrievalError(f"query embedding has shape {embedding.shape}, expected ({self.index.dim},)")
        queries = embedding.reshape(1, -1)
        seen: set[str] = set()
        layers: list[list[Hit]] = []
        for hop in range(1, self.hops + 1):
            hits = self._retrieve_new(queries, hop, seen)
            if not hits:
                break
            layers.append(hits)
            if hop == self.hops:
                break
            spawn = hits[: self.keep]  # layer-wise top-K: the only hits that spawn next queries
            parents = queries[[hit.parent for hit in spawn]]
            passages = self.index.reconstruct([hit.chunk_id for hit in spawn])
            queries = self.model.next_queries(parents, passages)
        return layers

    def _retrieve_new(self, queries: np.ndarray, hop: int, seen: set[str]) -> list[Hit]:
        """Top-n per query in one batched call; keep each unseen passage once, at its best score."""
        best: dict[str, Hit] = {}
        for parent, results in enumerate(self.index.search_batch(queries, self.top_n)):
            for chunk_id, score in results:
                if chunk_id in seen:
                    continue
                if chunk_id not in best or score > best[chunk_id].score:
                    best[chunk_id] = Hit(chunk_id, score, hop, parent)
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
