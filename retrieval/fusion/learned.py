"""Learned fusion: a logistic model over each candidate's signal ranks, graph co-evidence and document title.

Reciprocal-rank fusion sees only where each signal ranked a chunk. Things it cannot see decide many
multi-hop questions: how close a chunk is to the question once all candidates are compared on one scale
(the dense cosine of every candidate, not only the dense top 50), and whether it is *connected* to the
other evidence — it mentions an entity the question names, or shares an entity with the chunks ranked
first (the bridge passage of a two-hop question shares the bridge entity with the first hop). A third
is whether the chunk's document is *about* a name the question or the dense top chunks use: its title
(``retrieval/fusion/titles.py``). The model is linear, so it ships as a few dozen numbers in JSON and its
weights can be read; it is trained on the train split only (``amalgam eval train-fusion``), never on dev.
``LearnedRanking`` is its ``Fusion``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.errors import AmalgamError, ConfigError
from retrieval.fusion.base import FusedHit
from retrieval.fusion.rrf import FusionWeights, weighted_rrf
from retrieval.fusion.titles import TITLE_FEATURES, title_features
from retrieval.signals.base import QuestionContext, Ranking
from retrieval.types import Query, ScoredChunk

if TYPE_CHECKING:
    from graph.store.base import ChunkTitle, GraphStore
    from retrieval.index.indexset import IndexSet

DEFAULT_PATH = Path(__file__).parent.parent / "weights" / "learned-fusion.json"
SIGNALS = ("dense", "bm25", "ppr", "proximity", "role", "treehop")
PER_SIGNAL = ("rrf", "log_rank", "present", "relative_score")
GRAPH_FEATURES = (
    "question_entities",  # entities of the question the chunk mentions
    "shares_with_top",  # sum of 1/(1+r) over the fused top chunks r it shares an entity with
    "shares_with_dense_top",  # the same over the dense top chunks
    "bridges_to_question",  # fused top chunks it shares an entity with that mention a question entity
    "log_entities",
)
FEATURES = (
    *(f"{signal}.{kind}" for signal in SIGNALS for kind in PER_SIGNAL),
    "cosine",
    "cosine_gap",
    "signals",
    *GRAPH_FEATURES,
    *TITLE_FEATURES,
)
# The signals `amalgam eval train-fusion` fits the shipped model on. Role is left out: on the product-built
# full corpus's train split (700 questions, 2-fold) the model scored macro R@5 78.65 with every signal and
# 79.12 without role (without proximity 78.84, without both 78.60, without PPR 78.03), and role's FastRP is
# ~10 ms of a question's critical path. A signal the model does not read is not computed.
TRAINED_SIGNALS = ("dense", "bm25", "ppr", "proximity", "treehop")
MISSING_RANK = 60  # a chunk a signal did not rank counts as ranked just below its depth
TOP = 5  # how many first-stage chunks the co-evidence features compare against
HUB_SHARE, HUB_MIN_CHUNKS = 0.25, 35  # an entity in more candidates than both is a hub, not co-evidence
PRESENT = [FEATURES.index(f"{signal}.present") for signal in SIGNALS]
LOG_RANK = [FEATURES.index(f"{signal}.log_rank") for signal in SIGNALS]


@dataclass
class Candidates:
    """Everything the features are computed from, for one question."""

    rankings: Mapping[str, Sequence[ScoredChunk]]  # each signal's ranking, best first
    cosines: Mapping[str, float]  # dense cosine of every candidate to the question
    entities: Mapping[str, set[str]]  # entity ids each candidate mentions
    question_entities: set[str]  # entities the question names (alias links)
    rrf_weights: Mapping[str, float]
    rrf_k: int
    question: str = ""
    titles: Mapping[str, ChunkTitle] = field(default_factory=dict)  # each candidate's document and its title
    texts: Mapping[str, str] = field(default_factory=dict)  # the text of the dense top chunks

    def chunk_ids(self) -> list[str]:
        return candidate_ids(self.rankings)


def gather_candidates(
    rankings: Mapping[str, Ranking], query: Query, store: GraphStore, indexes: IndexSet, weights: FusionWeights
) -> Candidates:
    """What the model needs beyond the rankings: every candidate's dense cosine (from the index's stored
    vectors), entities and document title (one store read each), the entities the question names (the graph's
    alias links), and the text of the dense top chunks."""
    hits = {name: ranking.hits for name, ranking in rankings.items()}
    chunk_ids = candidate_ids(hits)
    if not chunk_ids:
        return Candidates(hits, {}, {}, set(), weights.as_dict(), weights.rrf_k, query.text)
    indexed = [c for c in chunk_ids if c in indexes.dense]
    cosines = dict(zip(indexed, (indexes.dense.reconstruct(indexed) @ query.embedding).tolist(), strict=True))
    entities = {c: set(ids) for c, ids in store.entities_of_chunks(chunk_ids).items()}
    asked = {link.entity_id for ranking in rankings.values() for link in ranking.links if link.how == "alias"}
    texts = {chunk.id: chunk.text for chunk in store.get_chunks(_dense_top(hits))}
    titles = store.titles_of_chunks(chunk_ids)
    return Candidates(hits, cosines, entities, asked, weights.as_dict(), weights.rrf_k, query.text, titles, texts)


def _dense_top(rankings: Mapping[str, Sequence[ScoredChunk]]) -> list[str]:
    return list(dict.fromkeys(hit.chunk_id for hit in rankings.get("dense", [])))[:TOP]


def model_features(signals: Collection[str]) -> list[str]:
    """The features a model over ``signals`` reads: theirs, then every feature of no particular signal."""
    unknown = sorted(set(signals) - set(SIGNALS))
    if unknown:
        raise ConfigError(f"the learned fusion knows no signal {unknown}; known: {', '.join(SIGNALS)}")
    own = [f"{signal}.{kind}" for signal in SIGNALS if signal in signals for kind in PER_SIGNAL]
    return [*own, *(feature for feature in FEATURES if "." not in feature)]


def candidate_ids(rankings: Mapping[str, Sequence[ScoredChunk]]) -> list[str]:
    """Every chunk any signal ranked, once, in order of first appearance."""
    return list(dict.fromkeys(hit.chunk_id for ranking in rankings.values() for hit in ranking))


def _signal_features(candidates: Candidates, chunk_ids: list[str]) -> np.ndarray:
    columns = np.zeros((len(chunk_ids), len(SIGNALS) * len(PER_SIGNAL)))
    columns[:, 1 :: len(PER_SIGNAL)] = np.log(MISSING_RANK)
    row_of = {chunk_id: i for i, chunk_id in enumerate(chunk_ids)}
    for s, signal in enumerate(SIGNALS):
        ranking = candidates.rankings.get(signal, [])
        top_score = max((hit.score for hit in ranking), default=1.0) or 1.0
        seen: set[str] = set()
        for hit in ranking:
            if hit.chunk_id in seen:
                continue  # a signal votes once per chunk, as in RRF
            seen.add(hit.chunk_id)
            rank, base = len(seen), s * len(PER_SIGNAL)
            columns[row_of[hit.chunk_id], base : base + len(PER_SIGNAL)] = (
                1.0 / (candidates.rrf_k + rank),
                np.log(rank),
                1.0,
                hit.score / top_score,
            )
    return columns


def _graph_features(candidates: Candidates, chunk_ids: list[str], dense_top: list[str]) -> np.ndarray:
    """Co-evidence columns (``GRAPH_FEATURES``) from the (chunk, entity) mention pairs as two index arrays: a
    question's ~200 candidates are compared with ten top chunks by a few ``bincount`` calls, where comparing
    the entity sets pair by pair was half the fusion's time."""
    fused = weighted_rrf(candidates.rankings, candidates.rrf_weights, k_rrf=candidates.rrf_k, limit=TOP)
    top = [hit.chunk_id for hit in fused]
    rows = list(dict.fromkeys([*chunk_ids, *top, *dense_top]))  # chunk_ids lead: row i is chunk_ids[i]
    row_of = {chunk_id: i for i, chunk_id in enumerate(rows)}
    pairs = _mention_pairs(rows, candidates.entities)
    question_entities = pairs.count_per_row(pairs.columns_of(candidates.question_entities))
    names_question = question_entities > 0

    def sharing(others: list[str]) -> np.ndarray:
        """Per chunk (rows) and other chunk (columns): do they share an entity; a chunk never shares with
        itself."""
        shared = np.zeros((len(chunk_ids), len(others)), dtype=bool)
        for column, other in enumerate(others):
            shared[:, column] = pairs.count_per_row(pairs.entities_of(row_of[other]))[: len(chunk_ids)] > 0
            if row_of[other] < len(chunk_ids):
                shared[row_of[other], column] = False
        return shared

    def rank_weighted(shared: np.ndarray) -> np.ndarray:
        return np.where(shared, 1.0 / (1.0 + np.arange(shared.shape[1])), 0.0).sum(axis=1)

    with_top, with_dense_top = sharing(top), sharing(dense_top)
    top_names_question = names_question[[row_of[o] for o in top]]
    return np.column_stack(
        [
            question_entities[: len(chunk_ids)],
            rank_weighted(with_top),
            rank_weighted(with_dense_top),
            (with_top & top_names_question[None, :]).sum(axis=1),
            np.log1p(pairs.count_per_row(np.ones(pairs.n_entities, dtype=bool))[: len(chunk_ids)]),
        ]
    ).astype(float)


