import math
from collections import Counter

import numpy as np
import pytest

from app.errors import ConfigError
from app.evaluation.fusion_training import (
    CollectedQuestion,
    FusionExample,
    featurise,
    fit_logistic,
    recall_at_5,
    rrf_scorer,
    scored_by,
    two_fold,
)
from retrieval.fusion.learned import (
    FEATURES,
    GRAPH_FEATURES,
    MISSING_RANK,
    SIGNALS,
    TRAINED_SIGNALS,
    Candidates,
    LearnedFusion,
    LearnedRanking,
    candidate_features,
    model_features,
)
from retrieval.fusion.rrf import FusionWeights, weighted_rrf
from retrieval.types import ScoredChunk


def _candidates(**overrides) -> Candidates:  # type: ignore[no-untyped-def]
    values = dict(
        rankings={
            "dense": [ScoredChunk("a", 0.8), ScoredChunk("b", 0.4)],
            "bm25": [ScoredChunk("c", 10.0), ScoredChunk("a", 5.0)],
        },
        cosines={"a": 0.8, "b": 0.4, "c": 0.3},
        entities={"a": {"e1", "e2"}, "b": {"e9"}, "c": {"e2", "e3"}},
        question_entities={"e1"},
        rrf_weights=FusionWeights().as_dict(),
        rrf_k=10,
    )
    values.update(overrides)
    return Candidates(**values)  # type: ignore[arg-type]


def _column(matrix: np.ndarray, chunk_ids: list[str], chunk: str, feature: str) -> float:
    return float(matrix[chunk_ids.index(chunk), FEATURES.index(feature)])


def test_signal_features_record_rank_score_and_absence() -> None:
    chunk_ids, matrix = candidate_features(_candidates())
    assert chunk_ids == ["a", "b", "c"] and matrix.shape == (3, len(FEATURES))
    assert _column(matrix, chunk_ids, "a", "bm25.rrf") == pytest.approx(1 / 12)
    assert _column(matrix, chunk_ids, "a", "bm25.log_rank") == pytest.approx(math.log(2))
    assert _column(matrix, chunk_ids, "a", "bm25.relative_score") == pytest.approx(0.5)
    assert _column(matrix, chunk_ids, "b", "bm25.present") == 0.0
    assert _column(matrix, chunk_ids, "b", "bm25.log_rank") == pytest.approx(math.log(MISSING_RANK))
    assert _column(matrix, chunk_ids, "c", "cosine_gap") == pytest.approx(0.3 - 0.8)
    assert [_column(matrix, chunk_ids, c, "signals") for c in chunk_ids] == [2, 1, 1]


def test_graph_features_see_question_entities_and_shared_entities() -> None:
    chunk_ids, matrix = candidate_features(_candidates())
    assert _column(matrix, chunk_ids, "a", "question_entities") == 1.0
    assert _column(matrix, chunk_ids, "c", "question_entities") == 0.0
    # c shares e2 with a, the fused first place, which names the question's entity: a bridge.
    assert _column(matrix, chunk_ids, "c", "bridges_to_question") == 1.0
    assert _column(matrix, chunk_ids, "c", "shares_with_top") == pytest.approx(1.0)
    assert _column(matrix, chunk_ids, "b", "shares_with_top") == 0.0
    assert _column(matrix, chunk_ids, "a", "log_entities") == pytest.approx(math.log(3))


def _co_evidence_by_definition(candidates: Candidates, chunk_ids: list[str]) -> list[tuple[float, ...]]:
    """The co-evidence columns as GRAPH_FEATURES defines them, set by set (the slow, obvious way)."""
    fused = weighted_rrf(candidates.rankings, candidates.rrf_weights, k_rrf=candidates.rrf_k, limit=5)
    top = [hit.chunk_id for hit in fused]
    dense_top = list(dict.fromkeys(hit.chunk_id for hit in candidates.rankings["dense"]))[:5]
    rows = {*chunk_ids, *top, *dense_top}
    counts = Counter(e for c in rows for e in candidates.entities.get(c, set()))
    hubs = {e for e, n in counts.items() if n > max(35, 0.25 * len(rows))}
    ents = {c: candidates.entities.get(c, set()) - hubs for c in rows}
    asked = candidates.question_entities

    def shares(c: str, others: list[str]) -> float:
        return sum(1.0 / (1 + r) for r, o in enumerate(others) if o != c and ents[c] & ents[o])

    return [
        (
            len(ents[c] & asked),
            shares(c, top),
            shares(c, dense_top),
            sum(1.0 for o in top if o != c and ents[c] & ents[o] and ents[o] & asked),
            math.log1p(len(ents[c])),
        )
        for c in chunk_ids
    ]


