"""``amalgam eval multihop``: retrieval quality and latency of every retriever on the multi-hop dataset."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from app import services
from app.config import load_settings
from retrieval.evaluate import (
    DEFAULT_DATASET,
    GRAPH_KINDS,
    METHODS,
    Passage,
    Question,
    build_workspace,
    evaluate,
    format_comparisons,
    format_table,
    load_corpus,
    load_corpus_embeddings,
    load_questions,
    passage_records,
)
from retrieval.fusion_training import FusionExample, collect_examples, fit, recall_at_5, rrf_scorer, scored_by, two_fold
from retrieval.learned_fusion import DEFAULT_PATH as LEARNED_FUSION_PATH
from retrieval.retriever import FusionWeights, HybridRetriever, load_learned_fusion, load_treehop, store_mentions
from retrieval.treehop.data import DEFAULT_CACHE_ROOT
from retrieval.tuning import QuestionRankings, collect_rankings, coordinate_search, recall_at

eval_app = typer.Typer(help="Measure retrieval on benchmark data.", no_args_is_help=True)

EVAL_WORKSPACE = "eval-multihop"
DEFAULT_FOLDS = DEFAULT_CACHE_ROOT / "treehop-folds"
NAME_CACHE = "entity-name-vectors.npz"  # TreeHop's embedded entity names, beside the eval workspace


@eval_app.command("multihop")
def multihop(
    split: Annotated[str, typer.Option(help="dev (report) or train (tuning); never tune on dev")] = "dev",
    limit: Annotated[int | None, typer.Option(help="only the first N questions of the split")] = None,
    graph: Annotated[str, typer.Option(help="entity graph: ner (spaCy, slow once), titles (fast) or none")] = "ner",
    methods: Annotated[str, typer.Option(help=f"comma-separated subset of: {', '.join(METHODS)}")] = "all",
    dataset_dir: Annotated[Path, typer.Option(help="folder with corpus.jsonl and questions.jsonl")] = DEFAULT_DATASET,
    output: Annotated[Path | None, typer.Option(help="also write the scores as JSON here")] = None,
    torch_threads: Annotated[int, typer.Option(help="torch CPU threads; 1 avoids oversubscription on busy boxes")] = 0,
) -> None:
    """Ingest the corpus once (cached under the data dir), then score each retriever on the split."""
    chosen = METHODS if methods == "all" else {m: METHODS[m] for m in _names(methods)}
    retriever, passages, chunk_to_passage = _open_eval(graph, dataset_dir, torch_threads)
    questions = load_questions(dataset_dir, split)[:limit]
    scores = evaluate(retriever, questions, chunk_to_passage, {p.id: p.full_text for p in passages}, chosen)
    typer.echo(f"{len(questions)} {split} questions, {len(passages)} passages\n")
    typer.echo(format_table(scores))
    typer.echo("\n" + format_comparisons(scores))
    if output is not None:
        rows = {m: {b: s.row() for b, s in per.items()} for m, per in scores.items()}
        output.write_text(json.dumps(rows, indent=2))
    retriever.store.close()


@eval_app.command("tune-fusion")
def tune_fusion(
    split: Annotated[str, typer.Option(help="train only: tuning on dev would inflate the dev figures")] = "train",
    limit: Annotated[int | None, typer.Option(help="only the first N questions of the split")] = None,
    graph: Annotated[str, typer.Option(help="entity graph: ner, titles or none")] = "ner",
    dataset_dir: Annotated[Path, typer.Option(help="folder with corpus.jsonl and questions.jsonl")] = DEFAULT_DATASET,
    torch_threads: Annotated[int, typer.Option(help="torch CPU threads; 1 avoids oversubscription on busy boxes")] = 0,
    treehop_folds: Annotated[
        Path | None,
        typer.Option(
            help="folder for two TreeHop models, each trained on one half of the train split (trained there on "
            "first use, ~3 min each); every question then gets its TreeHop signal from the model that never saw "
            "it. Without it the shipped model, trained on these very questions, is overrated."
        ),
    ] = None,
) -> None:
    """Coordinate search of the hybrid fusion weights and RRF k on the train split; prints the best."""
    if split == "dev":
        raise typer.BadParameter("tune on train; dev is for reporting")
    retriever, _, chunk_to_passage = _open_eval(graph, dataset_dir, torch_threads)
    questions = load_questions(dataset_dir, split)[:limit]
    if treehop_folds is None:
        data = collect_rankings(retriever, _labelled(questions), chunk_to_passage)
    else:
        models = _fold_models(treehop_folds, retriever, dataset_dir)
        data = _cross_fitted_rankings(retriever, questions, chunk_to_passage, models)
    best, log = coordinate_search(data)
    typer.echo("\n".join(log))
    for label, weights in (("defaults", FusionWeights()), ("tuned", best)):
        typer.echo(f"{label}: {weights}")
        for bucket, by_k in recall_at(data, weights).items():
            typer.echo(f"  {bucket}: R@5 {by_k[5]:.1f} R@10 {by_k[10]:.1f}")
    retriever.store.close()


@eval_app.command("train-fusion")
def train_fusion(
    treehop_folds: Annotated[
        Path, typer.Option(help="the two TreeHop fold models (see tune-fusion); trained there when missing")
    ] = DEFAULT_FOLDS,
    output: Annotated[Path, typer.Option(help="where to write the model (JSON)")] = LEARNED_FUSION_PATH,
    l2: Annotated[float, typer.Option(help="L2 penalty on the standardised weights")] = 1e-4,
    limit: Annotated[int | None, typer.Option(help="only the first N train questions")] = None,
    graph: Annotated[str, typer.Option(help="entity graph: ner, titles or none")] = "ner",
    dataset_dir: Annotated[Path, typer.Option(help="folder with corpus.jsonl and questions.jsonl")] = DEFAULT_DATASET,
    torch_threads: Annotated[int, typer.Option(help="torch CPU threads; 1 avoids oversubscription on busy boxes")] = 0,
) -> None:
    """Fit the learned fusion on the train split (each question's TreeHop signal from the fold model that never
    saw it), print its 2-fold recall@5 next to RRF's on the same candidates, and save it."""
    from retrieval.treehop.tuning import fold_of

    retriever, _, chunk_to_passage = _open_eval(graph, dataset_dir, torch_threads)
    questions = load_questions(dataset_dir, "train")[:limit]
    models = _fold_models(treehop_folds, retriever, dataset_dir)

    def collect(mine: list[Question]) -> list[FusionExample]:
        labelled = [(q.dataset, fold_of(q), q.question, q.supporting_ids) for q in mine]
        return collect_examples(retriever, labelled, chunk_to_passage)

    examples = _cross_fitted(retriever, questions, models, collect)
    rows = {
        "rrf (tuned weights)": recall_at_5(examples, scored_by(examples, rrf_scorer(retriever.weights))),
        "learned, 2-fold": two_fold(examples, l2=l2),
    }
    for label, recall in rows.items():
        typer.echo(f"{label}: " + ", ".join(f"{bucket} R@5 {value:.1f}" for bucket, value in recall.items()))
    model = fit(examples, l2=l2)
    model.save(output)
    typer.echo(f"saved the model fitted on all {len(examples)} train questions to {output}")
    retriever.store.close()


