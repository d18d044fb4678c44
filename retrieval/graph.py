"""Topology-aware graph retrieval (HippoRAG 2; "Augmenting Textual Generation via Topology Aware Retrieval").

1. Entity linking: question n-grams matched to entity names/aliases, plus the entities nearest the
   question embedding; each link has a score.
2. One ``store.subgraph()`` read around the seeds, turned into a sparse entity–chunk graph in-process.
3. Three chunk rankings over it: personalized PageRank from the seeds (passage nodes also weighted
   lightly by their dense scores), proximity (chunks close to many seeds), and role (chunks of entities
   whose FastRP structural embedding is close to the seeds').
No linked entity: the retriever abstains (empty rankings and a note); the other retrievers still answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from graph.algorithms.fastrp import fastrp
from graph.algorithms.hops import bounded_hop_distances
from graph.algorithms.ppr import personalized_pagerank
from graph.store.base import GraphStore, Subgraph
from ingest.stopwords import STOPWORDS
from retrieval.types import EntityLink, Query, ScoredChunk

_WORD = re.compile(r"[\w][\w'’.&-]*")
ABSTAIN_NOTE = "graph retriever abstained: no entity of the question was found in the graph"


@dataclass
class GraphSignals:
    """The three graph rankings of one question, computed together from one subgraph read."""

    ppr: list[ScoredChunk] = field(default_factory=list)
    proximity: list[ScoredChunk] = field(default_factory=list)
    role: list[ScoredChunk] = field(default_factory=list)
    links: list[EntityLink] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def question_ngrams(text: str, max_len: int = 6) -> list[str]:
    """Candidate surface forms: every n-gram that is not only stop words, possessives stripped."""
    words = [w.rstrip(".,'’").removesuffix("'s").removesuffix("’s") for w in _WORD.findall(text)]
    words = [w for w in words if w]
    grams: list[str] = []
    for n in range(1, max_len + 1):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if all(w.lower() in STOPWORDS for w in gram) or gram[0].lower() in STOPWORDS and n > 1:
                continue
            grams.append(" ".join(gram))
    return list(dict.fromkeys(grams))


def _alias_score(surface: str) -> float:
    """Names with a capital or a digit are confident links; a lowercase common word less so."""
    return 1.0 if any(c.isupper() or c.isdigit() for c in surface) or " " in surface else 0.5


@dataclass
class _Graph:
    nodes: list[str]  # entity ids first, then chunk ids
    n_entities: int
    adjacency: sp.csr_matrix


@dataclass(frozen=True)
class PreparedGraph:
    """A question's alias links and the graph read around them (None without links), before its embedding."""

    links: list[EntityLink]
    graph: _Graph | None


def build_graph(subgraph: Subgraph) -> _Graph:
    """Undirected weighted entity–chunk graph: mentions weigh 1, relations log(1 + evidence count).

    Ids become positions with one dict lookup each (``map``) and the edges become arrays: around a hub the
    subgraph holds tens of thousands of mentions, and a Python loop over them was a tenth of a question."""
    entity_ids = list(dict.fromkeys(subgraph.entity_ids))
    chunk_ids = list(dict.fromkeys(subgraph.chunk_ids))
    nodes = entity_ids + chunk_ids
    position = {node: i for i, node in enumerate(nodes)}
    mention_rows, mention_cols = _positions(position, subgraph.mentions)
    relation_rows, relation_cols = _positions(position, [(s, t) for s, t, _ in subgraph.relations])
    evidence = np.array([weight for _, _, weight in subgraph.relations], dtype=np.float64)
    relation_weights = np.log1p(np.maximum(evidence, 0.0))
    relation_weights[relation_weights == 0] = 1.0
    mentions_kept = (mention_rows >= 0) & (mention_cols >= 0)
    relations_kept = (relation_rows >= 0) & (relation_cols >= 0) & (relation_rows != relation_cols)
    rows = np.concatenate([mention_rows[mentions_kept], relation_rows[relations_kept]])
    cols = np.concatenate([mention_cols[mentions_kept], relation_cols[relations_kept]])
    weights = np.concatenate([np.ones(int(mentions_kept.sum())), relation_weights[relations_kept]])
    n = len(nodes)
    half = sp.coo_matrix((weights, (rows, cols)), shape=(n, n))
    return _Graph(nodes, len(entity_ids), sp.csr_matrix(half + half.T))


