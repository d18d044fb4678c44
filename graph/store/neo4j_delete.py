"""``delete_document`` for the Neo4j store: one write transaction, semantics of ``graph.store.base``.

Order matters: mentions and evidence go first, then communities of every touched entity are marked
stale (before orphans disappear with their memberships), then relations left without evidence,
then orphan entities (taking their remaining relations), then chunks and the document.
"""

from __future__ import annotations

from typing import Any

from neo4j import ManagedTransaction

from graph.store import cypher
from graph.store.base import DeleteReport


def delete_document(tx: ManagedTransaction, workspace: str, doc_id: str) -> DeleteReport:
    def single(query: str, **params: Any) -> dict[str, Any]:
        record = tx.run(query, ws=workspace, **params).single(strict=True)
        return record.data()

    def keys(ids: set[str]) -> list[str]:
        return [f"{workspace}:{i}" for i in sorted(ids)]

    doc_key = f"{workspace}:{doc_id}"
    found = single(cypher.DOCUMENT_CHUNK_IDS, key=doc_key)
    if not found["found"]:
        return DeleteReport(doc_id=doc_id)
    chunk_ids = found["chunk_ids"]
    mentions = single(cypher.DELETE_MENTIONS_OF_DOCUMENT, doc_id=doc_id)
    touched = set(mentions["touched"])
    evidence = single(cypher.DROP_EVIDENCE, chunk_ids=chunk_ids)
    touched.update(evidence["endpoints"])
    tx.run(cypher.MARK_STALE, keys=keys(touched)).consume()
    orphans = set(single(cypher.UNMENTIONED, keys=keys(touched))["ids"])
    emptied = single(cypher.DELETE_RELATIONS_WITHOUT_EVIDENCE, keys=evidence["relation_keys"])["removed"]
    detached = single(cypher.COUNT_RELATIONS_OF, keys=keys(orphans))["relations"]
    tx.run(cypher.DELETE_ENTITIES, keys=keys(orphans)).consume()
    tx.run(cypher.DELETE_CHUNKS_OF_DOCUMENT, ws=workspace, doc_id=doc_id).consume()
    tx.run(cypher.DELETE_DOCUMENT, key=doc_key).consume()
    return DeleteReport(
        doc_id=doc_id,
        found=True,
        chunks=len(chunk_ids),
        mentions=mentions["removed"],
        entities_removed=len(orphans),
        relations_removed=emptied + detached,
        affected_entity_ids=sorted(touched - orphans),
    )


def delete_unmentioned_entities(tx: ManagedTransaction, workspace: str) -> int:
    """Entities that no chunk mentions go, with their relations; their communities are marked stale first."""
    keys = tx.run(cypher.ALL_UNMENTIONED, ws=workspace).single(strict=True)["keys"]
    if keys:
        tx.run(cypher.MARK_STALE, keys=keys).consume()
        tx.run(cypher.DELETE_ENTITIES, keys=keys).consume()
    return len(keys)
