from pathlib import Path

import numpy as np
import pytest

from app.errors import RetrievalError
from retrieval.index.faiss import FaissIndex
from retrieval.sparse import BM25Index


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("ann", ["hnsw", "ivf"])
def test_approximate_index_above_the_threshold_finds_stored_vectors(ann: str) -> None:
    vectors = _vectors(400)
    ids = [f"c{i}" for i in range(400)]
    index = FaissIndex(16, ann=ann, ann_threshold=100)  # type: ignore[arg-type]
    index.add(ids, vectors)
    assert index.uses_ann
    hits = index.search_batch(vectors[:20], 3)
    assert sum(h[0].chunk_id == ids[i] for i, h in enumerate(hits)) >= 19
    index.remove(["c0", "c1"])
    assert all(h.chunk_id not in {"c0", "c1"} for h in index.search(vectors[0], 10))
    assert len(index) == 398


def test_exact_index_below_threshold_and_idempotent_add() -> None:
    vectors = _vectors(30)
    ids = [f"c{i}" for i in range(30)]
    index = FaissIndex(16)
    index.add(ids, vectors)
    index.add(ids, vectors)  # re-adding replaces, it does not duplicate
    assert len(index) == 30 and not index.uses_ann
    assert index.search(vectors[7], 1)[0].chunk_id == "c7"
    np.testing.assert_allclose(index.reconstruct(["c3"])[0], vectors[3], atol=1e-6)


def test_batched_exact_search_ranks_as_one_faiss_search_per_query() -> None:
    """Several queries go through one matrix product instead of FAISS's scan: same chunks, same order,
    same scores (to float precision), with replaced and duplicate vectors in the index."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = FaissIndex(16)
    index.add([f"c{i}" for i in range(500)], vectors)
    index.add(["c3", "twin"], vectors[[9, 9]])  # c3 replaced by c9's vector; "twin" duplicates it too
    queries = rng.standard_normal((6, 16)).astype(np.float32)
    batched = index.search_batch(queries, 8)
    for query, hits in zip(queries, batched, strict=True):
        (alone,) = index.search_batch(query.reshape(1, -1), 8)  # one query: FAISS's own search
        assert {h.chunk_id for h in hits} == {h.chunk_id for h in alone}
        assert [round(h.score, 5) for h in hits] == [round(h.score, 5) for h in alone]
    exact = index.search_batch(np.stack([vectors[9], vectors[9]]), 3)
    assert [h.chunk_id for h in exact[0]] == [h.chunk_id for h in exact[1]]
    assert {h.chunk_id for h in exact[0]} == {"c3", "c9", "twin"} and exact[0][0].score == pytest.approx(1.0)


def test_faiss_index_persists_with_its_approximate_index(tmp_path: Path) -> None:
    vectors = _vectors(300)
    ids = [f"c{i}" for i in range(300)]
    index = FaissIndex(16, tmp_path, ann="ivf", ann_threshold=100)
    index.add(ids, vectors)
    index.search(vectors[0], 1)  # builds the IVF index
    index.save()
    assert (tmp_path / FaissIndex.ANN_FILE).exists()
    reopened = FaissIndex.open(16, tmp_path, ann="ivf", ann_threshold=100)
    assert len(reopened) == 300 and "c5" in reopened
    assert reopened.search(vectors[5], 1)[0].chunk_id == "c5"


def test_faiss_index_rejects_wrong_dimensions(tmp_path: Path) -> None:
    index = FaissIndex(16, tmp_path)
    with pytest.raises(RetrievalError):
        index.add(["a"], _vectors(1, dim=8))
    index.add(["a"], _vectors(1))
    index.save()
    with pytest.raises(RetrievalError):
        FaissIndex.open(32, tmp_path)
    with pytest.raises(RetrievalError):
        FaissIndex(16, ann="lsh")  # type: ignore[arg-type]
    assert FaissIndex(16).search(_vectors(1)[0], 5) == []


TEXTS = {
    "a": "The Academy of Lumen is an art school founded in 1820.",
    "b": "Orvieto is a hill town in Umbria with a famous cathedral.",
    "c": "Lake Trasimeno is the largest lake of the Italian peninsula.",
}


def test_bm25_ranks_the_passage_sharing_rare_terms_first(tmp_path: Path) -> None:
    index = BM25Index(tmp_path)
    index.add(list(TEXTS), list(TEXTS.values()))
    assert index.search("which school was founded in 1820?", 3)[0].chunk_id == "a"
    assert index.search("cathedrals of hill towns", 3)[0].chunk_id == "b"  # stemming: cathedrals -> cathedral
    assert index.search("zzz qqq", 3) == []  # no shared term: nothing, not noise


def test_bm25_rebuilt_in_steps_ranks_as_one_built_at_once(tmp_path: Path) -> None:
    """A rebuild reuses the tokens of texts it saw before: adds, a replaced text and a removal between
    rebuilds must leave exactly the index that one build of the final texts gives."""
    final = {
        "b": "Spoleto hosts a summer festival of music and theatre.",
        "c": TEXTS["c"],
        "d": "The Tiber rises in Tuscany and flows through Umbria to Rome.",
    }
    stepwise = BM25Index(tmp_path / "steps")
    stepwise.add(["a", "b"], [TEXTS["a"], TEXTS["b"]])
    stepwise.save()
    stepwise.add(["c", "b"], [final["c"], final["b"]])
    assert stepwise.search("festival", 3)[0].chunk_id == "b"  # the replaced text is searched, not the old one
    stepwise.remove(["a"])
    stepwise.add(["d"], [final["d"]])
    stepwise.save()
    at_once = BM25Index(tmp_path / "once")
    at_once.add(list(final), list(final.values()))
    for question in ("hill town cathedrals", "festival of music", "largest lake", "Umbria Rome", "school 1820"):
        assert stepwise.search(question, 3) == at_once.search(question, 3)
    assert stepwise.search("school 1820", 3) == []  # the removed text's terms are gone


def test_bm25_persists_and_follows_removals(tmp_path: Path) -> None:
    index = BM25Index(tmp_path)
    index.add(list(TEXTS), list(TEXTS.values()))
    index.save()
    reopened = BM25Index.open(tmp_path)
    assert len(reopened) == 3
    assert reopened.search("largest lake", 1)[0].chunk_id == "c"
    reopened.remove(["c"])
    assert reopened.search("largest lake", 3) == []
    reopened.save()
    assert len(BM25Index.open(tmp_path)) == 2
    assert BM25Index(None).search("anything", 3) == []