@dataclass
class _MentionPairs:
    """(row, entity column) index pairs of which chunk mentions which entity, local hubs left out."""

    rows: np.ndarray
    entity_columns: np.ndarray
    column_of: dict[str, int]
    n_rows: int

    @property
    def n_entities(self) -> int:
        return len(self.column_of)

    def columns_of(self, entity_ids: Collection[str]) -> np.ndarray:
        """A mask over the entity columns: these entities."""
        mask = np.zeros(self.n_entities, dtype=bool)
        mask[[self.column_of[e] for e in entity_ids if e in self.column_of]] = True
        return mask

    def entities_of(self, row: int) -> np.ndarray:
        """A mask over the entity columns: the ones ``row`` mentions."""
        mask = np.zeros(self.n_entities, dtype=bool)
        mask[self.entity_columns[self.rows == row]] = True
        return mask

    def count_per_row(self, entity_mask: np.ndarray) -> np.ndarray:
        """How many of the masked entities each row mentions."""
        return np.bincount(self.rows, weights=entity_mask[self.entity_columns], minlength=self.n_rows)


def _mention_pairs(rows: list[str], entities: Mapping[str, set[str]]) -> _MentionPairs:
    """The rows' mention pairs without local hubs: an entity in more of the rows than ``HUB_SHARE`` of them
    (and ``HUB_MIN_CHUNKS``) is "United States" in a news corpus, and sharing it says nothing. The training
    graph had such hubs removed corpus-wide (none in more than 35 passages), so this keeps a graph that still
    has them close to it."""
    mentioned = [entities.get(c, ()) for c in rows]
    flat = [e for ids in mentioned for e in ids]
    column_of = {e: i for i, e in enumerate(dict.fromkeys(flat))}
    row_index = np.repeat(np.arange(len(rows)), [len(ids) for ids in mentioned])
    columns = np.fromiter(map(column_of.__getitem__, flat), dtype=np.int64, count=len(flat))
    hubs = np.bincount(columns, minlength=len(column_of)) > max(HUB_MIN_CHUNKS, HUB_SHARE * len(rows))
    kept = ~hubs[columns]
    return _MentionPairs(row_index[kept], columns[kept], column_of, len(rows))


