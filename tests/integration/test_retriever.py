"""The hybrid retriever end to end on a workspace that ``Pipeline`` built: a small JSONL corpus ingested through
``Engine.ingest`` (sentence chunker, spaCy extractor, the entity resolver) on both stores, then queried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.config import load_settings
from app.engine import Engine
from app.errors import RetrievalError, UnknownComponentError
from retrieval.fusion.learned import FEATURES, LearnedFusion
from retrieval.fusion.rrf import FusionWeights
from retrieval.graph import ABSTAIN_NOTE
from retrieval.langchain import AmalgamRetriever
from retrieval.modes import MODE_NAMES, MODES
from retrieval.retriever import EMPTY_NOTE, HybridRetriever

# (id, title, text): a two-hop chain (Marta Velasquez -> Academy of Lumen -> Giulia Serra) among distractors.
PASSAGES = [
    ("p1", "Marta Velasquez", "A painter born in Orvieto, Marta Velasquez studied at Academy of Lumen."),
    ("p2", "Academy of Lumen", "Founded in 1820 by Giulia Serra, Academy of Lumen is an art school."),
    ("p3", "Orvieto", "A hill town in Umbria, Orvieto is known for its cathedral and white wine."),
    ("p4", "Giulia Serra", "A sculptor and teacher from Perugia, Giulia Serra taught in Umbria."),
    ("p5", "Lake Trasimeno", "Lake Trasimeno is the largest lake of the Italian peninsula, in Umbria."),
    ("p6", "Umbria", "Umbria is a region of central Italy; its capital is Perugia."),
    ("p7", "Perugia", "Perugia is the capital city of Umbria, home to a university for foreigners."),
    ("p8", "White wine", "White wine is a wine fermented without skin contact."),
]
QUESTION = "Who founded the school where Marta Velasquez studied?"


def _build(store, embedder, tmp_path: Path) -> tuple[HybridRetriever, dict[str, str]]:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in PASSAGES))
    settings = load_settings(data_dir=tmp_path / "data", workspace="ws", chunker="sentence", extractor="spacy")
    # The session's model: the same one the settings name, loaded once.
    engine = Engine(settings, store=store, embedder=embedder)
    report = engine.ingest([corpus])
    assert report.documents_new == len(PASSAGES) and report.entities > 0 and not report.errors
    retriever = HybridRetriever.open(store, embedder, settings.workspace_dir, with_treehop=False)
    row_of = {doc.id: doc.metadata["row_id"] for doc in store.list_documents()}
    return retriever, {chunk.id: row_of[chunk.doc_id] for chunk in store.iter_chunks()}


@pytest.fixture
def built(graph_store, embedder, tmp_path: Path):  # type: ignore[no-untyped-def]
    return _build(graph_store, embedder, tmp_path)


def _passages(result, to_passage: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    return [to_passage[e.chunk.id] for e in result.evidence]


def test_hybrid_finds_both_hops_with_citation_context(built) -> None:  # type: ignore[no-untyped-def]
    retriever, to_passage = built
    result = retriever.retrieve(QUESTION, k=3, mode="hybrid")
    found = _passages(result, to_passage)
    assert {"p1", "p2"} <= set(found)
    assert "Marta Velasquez" in result.entities
    first = next(e for e in result.evidence if to_passage[e.chunk.id] == "p2")
    assert first.title == "Academy of Lumen" and first.source.endswith("corpus.jsonl#p2")
    assert "Giulia Serra" in first.entities
    assert any("Academy of Lumen" in r for r in result.relations)
    assert len(found) == len(set(found))  # deduplicated


def test_graph_mode_reaches_the_second_hop_through_the_entity_graph(built) -> None:  # type: ignore[no-untyped-def]
    retriever, to_passage = built
    weights = retriever.weights
    try:
        retriever.weights = FusionWeights(proximity=0.25)  # the shipped weights give proximity none
        ranked = retriever.rank(QUESTION, k=5, mode="graph")
        assert not ranked.notes and ranked.fusion == "rrf"
        assert list(ranked.rankings) == ["ppr", "proximity", "role"]  # the mode's signals; dense only fed PPR
        ppr = [to_passage[h.chunk_id] for h in ranked.rankings["ppr"].hits]
        assert ppr[0] == "p1" and "p2" in ppr[:3]
        assert ranked.rankings["role"].hits and ranked.rankings["proximity"].hits
        assert "Marta Velasquez" in {link.name for link in ranked.links}
        assert {"ppr"} <= {name for h in ranked.hits for name in h.retrievers}
        retriever.weights = FusionWeights(proximity=0.0)
        assert list(retriever.rank(QUESTION, k=5, mode="graph").rankings) == ["ppr", "role"]  # weighs 0: not computed
    finally:
        retriever.weights = weights


def test_the_three_graph_signals_share_one_graph_computation_per_question(built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    retriever, _ = built
    real, asked = retriever.graph.signals, []

    def counted(query, k, dense_hits=(), compute=("ppr", "proximity", "role"), prepared=None):  # type: ignore[no-untyped-def]
        asked.append(set(compute))
        return real(query, k, dense_hits, compute=compute, prepared=prepared)

    monkeypatch.setattr(retriever.graph, "signals", counted)
    every = retriever.collect(QUESTION, signals=("ppr", "proximity", "role"))
    assert asked == [{"ppr", "proximity", "role"}]
    assert all(every.rankings[name].hits for name in ("ppr", "proximity", "role"))
    ranked = retriever.rank(QUESTION, k=5, mode="hybrid")  # the shipped model does not read role: not computed
    assert asked[1:] == [{"ppr", "proximity"}] and "role" not in ranked.rankings
    found = retriever.collect(QUESTION, signals=("dense", "ppr"))
    assert asked[2:] == [{"ppr"}] and list(found.rankings) == ["dense", "ppr"]
    assert found.query.text == ranked.query.text and not found.notes


def test_the_graph_read_started_before_the_embedding_serves_when_the_embedding_links_nothing_more(
    built, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    retriever, _ = built
    graph = retriever.graph
    real, reads = graph.store.subgraph, []

    def counted(seeds, hops=2, limit=5000):  # type: ignore[no-untyped-def]
        reads.append(list(seeds))
        return real(seeds, hops, limit)

    monkeypatch.setattr(graph.store, "subgraph", counted)
    query = retriever.make_query(QUESTION)
    plain = graph.signals(query, 10)  # no prepared part: one read
    assert len(reads) == 1
    ranked = retriever.rank(QUESTION, k=5, mode="hybrid")
    assert len(reads) == 2 and reads[1] == reads[0]  # read once, before the embedding, and used
    assert ranked.links == plain.links and [h.chunk_id for h in ranked.rankings["ppr"].hits] == [
        h.chunk_id for h in plain.ppr
    ]
    monkeypatch.setattr(graph, "link_min_score", -1.0)  # now the embedding links entities the text did not name
    widened = graph.signals(query, 10, prepared=graph.prepare(query.text))
    assert len(reads) == 4 and len(reads[3]) > len(reads[2])  # the prepared read, then one around every seed
    assert widened.ppr == graph.signals(query, 10).ppr


def test_the_graph_asks_for_the_dense_hits_only_when_pagerank_needs_them(built) -> None:  # type: ignore[no-untyped-def]
    retriever, _ = built
    query = retriever.make_query(QUESTION)
    dense = retriever.indexes.dense.search(query.embedding, 10)
    asked: list[int] = []

    def hits():  # type: ignore[no-untyped-def]
        asked.append(1)
        return dense

    assert retriever.graph.signals(query, 10, hits, compute=("proximity",)).proximity and asked == []
    lazy = retriever.graph.signals(query, 10, hits, compute=("ppr", "proximity"))
    assert asked == [1] and lazy.ppr == retriever.graph.signals(query, 10, dense, compute=("ppr",)).ppr


def test_no_linked_entity_abstains_but_others_still_answer(built) -> None:  # type: ignore[no-untyped-def]
    retriever, to_passage = built
    result = retriever.retrieve("largest freshwater body on the peninsula", k=2, mode="hybrid")
    assert ABSTAIN_NOTE in result.notes
    assert "p5" in _passages(result, to_passage)
    fallback = retriever.retrieve("largest freshwater body on the peninsula", k=2, mode="graph")
    assert fallback.evidence and any("fell back" in n for n in fallback.notes)


def test_every_mode_answers_and_bad_input_is_refused(built) -> None:  # type: ignore[no-untyped-def]
    retriever, _ = built
    for mode in MODE_NAMES:
        assert retriever.retrieve(QUESTION, k=2, mode=mode).evidence, mode
    multihop = retriever.retrieve(QUESTION, mode="multihop")  # no TreeHop here: dense answers
    assert any("unavailable" in n for n in multihop.notes) and any("fell back" in n for n in multihop.notes)
    with pytest.raises(RetrievalError):
        retriever.retrieve("   ")
    with pytest.raises(UnknownComponentError, match="retrieval mode 'psychic'; known: .*multihop"):
        retriever.retrieve(QUESTION, mode="psychic")
    with pytest.raises(UnknownComponentError, match="retrieval signal 'telepathy'"):
        retriever.rank(QUESTION, signals=("dense", "telepathy"))
    long = retriever.retrieve(QUESTION + " and" * 2000, k=2)
    assert any("truncated" in n for n in long.notes) and long.evidence


def test_token_budget_limits_the_context(built) -> None:  # type: ignore[no-untyped-def]
    retriever, _ = built
    retriever.token_budget = 20
    result = retriever.retrieve(QUESTION, k=5)
    assert len(result.evidence) == 1  # the first chunk always fits; the rest would overflow


def test_removed_chunks_leave_the_results(built, graph_store, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    retriever, to_passage = built
    chunk_p2 = next(c for c, p in to_passage.items() if p == "p2")
    retriever.indexes.remove_chunks([chunk_p2])
    retriever.indexes.save()
    reopened = HybridRetriever.open(graph_store, embedder, tmp_path / "data" / "ws", with_treehop=False)
    assert "p2" not in _passages(reopened.retrieve(QUESTION, k=5, mode="dense"), to_passage)


def test_empty_workspace_gives_a_note_not_an_exception(graph_store, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    retriever = HybridRetriever.open(graph_store, embedder, tmp_path / "empty", with_treehop=False)
    result = retriever.retrieve(QUESTION)
    assert result.evidence == [] and EMPTY_NOTE in result.notes


def test_langchain_retriever_returns_documents_with_citations(built) -> None:  # type: ignore[no-untyped-def]
    retriever, _ = built
    docs = AmalgamRetriever(retriever=retriever, k=2).invoke(QUESTION)
    assert len(docs) == 2
    assert {"chunk_id", "title", "source", "page", "retrievers"} <= set(docs[0].metadata)
    assert docs[0].page_content


def test_cross_fitted_tuning_gives_each_question_the_treehop_model_that_never_saw_it(built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import app.evaluation.refit as refit
    from app.evaluation.datasets import Question
    from app.evaluation.treehop_tuning import fold_of
    from retrieval.treehop.model import TreeHopConfig, TreeHopModel

    retriever, to_passage = built
    models = [TreeHopModel(TreeHopConfig(gate_dim=8, mlp_dim=8)) for _ in range(2)]
    questions = [Question(f"q{i}", "d", f"{QUESTION} ({i})", "", "train", ["p1", "p2"]) for i in range(8)]
    assert {fold_of(q) for q in questions} == {0, 1}
    searched_by: dict[str, object] = {}
    real_collect = refit.collect_rankings

    def spy(retriever, labelled, chunk_to_passage):  # type: ignore[no-untyped-def]
        searched_by.update({text: retriever.multihop.model for _, text, _ in labelled})
        return real_collect(retriever, labelled, chunk_to_passage)

    monkeypatch.setattr(refit, "collect_rankings", spy)
    data = refit.cross_fitted_rankings(retriever, questions, to_passage, models)
    assert len(data) == len(questions) and all(len(d.candidates) > 0 for d in data)
    assert all(searched_by[q.question] is models[1 - fold_of(q)] for q in questions)
    assert retriever.multihop is None  # the retriever's own TreeHop (none here) is put back


def test_cross_fitting_keeps_mention_treehop_which_saw_no_question(built, graph_store) -> None:  # type: ignore[no-untyped-def]
    import app.evaluation.refit as refit
    from app.evaluation.datasets import Question
    from retrieval.retriever import store_mentions
    from retrieval.treehop.search import TreeHopRetriever

    retriever, to_passage = built
    tree = TreeHopRetriever(retriever.indexes.dense, mentions=store_mentions(graph_store, retriever.embedder))
    retriever.multihop = tree
    questions = [Question(f"q{i}", "d", f"{QUESTION} ({i})", "", "train", ["p1", "p2"]) for i in range(4)]
    data = refit.cross_fitted_rankings(retriever, questions, to_passage, models=[])
    assert len(data) == 4 and retriever.multihop is tree
    column = MODES["hybrid"].signals.index("treehop")
    for item in data:  # the mention TreeHop itself ranked the second hop
        assert item.ranks[item.candidates.index("p2"), column] > 0


def _only(feature: str, weight: float) -> LearnedFusion:
    """A learned fusion that scores a candidate by one feature alone."""
    n = len(FEATURES)
    weights = [weight if name == feature else 0.0 for name in FEATURES]
    return LearnedFusion(features=list(FEATURES), mean=[0.0] * n, scale=[1.0] * n, weights=weights, bias=0.0)


def test_hybrid_ranks_by_the_learned_fusion_and_by_rrf_on_request(built) -> None:  # type: ignore[no-untyped-def]
    retriever, to_passage = built
    assert retriever.learned is not None  # HybridRetriever.open loads the shipped model
    ranked = retriever.rank(QUESTION, k=5, mode="hybrid")
    fused = ranked.hits
    assert ranked.fusion == "learned" and set(ranked.rankings) == set(retriever.learned.signals)
    assert {"p1", "p2"} <= {to_passage[h.chunk_id] for h in fused[:3]}
    assert all(0.0 < h.score < 1.0 for h in fused)  # the model's probabilities, not RRF sums
    dense_order = [h.chunk_id for h in retriever.rank(QUESTION, k=8, mode="dense").hits]
    shipped = retriever.learned
    try:  # the learned model decides the order: by cosine it is dense's order, against cosine its reverse
        retriever.learned = _only("cosine", 1.0)
        by_cosine = [h.chunk_id for h in retriever.rank(QUESTION, k=8, mode="hybrid").hits]
        retriever.learned = _only("cosine", -1.0)
        against = [h.chunk_id for h in retriever.rank(QUESTION, k=8, mode="hybrid").hits]
    finally:
        retriever.learned = shipped
    assert by_cosine == dense_order and against == dense_order[::-1]
    # RRF on request, and for any subset of the signals: dense alone scores weight / (rrf_k + rank).
    weights = retriever.weights
    for fusion, signals in (("rrf", ("dense",)), (None, ("dense",))):  # the learned model fits all signals only
        hits = retriever.rank(QUESTION, k=3, mode="hybrid", signals=signals, fusion=fusion).hits
        expected = [weights.dense / (weights.rrf_k + rank) for rank in range(1, len(hits) + 1)]
        assert [h.chunk_id for h in hits] == dense_order[: len(hits)]
        assert [h.score for h in hits] == pytest.approx(expected)
    by_rrf = retriever.rank(QUESTION, k=5, mode="hybrid", fusion="rrf").hits
    assert by_rrf[0].score <= sum(weights.as_dict().values()) / (weights.rrf_k + 1)
    with pytest.raises(UnknownComponentError, match="fusion 'vibes'; known: learned, rrf"):
        retriever.rank(QUESTION, fusion="vibes")


def test_fusion_examples_label_the_gold_passages_among_the_candidates(built) -> None:  # type: ignore[no-untyped-def]
    from app.evaluation.fusion_training import collect_examples

    retriever, to_passage = built
    examples = collect_examples(retriever, [("d", 0, QUESTION, ["p1", "p2"])], to_passage)
    (example,) = examples
    assert example.features.shape == (len(example.passages), len(FEATURES))
    assert {p for p, gold in zip(example.passages, example.gold, strict=True) if gold} == {"p1", "p2"}
    assert example.n_gold == 2 and example.fold == 0


def test_treehop_mention_queries_hop_from_a_passage_to_the_entity_it_names(built, graph_store) -> None:  # type: ignore[no-untyped-def]
    from retrieval.retriever import store_mentions
    from retrieval.treehop.search import TreeHopRetriever

    retriever, to_passage = built
    chunk_of = {p: c for c, p in to_passage.items()}
    mentions = store_mentions(graph_store, retriever.embedder)
    names = mentions.names_of([chunk_of["p1"], chunk_of["p6"], chunk_of["p8"]])
    assert "Academy of Lumen" in names[chunk_of["p1"]]
    # spaCy types Perugia both ORG and GPE here; the resolver keeps the two apart with a type suffix
    assert "Italy" in names[chunk_of["p6"]] and any(n.startswith("Perugia") for n in names[chunk_of["p6"]])
    tree = TreeHopRetriever(retriever.indexes.dense, mentions=mentions, top_n=2, keep=1)
    query = retriever.make_query(QUESTION)
    layers = tree.search_layers(query.embedding)
    assert to_passage[layers[0][0].chunk_id] == "p1"
    assert "p2" in {to_passage[h.chunk_id] for h in layers[1]}  # reached through the name "Academy of Lumen"
    retriever.multihop = tree
    result = retriever.retrieve(QUESTION, k=3, mode="multihop")
    assert {"p1", "p2"} <= set(_passages(result, to_passage)) and not result.notes
