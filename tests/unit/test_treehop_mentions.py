"""TreeHop with mention queries: name vectors, the query formula, and the search loop spawning one query per
(passage, named entity)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from retrieval.index.faiss import FaissIndex
from retrieval.signals.base import QuestionContext
from retrieval.signals.dense import DenseSignal
from retrieval.signals.treehop import TreeHopSignal
from retrieval.treehop.mentions import NameVectors, mention_queries
from retrieval.treehop.search import MENTION_DEFAULTS, TreeHopRetriever
from retrieval.types import Query

DIM = 16


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


class CountingEmbedder:
    """A deterministic hash embedding that records what it was asked to embed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = [np.random.default_rng(sum(map(ord, t))).normal(size=DIM) for t in texts]
        return unit(np.array(rows))


class DictMentions:
    """A ``MentionSource`` over a fixed chunk -> vectors table, recording which chunks were asked for."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table, self.asked = table, []  # type: list[str]

    def mention_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        self.asked.extend(chunk_ids)
        return {c: self.table[c] for c in chunk_ids if c in self.table}


def test_mention_query_is_the_name_steered_by_the_question() -> None:
    rng = np.random.default_rng(0)
    q, m = unit(rng.normal(size=(3, DIM))), unit(rng.normal(size=(3, DIM)))
    out = mention_queries(q, m, 0.5)
    np.testing.assert_allclose(out, unit(m + 0.5 * q), atol=1e-6)
    np.testing.assert_allclose(mention_queries(q, m, 0.0), m, atol=1e-6)


def test_name_vectors_embed_each_name_once_and_round_trip(tmp_path: Path) -> None:
    embed = CountingEmbedder()
    names = NameVectors(embed, "model-a")
    first = names.get(["Orvieto", "Umbria", "Orvieto"])
    assert first.shape == (3, DIM) and embed.calls == [["Orvieto", "Umbria"]]
    np.testing.assert_array_equal(first[0], first[2])
    names.get(["Umbria", "Perugia"])
    assert embed.calls[-1] == ["Perugia"] and len(names) == 3
    names.save(tmp_path / "names.npz")
    reloaded = NameVectors(CountingEmbedder(), "model-a")
    assert reloaded.load(tmp_path / "names.npz") and len(reloaded) == 3
    np.testing.assert_array_equal(reloaded.get(["Umbria"]), names.get(["Umbria"]))
    assert reloaded.embed.calls == []  # type: ignore[attr-defined]
    assert not NameVectors(embed, "model-b").load(tmp_path / "names.npz")  # another embedder's cache
    assert not NameVectors(embed, "model-a").load(tmp_path / "missing.npz")
    (tmp_path / "broken.npz").write_bytes(b"not a cache")
    assert not NameVectors(embed, "model-a").load(tmp_path / "broken.npz")


@pytest.fixture
def bridge() -> tuple[FaissIndex, np.ndarray, dict[str, np.ndarray]]:
    """50 random passages; the question is near passage "a", which names an entity whose passage is "b"."""
    rng = np.random.default_rng(3)
    index = FaissIndex(DIM)
    vectors = unit(rng.normal(size=(50, DIM)))
    index.add([f"p{i}" for i in range(48)] + ["a", "b"], vectors)
    question = unit(vectors[48] + 0.2 * rng.normal(size=DIM))
    entity = unit(vectors[49] + 0.05 * rng.normal(size=DIM))  # the name's vector is close to its passage
    mentions = {"a": np.stack([entity, unit(rng.normal(size=DIM))])}
    return index, question, mentions


def test_mention_hop_reaches_the_passage_about_the_named_entity(bridge) -> None:  # type: ignore[no-untyped-def]
    index, question, table = bridge
    source = DictMentions(table)
    retriever = TreeHopRetriever(index, mentions=source, hops=2, top_n=3, keep=4)
    layers = retriever.search_layers(question)
    assert layers[0][0].chunk_id == "a"
    assert source.asked == [h.chunk_id for h in layers[0][:4]]  # only the kept passages spawn queries
    from_a = [h for h in layers[1] if h.chunk_id == "b"]
    assert from_a and from_a[0].parent_score == layers[0][0].score
    assert {h.parent for h in layers[1]} <= {0, 1}  # two queries: one per name of "a", none for the others
    ranked = [c.chunk_id for c in retriever.search(Query("q", question), 5)]
    assert set(ranked[:2]) == {"a", "b"}
    assert "b" not in [c.chunk_id for c in index.search(question, 5)]  # the question alone misses it


def test_mention_mode_takes_its_own_weights_and_needs_a_context(bridge) -> None:  # type: ignore[no-untyped-def]
    index, _, table = bridge
    retriever = TreeHopRetriever(index, mentions=DictMentions(table))
    weights = (retriever.keep, retriever.path_weight, retriever.question_weight, retriever.hop_offset)
    assert weights == astuple(MENTION_DEFAULTS)
    assert TreeHopRetriever(index, mentions=DictMentions(table), hop_offset=-2.0).hop_offset == -2.0
    with pytest.raises(ValueError, match="model or a mention source"):
        TreeHopRetriever(index)


def test_mention_merged_score_follows_the_formula(bridge) -> None:  # type: ignore[no-untyped-def]
    index, question, table = bridge
    retriever = TreeHopRetriever(index, mentions=DictMentions(table), top_n=5, keep=3)
    layers = retriever.search_layers(question)
    expected = {h.chunk_id: h.score for h in layers[0]}
    for hit in layers[1]:
        score = hit.score + MENTION_DEFAULTS.path_weight * hit.parent_score + MENTION_DEFAULTS.hop_offset
        expected[hit.chunk_id] = max(expected.get(hit.chunk_id, -np.inf), score)
    results = retriever.search(Query("q", question), 50)
    assert [r.chunk_id for r in results] == sorted(expected, key=lambda c: -expected[c])


def test_no_named_entity_means_one_hop(bridge) -> None:  # type: ignore[no-untyped-def]
    index, question, _ = bridge
    retriever = TreeHopRetriever(index, mentions=DictMentions({}), top_n=5)
    assert len(retriever.search_layers(question)) == 1
    assert retriever.search(Query("q", question), 5) == index.search(question, 5)


def test_a_dense_ranking_given_as_the_first_hop_replaces_its_search(bridge) -> None:  # type: ignore[no-untyped-def]
    index, question, table = bridge
    retriever = TreeHopRetriever(index, mentions=DictMentions(table), top_n=3, keep=4)
    searched = retriever.search(Query("q", question), 10)
    dense = index.search(question, 50)
    queried: list[int] = []
    real_batch = index.search_batch
    index.search_batch = lambda queries, k: (queried.append(len(queries)), real_batch(queries, k))[1]
    given = retriever.search(Query("q", question), 10, first_hop=dense)
    assert given == searched
    assert queried == [2]  # only hop 2's two mention queries were searched
    with_other_first_hop = retriever.search(Query("q", question), 10, first_hop=dense[5:])
    assert with_other_first_hop != searched  # the given first hop is really the one used


def test_the_treehop_signal_reuses_the_dense_signals_search(bridge) -> None:  # type: ignore[no-untyped-def]
    index, question, table = bridge
    retriever = TreeHopRetriever(index, mentions=DictMentions(table), top_n=3, keep=4)
    expected = retriever.search(Query("q", question), 10)
    queried: list[int] = []
    real_batch = index.search_batch
    index.search_batch = lambda queries, k: (queried.append(len(queries)), real_batch(queries, k))[1]
    context = QuestionContext(
        Query("q", question), 10, None, SimpleNamespace(dense=index), None, retriever, frozenset({"dense", "treehop"})
    )  # type: ignore[arg-type]
    dense, treehop = DenseSignal().rank(context), TreeHopSignal().rank(context)
    assert queried == [1, 2]  # the question once (for both signals), then hop 2's two mention queries
    assert list(treehop.hits) == expected
    assert list(dense.hits) == real_batch(question.reshape(1, -1), 10)[0]


def test_name_vectors_stay_aligned_when_threads_add_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    embed = CountingEmbedder()
    names = NameVectors(embed)
    batches = [[f"name {(i * 7 + j) % 40}" for j in range(15)] for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(names.get, batches))
    for batch, vectors in zip(batches, results, strict=True):
        np.testing.assert_array_equal(vectors, CountingEmbedder()(batch))  # each name keeps its own vector
    assert len(names) == len({n for batch in batches for n in batch})