def _positions(position: dict[str, int], pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The positions of each pair's two ids (-1 for an id not in ``position``), as two arrays."""
    firsts = np.fromiter(map(position.get, (a for a, _ in pairs), repeat(-1)), dtype=np.int64, count=len(pairs))
    seconds = np.fromiter(map(position.get, (b for _, b in pairs), repeat(-1)), dtype=np.int64, count=len(pairs))
    return firsts, seconds


class GraphRetriever:
    name = "graph"

    def __init__(
        self,
        store: GraphStore,
        *,
        hops: int = 1,
        # Chosen on the train split (bench/graph_limit.py): 2000 / 1000 / 500 / 250 entities gave hybrid R@5
        # 79.2 / 79.2 / 78.9 / 79.2 and p95 282 / 259 / 200 / 185 ms on the full corpus.
        subgraph_limit: int = 250,
        damping: float = 0.7,  # chosen on the train split: 0.3 / 0.5 / 0.7 gave hybrid R@5 72.6 / 73.9 / 74.5
        passage_weight: float = 0.05,
        link_k: int = 5,
        link_min_score: float = 0.75,
        role_entities: int = 10,
    ) -> None:
        self.store = store
        self.hops = hops
        self.subgraph_limit = subgraph_limit
        self.damping = damping
        self.passage_weight = passage_weight
        self.link_k = link_k
        self.link_min_score = link_min_score
        self.role_entities = role_entities

    # -- entity linking ----------------------------------------------------------------------------
    def link_entities(self, query: Query) -> list[EntityLink]:
        """Entities named in the question, then those nearest its embedding; names and types only are read,
        so a hub entity (named in thousands of chunks) links as cheaply as any other."""
        return self._with_nearest(self.alias_links(query.text), query)

    def alias_links(self, text: str) -> list[EntityLink]:
        """The entities the question names (its n-grams matched to names and aliases), best first; the text
        alone decides them, so they can be read while the question is still being embedded."""
        links: dict[str, EntityLink] = {}
        grams = question_ngrams(text)
        by_surface = {g.casefold(): g for g in grams}
        for match in self.store.find_entity_names(grams) if grams else []:
            score = max((_alias_score(by_surface[s]) for s in match.matched if s in by_surface), default=1.0)
            links[match.entity.id] = EntityLink(match.entity.id, match.entity.name, score, "alias")
        return sorted(links.values(), key=lambda link: -link.score)

    def _with_nearest(self, alias: list[EntityLink], query: Query) -> list[EntityLink]:
        """``alias`` and the entities nearest the question's embedding that it lacks, best first."""
        links = {link.entity_id: link for link in alias}
        nearest = [
            (entity_id, score)
            for entity_id, score in self.store.nearest_entities(query.embedding.tolist(), self.link_k)
            if score >= self.link_min_score and entity_id not in links
        ]
        names = {e.id: e.name for e in self.store.entity_names([entity_id for entity_id, _ in nearest])}
        for entity_id, score in nearest:
            if entity_id in names:
                links[entity_id] = EntityLink(entity_id, names[entity_id], float(score), "embedding")
        return sorted(links.values(), key=lambda link: -link.score)

    def prepare(self, text: str) -> PreparedGraph:
        """What the question's text alone decides: its alias links and the graph around them. The retriever
        runs this while the question is embedded; ``signals`` uses it when the embedding links nothing more
        (on the multi-hop train split, 199 of 200 questions), else it reads the graph again."""
        links = self.alias_links(text)
        return PreparedGraph(links, self._graph(links) if links else None)

    def _graph_for(self, links: Sequence[EntityLink], prepared: PreparedGraph | None) -> _Graph:
        """The prepared graph where the seeds are the ones it was read around, else a fresh read."""
        seeds = [link.entity_id for link in links]
        if prepared is not None and prepared.graph is not None and seeds == [a.entity_id for a in prepared.links]:
            return prepared.graph
        return self._graph(links)

    def _graph(self, links: Sequence[EntityLink]) -> _Graph:
        return build_graph(self.store.subgraph([link.entity_id for link in links], self.hops, self.subgraph_limit))

    # -- ranking -----------------------------------------------------------------------------------
    def signals(
        self,
        query: Query,
        k: int,
        dense_hits: Sequence[ScoredChunk] | Callable[[], Sequence[ScoredChunk]] = (),
        compute: Collection[str] = ("ppr", "proximity", "role"),
        prepared: PreparedGraph | None = None,
    ) -> GraphSignals:
        """The graph rankings named in ``compute`` (the others stay empty: a zero-weight signal costs nothing);
        ``dense_hits``: PPR's light start, or a function that gives it (called only when PPR needs it, so the
        linking and the proximity ranking need not wait for the dense search); ``prepared``:
        ``prepare(query.text)``, already done."""
        alias = prepared.links if prepared is not None else self.alias_links(query.text)
        links = self._with_nearest(alias, query)
        if not links:
            return GraphSignals(notes=[ABSTAIN_NOTE])
        graph = self._graph_for(links, prepared)
        position = {node: i for i, node in enumerate(graph.nodes)}
        seeds = {position[link.entity_id]: link.score for link in links if link.entity_id in position}
        if not seeds or graph.adjacency.nnz == 0:
            return GraphSignals(links=links, notes=[ABSTAIN_NOTE])
        seed_weights = self._seed_weights(graph, seeds)
        proximity = self._proximity(graph, seed_weights, k) if "proximity" in compute else []
        role = self._role(graph, seed_weights, k) if "role" in compute else []
        ppr: list[ScoredChunk] = []
        if "ppr" in compute:
            start = dense_hits() if callable(dense_hits) else dense_hits
            ppr = self._ppr(graph, seed_weights, position, start, k)
        return GraphSignals(ppr=ppr, proximity=proximity, role=role, links=links)

    def search(self, query: Query, k: int) -> list[ScoredChunk]:
        return self.signals(query, k).ppr

    def _seed_weights(self, graph: _Graph, seeds: dict[int, float]) -> dict[int, float]:
        """Link score / sqrt(#chunks mentioning the entity): specific entities steer more (HippoRAG)."""
        chunk_degree = np.asarray((graph.adjacency[:, graph.n_entities :] != 0).sum(axis=1)).ravel()
        return {i: score / float(np.sqrt(max(chunk_degree[i], 1))) for i, score in seeds.items()}

    def _chunk_ranking(self, graph: _Graph, scores: np.ndarray, k: int) -> list[ScoredChunk]:
        chunk_scores = scores[graph.n_entities :]
        order = np.argsort(-chunk_scores, kind="stable")[:k]
        return [
            ScoredChunk(graph.nodes[graph.n_entities + i], float(chunk_scores[i])) for i in order if chunk_scores[i] > 0
        ]

    def _ppr(
        self,
        graph: _Graph,
        seed_weights: dict[int, float],
        position: dict[str, int],
        dense_hits: Sequence[ScoredChunk],
        k: int,
    ) -> list[ScoredChunk]:
        restart = np.zeros(len(graph.nodes))
        for i, weight in seed_weights.items():
            restart[i] = weight
        restart /= restart.sum()
        dense = [(position[h.chunk_id], max(h.score, 0.0)) for h in dense_hits if h.chunk_id in position]
        total = sum(score for _, score in dense)
        for i, score in dense:
            restart[i] += self.passage_weight * score / total if total > 0 else 0.0
        return self._chunk_ranking(graph, personalized_pagerank(graph.adjacency, restart, damping=self.damping), k)

    def _proximity(self, graph: _Graph, seed_weights: dict[int, float], k: int) -> list[ScoredChunk]:
        """Each seed gives 0.5**(d-1) to a chunk d steps away: chunks near several seeds (bridges) win."""
        seed_index = list(seed_weights)
        max_distance = 2 * self.hops + 1
        distances = bounded_hop_distances(graph.adjacency, seed_index, max_distance)  # symmetric: one direction
        closeness = np.where(distances <= max_distance, 0.5 ** (distances - 1), 0.0)
        weights = np.array([seed_weights[i] for i in seed_index])
        return self._chunk_ranking(graph, weights @ closeness, k)

    def _role(self, graph: _Graph, seed_weights: dict[int, float], k: int) -> list[ScoredChunk]:
        """Chunks of non-seed entities whose structural embedding is nearest the seeds' weighted mean."""
        embedding = fastrp(graph.adjacency)
        seed_index = list(seed_weights)
        centre = np.average(embedding[seed_index], axis=0, weights=[seed_weights[i] for i in seed_index])
        similarity = embedding[: graph.n_entities] @ centre
        similarity[seed_index] = -np.inf
        nearest = [i for i in np.argsort(-similarity)[: self.role_entities] if np.isfinite(similarity[i])]
        scores = np.zeros(len(graph.nodes))
        mentions = graph.adjacency[:, graph.n_entities :]
        for i in nearest:
            chunk_columns = mentions[i].indices
            scores[graph.n_entities + chunk_columns] = np.maximum(
                scores[graph.n_entities + chunk_columns], max(float(similarity[i]), 1e-6)
            )
        return self._chunk_ranking(graph, scores, k)
