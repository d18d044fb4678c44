"""Context assembly: the fused hits turned into evidence a citation needs, within a token budget."""

from __future__ import annotations

from typing import Any

from graph.store.base import GraphStore
from retrieval.fusion.base import FusedHit
from retrieval.types import Evidence


def estimate_tokens(text: str) -> int:
    """Rough token count (~4/3 tokens per word) good enough for a context budget."""
    return max(1, len(text.split()) * 4 // 3)


def assemble_evidence(
    store: GraphStore, fused: list[FusedHit], *, k: int, token_budget: int
) -> tuple[list[Evidence], list[str]]:
    """Top chunks within the token budget (the first always fits), with document, page, entities and the
    relations that connect them; chunks whose text repeats an earlier one are dropped."""
    chunks = {c.id: c for c in store.get_chunks([h.chunk_id for h in fused])}
    chosen: list[tuple[FusedHit, Any]] = []
    seen_texts: set[str] = set()
    used = 0
    for hit in fused:
        chunk = chunks.get(hit.chunk_id)
        if chunk is None:
            continue
        key = " ".join(chunk.text.lower().split())
        cost = estimate_tokens(chunk.text)
        if key in seen_texts or (chosen and used + cost > token_budget):
            continue
        seen_texts.add(key)
        chosen.append((hit, chunk))
        used += cost
        if len(chosen) == k:
            break
    entity_ids = store.entities_of_chunks([chunk.id for _, chunk in chosen])
    all_ids = sorted({e for ids in entity_ids.values() for e in ids})
    names = {e.id: e.name for e in store.entity_names(all_ids)}
    documents = {d: store.get_document(d) for d in {chunk.doc_id for _, chunk in chosen}}
    evidence = []
    for hit, chunk in chosen:
        doc = documents.get(chunk.doc_id)
        evidence.append(
            Evidence(
                chunk=chunk,
                title=doc.title if doc else "",
                source=doc.source if doc else "",
                score=hit.score,
                retrievers=hit.retrievers,
                entities=[names[e] for e in entity_ids.get(chunk.id, []) if e in names],
            )
        )
    return evidence, _connecting_relations(store, set(all_ids), names)


def _connecting_relations(store: GraphStore, entity_ids: set[str], names: dict[str, str]) -> list[str]:
    """Relations whose two ends both appear in the evidence, strongest first."""
    if not entity_ids:
        return []
    inside = sorted(store.relations_between(sorted(entity_ids)), key=lambda r: -r.weight)
    return list(dict.fromkeys(f"{names[r.source_id]} -[{r.type}]-> {names[r.target_id]}" for r in inside))
