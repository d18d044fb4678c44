from collections.abc import Sequence

from retrieval.fusion.base import FusedHit
from retrieval.fusion.rrf import weighted_rrf
from retrieval.graph import question_ngrams
from retrieval.rerank import rerank_hits
from retrieval.types import ScoredChunk


def _ranking(*ids: str) -> list[ScoredChunk]:
    return [ScoredChunk(c, 1.0 / (i + 1)) for i, c in enumerate(ids)]


def test_rrf_rewards_agreement_between_signals() -> None:
    fused = weighted_rrf({"dense": _ranking("a", "b", "c"), "bm25": _ranking("b", "d", "a")})
    assert [h.chunk_id for h in fused][:2] == ["b", "a"]
    assert fused[0].retrievers == ["bm25", "dense"]  # strongest contribution first


def test_rrf_weights_scale_and_zero_disables_a_signal() -> None:
    rankings = {"dense": _ranking("a", "b"), "graph": _ranking("b", "a")}
    assert weighted_rrf(rankings, {"dense": 2.0, "graph": 1.0})[0].chunk_id == "a"
    assert weighted_rrf(rankings, {"dense": 1.0, "graph": 2.0})[0].chunk_id == "b"
    only_dense = weighted_rrf(rankings, {"dense": 1.0, "graph": 0.0})
    assert all(h.retrievers == ["dense"] for h in only_dense)
    assert weighted_rrf({}, None) == []
    assert len(weighted_rrf(rankings, None, limit=1)) == 1


def test_rrf_counts_a_signal_once_per_chunk() -> None:
    fused = weighted_rrf({"dense": _ranking("a", "a", "b"), "bm25": _ranking("b")})
    assert fused[0].chunk_id == "b"


class OverlapReranker:
    """A real (if simple) scorer: shared words between question and text."""

    def rerank(self, question: str, texts: Sequence[str]) -> list[float]:
        words = set(question.lower().split())
        return [float(len(words & set(t.lower().split()))) for t in texts]


def test_rerank_reorders_by_the_rerankers_score_and_keeps_textless_hits() -> None:
    hits = [FusedHit("x", 0.3), FusedHit("y", 0.2), FusedHit("z", 0.1)]
    texts = {"x": "nothing shared", "y": "the red fox jumps"}
    ordered = rerank_hits("red fox", hits, texts, OverlapReranker())
    assert [h.chunk_id for h in ordered] == ["y", "x", "z"]


def test_question_ngrams_keep_names_and_drop_stopword_grams() -> None:
    grams = question_ngrams("Who founded the school where Marta Velasquez's teacher studied?")
    assert "Marta Velasquez" in grams
    assert "Marta" in grams
    assert "the" not in grams and "the school" not in grams
    assert "school" in grams