@pytest.mark.parametrize("seed", range(8))
def test_co_evidence_columns_equal_their_definition_on_random_candidates(seed: int) -> None:
    rng = np.random.default_rng(seed)
    chunks = [f"c{i}" for i in range(160)]
    pool = [f"e{i}" for i in range(60)] + ["hub"] * 12  # "hub" is in most chunks: a local hub
    rankings = {
        name: [ScoredChunk(c, float(50 - r)) for r, c in enumerate(rng.choice(chunks, 50, replace=False))]
        for name in ("dense", "bm25", "treehop")
    }
    candidates = _candidates(
        rankings=rankings,
        cosines={c: float(rng.uniform()) for c in chunks},
        entities={c: set(rng.choice(pool, int(rng.integers(0, 6))).tolist()) for c in chunks[:150]},
        question_entities={"e1", "e2", "hub"},
    )
    chunk_ids, matrix = candidate_features(candidates)
    columns = [FEATURES.index(feature) for feature in GRAPH_FEATURES]
    expected = _co_evidence_by_definition(candidates, chunk_ids)
    np.testing.assert_allclose(matrix[:, columns], expected, rtol=0, atol=1e-12)


def test_no_candidates_gives_an_empty_ranking() -> None:
    model = LearnedFusion(list(FEATURES), [0.0] * len(FEATURES), [1.0] * len(FEATURES), [0.0] * len(FEATURES), 0.0)
    assert model.fuse(_candidates(rankings={}), limit=5) == []