def _labelled(questions: list[Question]) -> list[tuple[str, str, list[str]]]:
    return [(q.dataset, q.question, q.supporting_ids) for q in questions]


def _fold_models(folds_dir: Path, retriever: HybridRetriever, dataset_dir: Path) -> list[Any]:
    """The two fold models saved in ``folds_dir``, trained (with the shipped recipe) when missing; none when
    the retriever's TreeHop makes mention queries (no model of it saw any question)."""
    from retrieval.treehop.data import cache_dir_for
    from retrieval.treehop.model import TreeHopModel
    from retrieval.treehop.recipe import load_corpus as load_treehop_corpus
    from retrieval.treehop.tuning import fold_models

    if _mention_hops(retriever):
        return []
    embedder: Any = retriever.embedder  # the configured SentenceTransformerEmbedder, which names its model
    paths = [folds_dir / f"fold{fold}" for fold in (0, 1)]
    if all((path / "config.json").is_file() for path in paths):
        return [TreeHopModel.load(path) for path in paths]
    typer.echo(f"training the two TreeHop fold models into {folds_dir} (a few minutes)", err=True)
    model_name = embedder.model_name
    cache = cache_dir_for(DEFAULT_CACHE_ROOT, model_name)
    corpus = load_treehop_corpus(dataset_dir, embedder, cache, model_name)
    models = fold_models(corpus, embedder, cache, model_name)
    for model, path in zip(models, paths, strict=True):
        model.save(path)
    return models


@eval_app.command("tune-treehop")
def tune_treehop(
    limit: Annotated[int | None, typer.Option(help="only the first N train questions")] = None,
    graph: Annotated[str, typer.Option(help="entity graph: ner, titles or none")] = "ner",
    dataset_dir: Annotated[Path, typer.Option(help="folder with corpus.jsonl and questions.jsonl")] = DEFAULT_DATASET,
    torch_threads: Annotated[int, typer.Option(help="torch CPU threads; 1 avoids oversubscription on busy boxes")] = 0,
    keep: Annotated[
        int | None, typer.Option(help="hop-1 passages whose entities spawn next queries (default: the shipped 3)")
    ] = None,
) -> None:
    """Grid over TreeHop's mention queries (λ of normalize(m + λ·q)) and merged-ranking weights on the train
    split; prints the best settings by mean recall@5 over the 2-hop data sets, next to dense."""
    from retrieval.treehop.search import TreeHopRetriever
    from retrieval.treehop.tuning import grid, recall_at, searched_by

    retriever, _, chunk_to_passage = _open_eval(graph, dataset_dir, torch_threads)
    mentions = getattr(retriever.multihop, "mentions", None)
    if mentions is None:
        raise typer.BadParameter("set AMALGAM_TREEHOP_CONTEXT=mentions: there is nothing to tune for model queries")
    questions = load_questions(dataset_dir, "train")[:limit]
    vectors = retriever.embedder.embed([q.question for q in questions])
    dense = [[chunk_to_passage[c.chunk_id] for c in retriever.indexes.dense.search(v, 5)] for v in vectors]
    offsets = tuple(np.round(np.arange(-1.0, -0.19, 0.05), 2))
    rows = []
    for mix, path_weight in itertools.product((0.5, 0.7, 1.0), (0.5, 0.75, 1.0)):
        tree = TreeHopRetriever(
            retriever.indexes.dense, mentions=mentions, keep=keep, mention_mix=mix, path_weight=path_weight
        )
        searched = searched_by(tree, questions, vectors, chunk_to_passage)
        for question_weight, offset, goal, table in grid(searched, path_weight, (0.0, 0.25), offsets):
            rows.append((goal, mix, path_weight, question_weight, offset, table))
    typer.echo("dense: " + _recalls(recall_at(searched, dense)))
    typer.echo("best settings (λ, path_weight, question_weight, hop_offset):")
    for goal, *knobs, table in sorted(rows, key=lambda row: -row[0])[:10]:
        typer.echo(f"  {tuple(knobs)}: 2-hop mean {goal:.2f}; " + _recalls(table))
    retriever.store.close()