def candidate_features(candidates: Candidates) -> tuple[list[str], np.ndarray]:
    """The candidate chunk ids (every chunk any signal ranked) and their feature matrix, columns = FEATURES."""
    chunk_ids = candidates.chunk_ids()
    if not chunk_ids:
        return [], np.zeros((0, len(FEATURES)))
    cosine = np.array([candidates.cosines.get(c, 0.0) for c in chunk_ids])
    signal_part = _signal_features(candidates, chunk_ids)
    signal_count = signal_part[:, PRESENT].sum(axis=1)
    overall = np.column_stack([cosine, cosine - cosine.max(), signal_count])
    dense_top = _dense_top(candidates.rankings)
    graph_part = _graph_features(candidates, chunk_ids, dense_top)
    titled = title_features(candidates.question, chunk_ids, candidates.titles, dense_top, candidates.texts)
    return chunk_ids, np.hstack([signal_part, overall, graph_part, titled])


@dataclass
class LearnedFusion:
    """Standardised features -> logistic score; higher ranks first."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float

    @property
    def signals(self) -> tuple[str, ...]:
        """The signals the model reads (any of its features), in ``SIGNALS`` order: the retriever computes
        only these when this model fuses."""
        return tuple(signal for signal in SIGNALS if any(f.startswith(f"{signal}.") for f in self.features))

    def score(self, matrix: np.ndarray) -> np.ndarray:
        """Logits of a ``candidate_features`` matrix (every column of ``FEATURES``; the model reads its own)."""
        columns = [FEATURES.index(feature) for feature in self.features]
        standard = (matrix[:, columns] - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(standard @ np.asarray(self.weights) + self.bias)

    def fuse(self, candidates: Candidates, limit: int) -> list[FusedHit]:
        """Candidates best first; a hit's score is the model's probability that it is evidence (sorted by the
        logit, which does not saturate to ties the way the probability does)."""
        chunk_ids, matrix = candidate_features(candidates)
        logits = self.score(matrix) if chunk_ids else np.zeros(0)
        order = sorted(range(len(chunk_ids)), key=lambda i: (-float(logits[i]), chunk_ids[i]))[:limit]
        return [
            FusedHit(chunk_ids[i], float(1.0 / (1.0 + np.exp(-logits[i]))), _found_by(candidates, matrix[i]))
            for i in order
        ]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> LearnedFusion:
        try:
            model = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"cannot read the learned fusion model {path}: {exc}") from exc
        unknown = sorted(set(model.features) - set(FEATURES))
        sizes = {len(model.features), len(model.mean), len(model.scale), len(model.weights)}
        if unknown or len(sizes) != 1:
            problem = f"unknown features {unknown}" if unknown else "features, mean, scale and weights differ in length"
            raise ConfigError(f"{path} does not fit this code ({problem}); retrain with `amalgam eval train-fusion`")
        return model


class LearnedRanking:
    """The ``Fusion`` over the learned model; it ranks where every signal the model reads was computed, and
    a signal it does not read is not computed at all."""

    name = "learned"

    def __init__(self, model: LearnedFusion, weights: FusionWeights | None = None) -> None:
        self.model = model
        self.weights = weights or FusionWeights()  # its RRF features use the same weights as RRF

    def weighs(self, signal: str) -> bool:
        return signal in self.model.signals

    def fits(self, signals: Collection[str]) -> bool:
        return set(signals) >= set(self.model.signals)

    def fuse(self, rankings: Mapping[str, Ranking], context: QuestionContext, limit: int) -> list[FusedHit]:
        candidates = gather_candidates(rankings, context.query, context.store, context.indexes, self.weights)
        return self.model.fuse(candidates, limit=limit)


def load_learned_fusion(path: Path = DEFAULT_PATH) -> LearnedFusion | None:
    """The shipped learned fusion, or None (RRF then fuses alone) when it is missing or outdated."""
    try:
        return LearnedFusion.load(path)
    except AmalgamError:
        return None


def _found_by(candidates: Candidates, row: np.ndarray) -> list[str]:
    """Signals that ranked the chunk, best rank first, ties in the rankings' order (what the evidence's
    ``retrievers`` reports), read off the row's presence and rank features."""
    column = {signal: s for s, signal in enumerate(SIGNALS)}
    ranked = [signal for signal in candidates.rankings if signal in column and row[PRESENT[column[signal]]]]
    return sorted(ranked, key=lambda signal: row[LOG_RANK[column[signal]]])