def _synthetic(seed: int, n_questions: int = 60) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Candidates whose only informative feature is ``bridges_to_question``; the rest is noise."""
    rng = np.random.default_rng(seed)
    matrices, labels = [], []
    for _ in range(n_questions):
        matrix = rng.normal(size=(20, len(FEATURES)))
        gold = np.zeros(20, dtype=bool)
        gold[rng.choice(20, size=2, replace=False)] = True
        matrix[:, FEATURES.index("bridges_to_question")] = gold * 2.0 + rng.normal(scale=0.3, size=20)
        matrices.append(matrix)
        labels.append(gold)
    return matrices, labels


def test_fit_logistic_learns_the_informative_feature_and_ranks_gold_first() -> None:
    model = fit_logistic(*_synthetic(0))
    strongest = int(np.argmax(np.abs(model.weights)))
    assert FEATURES[strongest] == "bridges_to_question" and model.weights[strongest] > 0
    matrices, labels = _synthetic(1)
    top2 = [
        set(np.argsort(-model.score(m))[:2]) == set(np.flatnonzero(g)) for m, g in zip(matrices, labels, strict=True)
    ]
    assert np.mean(top2) > 0.9


def test_model_round_trips_and_refuses_other_features(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = fit_logistic(*_synthetic(2))
    path = tmp_path / "fusion.json"
    model.save(path)
    assert LearnedFusion.load(path) == model
    path.write_text(path.read_text().replace('"cosine"', '"colour"'))
    with pytest.raises(ConfigError, match="retrain"):
        LearnedFusion.load(path)
    with pytest.raises(ConfigError):
        LearnedFusion.load(tmp_path / "missing.json")


def test_the_shipped_model_puts_what_every_signal_ranks_first_above_what_they_rank_last() -> None:
    model = LearnedFusion.load()
    # It reads the signals train-fusion fits it on by default (role left out: it added nothing on train).
    assert model.signals == TRAINED_SIGNALS == ("dense", "bm25", "ppr", "proximity", "treehop")
    assert model.features == model_features(TRAINED_SIGNALS)
    depth = [f"x{i}" for i in range(48)]
    rankings = {s: [ScoredChunk(c, 1.0 - i / 50) for i, c in enumerate(["best", *depth, "worst"])] for s in SIGNALS}
    cosines = {c: 0.9 - i / 100 for i, c in enumerate(["best", *depth, "worst"])}
    fused = model.fuse(_candidates(rankings=rankings, cosines=cosines, entities={}), limit=50)
    order = [hit.chunk_id for hit in fused]
    assert order[0] == "best" and order[-1] == "worst"
    assert fused[0].retrievers == list(SIGNALS)  # every signal that ranked it, read or not


def test_a_model_over_some_signals_reads_its_own_columns_by_name() -> None:
    features = ["cosine", "dense.present", "log_entities"]  # any order: columns are found by name
    model = LearnedFusion(
        features=features, mean=[0.5, 0.0, 1.0], scale=[0.5, 1.0, 2.0], weights=[2.0, 1.0, -1.0], bias=0.25
    )
    assert model.signals == ("dense",)
    chunk_ids, matrix = candidate_features(_candidates())
    for chunk in chunk_ids:
        cosine = _column(matrix, chunk_ids, chunk, "cosine")
        present = _column(matrix, chunk_ids, chunk, "dense.present")
        entities = _column(matrix, chunk_ids, chunk, "log_entities")
        expected = 2.0 * (cosine - 0.5) / 0.5 + present - (entities - 1.0) / 2.0 + 0.25
        assert model.score(matrix)[chunk_ids.index(chunk)] == pytest.approx(expected)
    learned = LearnedRanking(model)
    assert learned.weighs("dense") and not learned.weighs("bm25") and not learned.weighs("role")
    assert learned.fits(("dense",)) and learned.fits(("dense", "bm25")) and not learned.fits(("bm25",))


def test_model_features_name_the_signals_own_columns_then_the_shared_ones() -> None:
    features = model_features(("treehop", "dense"))
    assert features[:8] == [
        f"{s}.{k}" for s in ("dense", "treehop") for k in ("rrf", "log_rank", "present", "relative_score")
    ]
    assert features[8:] == [f for f in FEATURES if "." not in f] and len(features) == 8 + 3 + 5 + 2
    with pytest.raises(ConfigError, match="no signal"):
        model_features(("dense", "vibes"))


def test_featurising_without_a_signal_drops_what_only_it_found() -> None:
    role_only = _candidates(rankings={"dense": [ScoredChunk("a", 0.8)], "role": [ScoredChunk("r", 0.9)]})
    collected = [CollectedQuestion("news", 0, ["r"], role_only)]
    (everything,) = featurise(collected, {})
    (without_role,) = featurise(collected, {}, ("dense",))
    assert everything.passages == ["a", "r"] and everything.gold.tolist() == [False, True]
    assert without_role.passages == ["a"] and without_role.gold.tolist() == [False] and without_role.n_gold == 1
    assert without_role.features[0, FEATURES.index("signals")] == 1.0


def _example(dataset: str, fold: int, seed: int) -> FusionExample:
    matrices, labels = _synthetic(seed, n_questions=1)
    return FusionExample(dataset, fold, [f"p{i}" for i in range(20)], matrices[0], labels[0], int(labels[0].sum()))


def test_two_fold_recall_beats_rrf_when_rrf_ignores_the_informative_feature() -> None:
    examples = [_example("wiki" if i % 2 else "news", i % 2, seed=i) for i in range(40)]
    learned = two_fold(examples)
    rrf = recall_at_5(examples, scored_by(examples, rrf_scorer(FusionWeights())))
    assert set(learned) == {"news", "wiki", "macro"}
    assert learned["macro"] > 90 > rrf["macro"] + 30


def test_fused_scores_are_probabilities_in_rank_order() -> None:
    model = fit_logistic(*_synthetic(3))
    fused = model.fuse(_candidates(), limit=3)
    assert [h.chunk_id for h in fused] and all(0.0 < h.score < 1.0 for h in fused)
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True)


def test_an_entity_most_candidates_mention_is_not_co_evidence() -> None:
    chunks = [f"c{i}" for i in range(40)]
    rankings = {"dense": [ScoredChunk(c, 1.0 - i / 100) for i, c in enumerate(chunks)]}
    hub = {c: {"hub"} for c in chunks}
    chunk_ids, matrix = candidate_features(_candidates(rankings=rankings, entities=hub, cosines={}))
    assert _column(matrix, chunk_ids, "c9", "shares_with_top") == 0.0  # all 40 share "hub": a hub, ignored
    few = {c: ({"e"} if i in (0, 9) else set()) for i, c in enumerate(chunks)}
    chunk_ids, matrix = candidate_features(_candidates(rankings=rankings, entities=few, cosines={}))
    assert _column(matrix, chunk_ids, "c9", "shares_with_top") == 1.0  # shares "e" with the first place


def test_the_features_cover_exactly_the_hybrid_modes_signals() -> None:
    from retrieval.modes import MODES

    assert MODES["hybrid"].signals == SIGNALS  # a model may read any of them; rank() computes only those it reads
