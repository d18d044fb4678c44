"""What "the same graph" means in the resume and fault tests: every id that ingest writes, and the index size."""

from __future__ import annotations

from app.engine import Engine


def graph_snapshot(engine: Engine) -> dict[str, object]:
    """Document ids and hashes, chunk, entity and relation ids, and how many chunks the index holds."""
    store = engine.store
    docs = store.list_documents()
    entities = sorted(e.id for e in store.iter_entities())
    return {
        "documents": sorted((d.id, d.hash) for d in docs),
        "chunks": sorted(c.id for d in docs for c in store.chunks_of_document(d.id)),
        "entities": entities,
        "relations": sorted(r.id for r in store.relations_of(entities)),
        "indexed": len(engine.retriever.indexes),
    }
