"""The hybrid retriever end to end on a small corpus built here: real embedder, real store, real indexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import RetrievalError
from graph.models import EntityMention, Extraction
from retrieval.evaluate import Passage, corpus_graph, passage_records
from retrieval.graph import ABSTAIN_NOTE
from retrieval.index.indexset import IndexSet
from retrieval.langchain import AmalgamRetriever
from retrieval.retriever import EMPTY_NOTE, FusionWeights, HybridRetriever

PASSAGES = [
    Passage(
        "p1",
        "Marta Velasquez",
        "Marta Velasquez is a painter born in Orvieto. She studied at Academy of Lumen.",
        "",
    ),
    Passage("p2", "Academy of Lumen", "Academy of Lumen is an art school founded in 1820 by Giulia Serra.", ""),
    Passage("p3", "Orvieto", "Orvieto is a hill town in Umbria, known for its cathedral and white wine.", ""),
    Passage("p4", "Giulia Serra", "Giulia Serra was a sculptor and teacher from Perugia.", ""),
    Passage("p5", "Lake Trasimeno", "Lake Trasimeno is the largest lake of the Italian peninsula, in Umbria.", ""),
    Passage("p6", "Umbria", "Umbria is a region of central Italy; its capital is Perugia.", ""),
    Passage("p7", "Perugia", "Perugia is the capital city of Umbria, home to a university for foreigners.", ""),
    Passage("p8", "White wine", "White wine is a wine fermented without skin contact.", ""),
]
# What an extractor would have found besides the titles (which the corpus graph links by itself).
NER = {
    "p2": ["Giulia Serra"],
    "p3": ["Umbria"],
    "p4": ["Perugia"],
    "p5": ["Umbria"],
    "p6": ["Italy", "Perugia"],
}
QUESTION = "Who founded the school where Marta Velasquez studied?"


def _build(store, embedder, workspace_dir: Path) -> tuple[HybridRetriever, dict[str, str]]:
    docs, chunks = passage_records(PASSAGES)
    extractions = [
        Extraction(
            chunk_id=c.id,
            entities=[EntityMention(name=n, type="PERSON", chunk_id=c.id, doc_id=c.doc_id) for n in NER.get(p.id, [])],
        )
        for p, c in zip(PASSAGES, chunks, strict=True)
    ]
    graph = corpus_graph(PASSAGES, chunks, extractions)
    for record, vector in zip(graph.entities, embedder.embed([e.name for e in graph.entities]), strict=True):
        record.embedding = vector.tolist()
    vectors = embedder.embed([c.text for c in chunks])
    store.upsert_documents(docs)
    store.upsert_chunks(chunks, vectors.tolist())
    store.upsert_entities(graph.entities)
    store.upsert_mentions(graph.mentions)
    store.upsert_relations(graph.relations)
    indexes = IndexSet.open(workspace_dir, embedder.dim)
    indexes.add_chunks(chunks, vectors)
    indexes.save()
    retriever = HybridRetriever.open(store, embedder, workspace_dir, with_treehop=False)
    return retriever, {c.id: p.id for p, c in zip(PASSAGES, chunks, strict=True)}


@pytest.fixture
def built(graph_store, embedder, tmp_path: Path):  # type: ignore[no-untyped-def]
    return _build(graph_store, embedder, tmp_path / "ws")


def _passages(result, to_passage: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    return [to_passage[e.chunk.id] for e in result.evidence]


def test_hybrid_finds_both_hops_with_citation_context(built) -> None:  # type: ignore[no-untyped-def]
    retriever, to_passage = built
    result = retriever.retrieve(QUESTION, k=3, mode="hybrid")
    found = _passages(result, to_passage)
    assert {"p1", "p2"} <= set(found)
    assert "Marta Velasquez" in result.entities
    first = next(e for e in result.evidence if to_passage[e.chunk.id] == "p2")
    assert first.title == "Academy of Lumen" and first.source == "multihop#p2"
    assert "Giulia Serra" in first.entities
    assert any("Academy of Lumen" in r for r in result.relations)
    assert len(found) == len(set(found))  # deduplicated


def test_graph_mode_reaches_the_second_hop_through_the_entity_graph(built) -> None:  # type: ignore[no-untyped-def]
    retriever, to_passage = built
    fused, _query, graph, notes = retriever.rank(QUESTION, k=5, mode="graph")
    assert not notes
    ppr = [to_passage[h.chunk_id] for h in graph.ppr]
    assert ppr[0] == "p1" and "p2" in ppr[:3]
    assert graph.role and graph.proximity
    assert {"ppr"} <= {name for h in fused for name in h.retrievers}
    weights = retriever.weights
    try:
        retriever.weights = FusionWeights(proximity=0.0)
        assert not retriever.rank(QUESTION, k=5, mode="graph")[2].proximity  # weighs 0: not even computed
    finally:
        retriever.weights = weights


def test_no_linked_entity_abstains_but_others_still_answer(built) -> None:  # type: ignore[no-untyped-def]
    retriever, to_passage = built
    result = retriever.retrieve("largest freshwater body on the peninsula", k=2, mode="hybrid")
    assert ABSTAIN_NOTE in result.notes
    assert "p5" in _passages(result, to_passage)
    fallback = retriever.retrieve("largest freshwater body on the peninsula", k=2, mode="graph")
    assert fallback.evidence and any("fell back" in n for n in fallback.notes)


def test_every_mode_answers_and_bad_input_is_refused(built) -> None:  # type: ignore[no-untyped-def]
    retriever, _ = built
    for mode in ("dense", "hybrid", "graph", "multihop", "auto"):
        assert retriever.retrieve(QUESTION, k=2, mode=mode).evidence, mode
    assert any("unavailable" in n for n in retriever.retrieve(QUESTION, mode="multihop").notes)
    with pytest.raises(RetrievalError):
        retriever.retrieve("   ")
    with pytest.raises(RetrievalError):
        retriever.retrieve(QUESTION, mode="psychic")
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
    reopened = HybridRetriever.open(graph_store, embedder, tmp_path / "ws", with_treehop=False)
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
    import app.cli_eval as cli_eval
    from retrieval.datasets import Question
    from retrieval.treehop.model import TreeHopConfig, TreeHopModel
    from retrieval.treehop.tuning import fold_of

    retriever, to_passage = built
    models = [TreeHopModel(TreeHopConfig(gate_dim=8, mlp_dim=8)) for _ in range(2)]
    questions = [Question(f"q{i}", "d", f"{QUESTION} ({i})", "", "train", ["p1", "p2"]) for i in range(8)]
    assert {fold_of(q) for q in questions} == {0, 1}
    searched_by: dict[str, object] = {}
    real_collect = cli_eval.collect_rankings

    def spy(retriever, labelled, chunk_to_passage):  # type: ignore[no-untyped-def]
        searched_by.update({text: retriever.multihop.model for _, text, _ in labelled})
        return real_collect(retriever, labelled, chunk_to_passage)

    monkeypatch.setattr(cli_eval, "collect_rankings", spy)
    data = cli_eval._cross_fitted_rankings(retriever, questions, to_passage, models)
    assert len(data) == len(questions) and all(len(d.candidates) > 0 for d in data)
    assert all(searched_by[q.question] is models[1 - fold_of(q)] for q in questions)
    assert retriever.multihop is None  # the retriever's own TreeHop (none here) is put back


def test_cross_fitting_keeps_mention_treehop_which_saw_no_question(built, graph_store) -> None:  # type: ignore[no-untyped-def]
    import app.cli_eval as cli_eval
    from retrieval.datasets import Question
    from retrieval.retriever import SIGNALS_BY_MODE, store_mentions
    from retrieval.treehop.search import TreeHopRetriever

    retriever, to_passage = built
    tree = TreeHopRetriever(retriever.indexes.dense, mentions=store_mentions(graph_store, retriever.embedder))
    retriever.multihop = tree
    questions = [Question(f"q{i}", "d", f"{QUESTION} ({i})", "", "train", ["p1", "p2"]) for i in range(4)]
    data = cli_eval._cross_fitted_rankings(retriever, questions, to_passage, models=[])
    assert len(data) == 4 and retriever.multihop is tree
    column = SIGNALS_BY_MODE["hybrid"].index("treehop")
    for item in data:  # the mention TreeHop itself ranked the second hop
        assert item.ranks[item.candidates.index("p2"), column] > 0


def test_hybrid_ranks_by_the_learned_fusion_and_by_rrf_on_request(built) -> None:  # type: ignore[no-untyped-def]
    from retrieval.fusion import weighted_rrf
    from retrieval.retriever import SIGNALS_BY_MODE

    retriever, to_passage = built
    assert retriever.learned is not None  # HybridRetriever.open loads the shipped model
    fused, query, _, _ = retriever.rank(QUESTION, k=5, mode="hybrid")
    rankings, graph = retriever.signal_rankings(query, SIGNALS_BY_MODE["hybrid"], mode="hybrid", depth=50, notes=[])
    expected = retriever.learned.fuse(retriever.candidates_of(query, rankings, graph), limit=50)
    assert [h.chunk_id for h in fused] == [h.chunk_id for h in expected]
    assert {"p1", "p2"} <= {to_passage[h.chunk_id] for h in fused[:3]}
    by_rrf, *_ = retriever.rank(QUESTION, k=5, mode="hybrid", fusion="rrf")
    rrf = weighted_rrf(rankings, retriever.weights.as_dict(), k_rrf=retriever.weights.rrf_k, limit=50)
    assert [(h.chunk_id, h.score) for h in by_rrf] == [(h.chunk_id, h.score) for h in rrf]
    subset, *_ = retriever.rank(QUESTION, k=5, mode="hybrid", signals=("dense", "bm25"))
    two = {name: rankings[name] for name in ("dense", "bm25")}
    rrf_two = weighted_rrf(two, retriever.weights.as_dict(), k_rrf=retriever.weights.rrf_k, limit=50)
    assert [h.score for h in subset] == [h.score for h in rrf_two]  # a subset of the signals: RRF
    with pytest.raises(RetrievalError, match="fusion"):
        retriever.rank(QUESTION, fusion="vibes")


def test_fusion_examples_label_the_gold_passages_among_the_candidates(built) -> None:  # type: ignore[no-untyped-def]
    from retrieval.fusion_training import collect_examples
    from retrieval.learned_fusion import FEATURES

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
    assert {"Italy", "Perugia"} <= set(names[chunk_of["p6"]])
    tree = TreeHopRetriever(retriever.indexes.dense, mentions=mentions, top_n=2, keep=1)
    query = retriever.make_query(QUESTION, [])
    layers = tree.search_layers(query.embedding)
    assert to_passage[layers[0][0].chunk_id] == "p1"
    assert "p2" in {to_passage[h.chunk_id] for h in layers[1]}  # reached through the name "Academy of Lumen"
    retriever.multihop = tree
    result = retriever.retrieve(QUESTION, k=3, mode="multihop")
    assert {"p1", "p2"} <= set(_passages(result, to_passage)) and not result.notes
