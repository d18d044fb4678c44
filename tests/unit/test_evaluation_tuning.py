import numpy as np

from app.evaluation.tuning import SIGNALS, QuestionRankings, coordinate_search, recall_at
from retrieval.fusion.rrf import FusionWeights


def _question(dataset: str, ranks_by_signal: dict[str, list[str]], gold: set[str]) -> QuestionRankings:
    names = list(dict.fromkeys(p for ranking in ranks_by_signal.values() for p in ranking))
    ranks = np.zeros((len(names), len(SIGNALS)))
    for signal, ranking in ranks_by_signal.items():
        for rank, passage in enumerate(ranking, start=1):
            ranks[names.index(passage), SIGNALS.index(signal)] = rank
    return QuestionRankings(dataset, names, ranks, np.array([n in gold for n in names]), len(gold))


# Dense ranks six distractors first; PPR ranks the gold passage first. Only a PPR weight well above
# dense's lifts the gold passage into the top 5.
DATA = [
    _question(
        "wiki",
        {
            "dense": ["d1", "d2", "d3", "d4", "d5", "gold"],
            "ppr": ["gold", "d6"],
            "bm25": ["d1", "d2", "d3", "d4", "d5"],
        },
        {"gold"},
    )
]


def test_recall_reports_per_dataset_and_macro() -> None:
    only_dense = FusionWeights(bm25=0, ppr=0, proximity=0, role=0, treehop=0)
    scores = recall_at(DATA, only_dense)
    assert scores["wiki"] == {5: 0.0, 10: 100.0} and scores["macro"][5] == 0.0


def test_coordinate_search_raises_the_signal_that_finds_gold() -> None:
    start = FusionWeights(ppr=0.0)
    best, log = coordinate_search(DATA, start)
    assert recall_at(DATA, best)["macro"][5] == 100.0
    assert best.ppr > 0 and log[0].startswith("start")


def test_rrf_k_is_not_a_signal_weight() -> None:
    assert "rrf_k" not in FusionWeights().as_dict() and FusionWeights().rrf_k > 0