def _recalls(table: dict[str, float]) -> str:
    return ", ".join(f"{group} R@5 {value:.1f}" for group, value in table.items())


def _cross_fitted_rankings(
    retriever: HybridRetriever, questions: list[Question], chunk_to_passage: dict, models: list[Any]
) -> list[QuestionRankings]:
    """Rankings where each question's TreeHop signal comes from the fold model not trained on it."""
    return _cross_fitted(
        retriever, questions, models, lambda mine: collect_rankings(retriever, _labelled(mine), chunk_to_passage)
    )


def _mention_hops(retriever: HybridRetriever) -> bool:
    """Whether the retriever's TreeHop makes next queries from mentions (no trained model: no folds needed)."""
    return getattr(retriever.multihop, "mentions", None) is not None


def _cross_fitted(
    retriever: HybridRetriever, questions: list[Question], models: list[Any], collect: Callable[[list[Question]], list]
) -> list:
    """``collect`` run on each fold's questions while the retriever's TreeHop is the other fold's model.

    Mention queries use no model (nothing was trained on these questions): they search as shipped."""
    from retrieval.treehop.search import TreeHopRetriever
    from retrieval.treehop.tuning import fold_of

    shipped, data = retriever.multihop, []
    if _mention_hops(retriever):
        return collect(questions)
    try:
        for fold in (0, 1):
            retriever.multihop = TreeHopRetriever(retriever.indexes.dense, models[1 - fold])
            data += collect([q for q in questions if fold_of(q) == fold])
    finally:
        retriever.multihop = shipped
    return data


def _open_eval(graph: str, dataset_dir: Path, torch_threads: int) -> tuple[HybridRetriever, list[Passage], dict]:
    """The evaluation workspace (built once, cached under the data dir) and a retriever over it."""
    if torch_threads > 0:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(torch_threads)
        # numpy's BLAS too: on a busy box one 16k x 384 product took 13 ms with 2 threads, 2.5 ms with 1.
        threadpool_limits(torch_threads)
    if graph not in GRAPH_KINDS:
        raise typer.BadParameter(f"--graph must be one of {', '.join(GRAPH_KINDS)}")
    settings = load_settings(workspace=EVAL_WORKSPACE)
    embedder = services.get_embedder(settings)
    store = services.open_store(settings)
    passages = load_corpus(dataset_dir)
    vectors = load_corpus_embeddings(embedder, passages, model_name=settings.embedding_model)
    indexes = build_workspace(store, embedder, settings.workspace_dir, passages, vectors, graph=graph)
    retriever = workspace_retriever(store, embedder, indexes, settings.workspace_dir, settings.treehop_context)
    if retriever.multihop is None:
        typer.echo("note: no TreeHop model for this embedder; the treehop method returns nothing", err=True)
    _, chunks = passage_records(passages)
    chunk_to_passage = {c.id: p.id for c, p in zip(chunks, passages, strict=True)}
    return retriever, passages, chunk_to_passage


def workspace_retriever(
    store: Any, embedder: Any, indexes: Any, workspace_dir: Path, treehop_context: str = "mentions"
) -> HybridRetriever:
    """The hybrid retriever (shipped TreeHop and learned fusion) over a benchmark workspace's indexes."""
    mentions = None
    if treehop_context == "mentions":
        # Every entity name embedded once up front (cached beside the workspace), as a long-running
        # server would have them after its first questions: latency figures then measure the search.
        mentions = store_mentions(store, embedder, warm_cache=workspace_dir / NAME_CACHE)
    multihop = load_treehop(indexes.dense, embedder.dim, mentions)
    return HybridRetriever(store, embedder, indexes, multihop=multihop, learned=load_learned_fusion())


def _names(methods: str) -> list[str]:
    names = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise typer.BadParameter(f"unknown method(s) {unknown}; known: {', '.join(METHODS)}")
    return names
