"""The Neo4j graph backend: the official driver, batched ``UNWIND ... MERGE`` writes, vector indexes.

Writes go through managed transactions (``execute_write``), which the driver retries on transient
errors. Constraints and indexes are created on open. Every statement lives in ``graph.store.cypher``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any, TypeVar

from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from graph.errors import GraphStoreError, StoreUnavailableError
from graph.models import Community, Entity, EntityRecord, MentionRecord, Relation, RelationRecord
from graph.store import cypher
from graph.store.base import ChunkTitle, DeleteReport, EntityHit, EntityName, NameMatch, StoreStats, Subgraph
from graph.store.common import (
    COMMUNITY_DETAILS,
    build_entity,
    build_relation,
    check_documents,
    check_entities,
    check_mentions,
    check_query_vector,
    check_relations,
    community_details,
)
from graph.store.neo4j_delete import delete_document, delete_unmentioned_entities
from ingest.models import Chunk, Document, PageSpan

T = TypeVar("T")
# Index scores within this of the k-th best may round level with it ((1 + cos) / 2: 1e-6 of cosine is 5e-7 here):
# a vector search returns them too, so the id tie-break picks among all of them, as the embedded store's does.
SCORE_TIE = 2e-6


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Neo4jGraphStore:
    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str,
        workspace: str,
        embedding_dim: int,
        batch_size: int = 500,
    ) -> None:
        self.uri, self.database, self.workspace = uri, database, workspace
        self.embedding_dim, self.batch_size = embedding_dim, batch_size
        try:
            # Notifications (e.g. "property key does not exist" on a fresh database) are noise here.
            self._driver: Driver = GraphDatabase.driver(uri, auth=(user, password), notifications_min_severity="OFF")
            self._driver.verify_connectivity()
        except (ServiceUnavailable, SessionExpired, AuthError, OSError, ValueError, DriverError) as exc:
            detail = exc.message if isinstance(exc, Neo4jError) and exc.message else exc
            raise StoreUnavailableError(
                f"Neo4j at {uri} is not reachable ({_one_line(str(detail))}); start it with: amalgam neo4j start"
            ) from exc
        self._create_schema()

    def close(self) -> None:
        self._driver.close()

    # -- plumbing --------------------------------------------------------------------------------
    def _key(self, item_id: str) -> str:
        return f"{self.workspace}:{item_id}"

    def _keys(self, ids: Sequence[str]) -> list[str]:
        return [self._key(i) for i in dict.fromkeys(ids)]

    def _run(self, work: Callable[[], T]) -> T:
        """Run driver work, turning driver errors into the store's errors."""
        try:
            return work()
        except (ServiceUnavailable, SessionExpired) as exc:
            raise StoreUnavailableError(
                f"Neo4j at {self.uri} went away ({_one_line(str(exc))}); start it with: amalgam neo4j start"
            ) from exc
        except (Neo4jError, DriverError) as exc:
            raise GraphStoreError(f"Neo4j query failed: {_one_line(str(exc))}") from exc

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        def work() -> list[dict[str, Any]]:
            with self._driver.session(database=self.database) as session:
                return session.execute_read(lambda tx: [r.data() for r in tx.run(query, ws=self.workspace, **params)])

        return self._run(work)

    def _write_tx(self, fn: Callable[[ManagedTransaction], T]) -> T:
        def work() -> T:
            with self._driver.session(database=self.database) as session:
                return session.execute_write(fn)

        return self._run(work)

    def _write_batches(self, queries: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        """Each batch of rows goes through every query, in one transaction per batch."""
        for start in range(0, len(rows), self.batch_size):
            batch = list(rows[start : start + self.batch_size])

            def write(tx: ManagedTransaction, batch: list[dict[str, Any]] = batch) -> None:
                for query in queries:
                    tx.run(query, ws=self.workspace, rows=batch).consume()

            self._write_tx(write)

    def _require(self, label: str, ids: set[str], what: str) -> None:
        missing = self._read(cypher.MISSING_KEYS[label], keys=self._keys(sorted(ids)))[0]["missing"]
        if missing:
            names = [key.split(":", 1)[1] for key in missing[:5]]
            raise GraphStoreError(f"unknown {what} id(s): {', '.join(names)}")

    def _create_schema(self) -> None:
        def create(tx: ManagedTransaction, query: str) -> None:
            tx.run(query, dim=self.embedding_dim).consume()

        for query in (*cypher.SCHEMA, *cypher.VECTOR_INDEXES):
            try:
                self._run(partial(self._schema_session, create, query))
            except GraphStoreError as exc:
                if "EquivalentSchemaRuleAlreadyExists" not in str(exc.__cause__ or exc):
                    raise  # a concurrent opener creating the same index is fine
        names = [cypher.ENTITY_VECTOR_INDEX]
        for row in self._read(cypher.VECTOR_INDEX_DIMENSIONS, names=names):
            if row["dim"] is not None and int(row["dim"]) != self.embedding_dim:
                raise GraphStoreError(
                    f"vector index {row['name']} in database {self.database!r} has {row['dim']} dimensions "
                    "but "
                    f"the embedding model has {self.embedding_dim}; use another database for this model"
                )
        self._run(lambda: self._driver.execute_query(cypher.AWAIT_INDEXES, timeout_s=300, database_=self.database))

    def _schema_session(self, fn: Callable[[ManagedTransaction, str], None], query: str) -> None:
        with self._driver.session(database=self.database) as session:
            session.execute_write(fn, query)

    # -- writes ----------------------------------------------------------------------------------
    def upsert_documents(self, docs: Sequence[Document]) -> None:
        check_documents(docs)
        rows = [
            {
                "key": self._key(d.id), "id": d.id, "source": d.source, "title": d.title, "text": d.text,
                "hash": d.hash, "pages": json.dumps([p.model_dump() for p in d.pages]),
                "metadata": json.dumps(d.metadata),
            }
            for d in docs
        ]  # fmt: skip
        self._write_batches([cypher.UPSERT_DOCUMENTS], rows)

    def upsert_chunks(self, chunks: Sequence[Chunk]) -> None:
        self._require("Document", {c.doc_id for c in chunks}, "document")
        rows = [
            {
                "key": self._key(c.id), "doc_key": self._key(c.doc_id), "id": c.id, "doc_id": c.doc_id,
                "index": c.index, "text": c.text, "start": c.start, "end": c.end, "pages": c.pages,
                "chunker": c.chunker,
            }
            for c in chunks
        ]  # fmt: skip
        self._write_batches([cypher.UPSERT_CHUNKS, cypher.LINK_NEXT], rows)

    def upsert_entities(self, entities: Sequence[EntityRecord]) -> None:
        check_entities(entities, self.embedding_dim)
        rows = [
            {
                "key": self._key(e.id), "id": e.id, "name": e.name, "name_lc": e.name.casefold(),
                "type": e.type, "description": e.description, "embedding": e.embedding,
            }
            for e in entities
        ]  # fmt: skip
        self._write_batches([cypher.UPSERT_ENTITIES], rows)

    def upsert_mentions(self, mentions: Sequence[MentionRecord]) -> None:
        check_mentions(mentions)
        self._require("Chunk", {m.chunk_id for m in mentions}, "chunk")
        self._require("Entity", {m.entity_id for m in mentions}, "entity")
        rows = [
            {
                "chunk_key": self._key(m.chunk_id), "entity_key": self._key(m.entity_id), "name": m.name,
                "name_lc": m.name.casefold(), "description": m.description,
            }
            for m in mentions
        ]  # fmt: skip
        self._write_batches([cypher.UPSERT_MENTIONS], rows)

    def upsert_relations(self, relations: Sequence[RelationRecord]) -> None:
        check_relations(relations)
        self._require("Entity", {r.source_id for r in relations} | {r.target_id for r in relations}, "entity")
        # One row per (relation, chunk), last one wins: a batch never lists the same evidence twice.
        latest = {(r.id, r.chunk_id): r for r in relations}
        rows = [
            {
                "key": self._key(r.id), "id": r.id, "source_key": self._key(r.source_id),
                "target_key": self._key(r.target_id), "type": r.type, "chunk_id": r.chunk_id,
                "description": r.description,
            }
            for r in latest.values()
        ]  # fmt: skip
        self._write_batches([cypher.UPSERT_RELATIONS], rows)

    def set_relation_conflicts(self, relation_ids: Sequence[str], conflict: bool) -> None:
        keys = self._keys(relation_ids)
        self._write_tx(lambda tx: tx.run(cypher.SET_CONFLICTS, keys=keys, conflict=conflict).consume())

    def upsert_communities(self, communities: Sequence[Community]) -> None:
        self._write_communities(communities, replace=False)

    def replace_communities(self, communities: Sequence[Community]) -> None:
        self._write_communities(communities, replace=True)

    def update_communities(self, communities: Sequence[Community], removed_ids: Sequence[str]) -> None:
        self._write_communities(communities, replace=False, removed_ids=removed_ids)

    def _write_communities(
        self, communities: Sequence[Community], replace: bool, removed_ids: Sequence[str] = ()
    ) -> None:
        rows = [
            {
                "key": self._key(c.id), "id": c.id, "level": c.level, "title": c.title, "summary": c.summary,
                "stale": c.stale, "member_keys": self._keys(c.members), **community_details(c),
                "parent_key": self._key(c.parent_id) if c.parent_id else None,
            }
            for c in communities
        ]  # fmt: skip

        # Communities are few: one transaction, so a rebuild is never seen half done.
        def write(tx: ManagedTransaction) -> None:
            if replace:
                tx.run(cypher.DELETE_COMMUNITIES, ws=self.workspace).consume()
            if removed_ids:
                tx.run(cypher.DELETE_COMMUNITIES_BY_KEY, keys=self._keys(removed_ids)).consume()
            tx.run(cypher.UPSERT_COMMUNITY_NODES, ws=self.workspace, rows=rows).consume()
            tx.run(cypher.LINK_COMMUNITIES, ws=self.workspace, rows=rows).consume()

        self._write_tx(write)

    def delete_document(self, doc_id: str) -> DeleteReport:
        return self._write_tx(lambda tx: delete_document(tx, self.workspace, doc_id))

    def delete_unmentioned_entities(self) -> int:
        return self._write_tx(lambda tx: delete_unmentioned_entities(tx, self.workspace))

    def clear(self) -> None:
        def delete_some(tx: ManagedTransaction, query: str) -> int:
            return int(tx.run(query, ws=self.workspace, limit=10_000).single(strict=True)["deleted"])

        for query in cypher.CLEAR_BATCH:
            while self._write_tx(partial(delete_some, query=query)):
                pass

    # -- reads -----------------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> Document | None:
        rows = self._read(cypher.GET_DOCUMENT, key=self._key(doc_id))
        return _document(rows[0]["doc"]) if rows else None

    def find_document_by_source(self, source: str) -> Document | None:
        rows = self._read(cypher.DOCUMENT_BY_SOURCE, source=source)
        return _document(rows[0]["doc"]) if rows else None

    def get_documents(self, doc_ids: Sequence[str]) -> list[Document]:
        found = {
            row["doc"]["id"]: _document(row["doc"])
            for row in self._read(cypher.GET_DOCUMENTS, keys=self._keys(sorted(set(doc_ids))))
        }
        return [found[i] for i in dict.fromkeys(doc_ids) if i in found]

    def find_documents_by_source(self, sources: Sequence[str]) -> list[Document]:
        return [_document(row["doc"]) for row in self._read(cypher.DOCUMENTS_BY_SOURCES, sources=sorted(set(sources)))]

    def list_documents(self) -> list[Document]:
        return [_document(row["doc"]) for row in self._read(cypher.LIST_DOCUMENTS)]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        found = {
            row["chunk"]["id"]: _chunk(row["chunk"])
            for row in self._read(cypher.GET_CHUNKS, keys=self._keys(chunk_ids))
        }
        return [found[i] for i in chunk_ids if i in found]

    def chunks_of_document(self, doc_id: str) -> list[Chunk]:
        return [_chunk(row["chunk"]) for row in self._read(cypher.CHUNKS_OF_DOCUMENT, doc_id=doc_id)]

    def next_links(self, doc_id: str) -> list[tuple[str, str]]:
        """``(chunk)-[:NEXT]->(chunk)`` pairs of a document, in reading order."""
        return [(row["source"], row["target"]) for row in self._read(cypher.NEXT_LINKS, doc_id=doc_id)]

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]:
        after = ""
        while rows := self._read(cypher.CHUNKS_PAGE, after=after, limit=batch_size):
            yield from (_chunk(row["chunk"]) for row in rows)
            after = rows[-1]["chunk"]["id"]

    def get_entities(self, entity_ids: Sequence[str]) -> list[Entity]:
        found = {e.id: e for e in self._entities(cypher.GET_ENTITIES, keys=self._keys(entity_ids))}
        return [found[i] for i in entity_ids if i in found]

    def entity_vectors(self, entity_ids: Sequence[str]) -> dict[str, list[float]]:
        rows = self._read(cypher.ENTITY_VECTORS, keys=self._keys(entity_ids))
        return {row["id"]: list(row["embedding"]) for row in rows}

    def find_entities(self, names: Sequence[str]) -> list[Entity]:
        return self._entities(cypher.FIND_ENTITIES, names=sorted({n.casefold() for n in names}))

    def entity_names(self, entity_ids: Sequence[str]) -> list[EntityName]:
        rows = self._read(cypher.ENTITY_NAMES, keys=self._keys(entity_ids))
        found = {r["id"]: EntityName(id=r["id"], name=r["name"], type=r["type"]) for r in rows}
        return [found[i] for i in entity_ids if i in found]

    def find_entity_names(self, names: Sequence[str]) -> list[NameMatch]:
        rows = self._read(cypher.FIND_ENTITY_NAMES, names=sorted({n.casefold() for n in names}))
        return [
            NameMatch(entity=EntityName(id=r["id"], name=r["name"], type=r["type"]), matched=sorted(r["matched"]))
            for r in rows
        ]

    def nearest_entities(self, embedding: Sequence[float], k: int) -> list[tuple[str, float]]:
        return self._search(cypher.ENTITY_VECTOR_INDEX, embedding, k)

    def iter_entities(self, batch_size: int = 1000) -> Iterator[Entity]:
        after = ""
        while ids := [row["id"] for row in self._read(cypher.ENTITY_IDS_PAGE, after=after, limit=batch_size)]:
            yield from self.get_entities(ids)
            after = ids[-1]

    def _entities(self, query: str, **params: Any) -> list[Entity]:
        return [
            build_entity(r["id"], r["name"], r["type"], r["description"], [tuple(m) for m in r["mentions"]])
            for r in self._read(query, **params)
        ]

    def relations_of(self, entity_ids: Sequence[str]) -> list[Relation]:
        return self._relations(cypher.RELATIONS_OF, entity_ids)

    def relations_between(self, entity_ids: Sequence[str]) -> list[Relation]:
        return self._relations(cypher.RELATIONS_BETWEEN, entity_ids)

    def _relations(self, query: str, entity_ids: Sequence[str]) -> list[Relation]:
        return [
            build_relation(
                r["id"], r["source_id"], r["target_id"], r["type"], bool(r["conflict"]),
                zip(r["evidence"], r["descriptions"], strict=True),
            )
            for r in self._read(query, keys=self._keys(entity_ids))
        ]  # fmt: skip

    def entities_of_chunks(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        rows = self._read(cypher.ENTITIES_OF_CHUNKS, keys=self._keys(chunk_ids))
        return {row["chunk_id"]: sorted(row["entity_ids"]) for row in sorted(rows, key=lambda r: r["chunk_id"])}

    def titles_of_chunks(self, chunk_ids: Sequence[str]) -> dict[str, ChunkTitle]:
        rows = self._read(cypher.TITLES_OF_CHUNKS, keys=self._keys(chunk_ids))
        return {row["chunk_id"]: ChunkTitle(row["doc_id"], row["title"]) for row in rows}

    def vector_search_entities(self, embedding: Sequence[float], k: int) -> list[EntityHit]:
        return self.vector_search_entities_batch([embedding], k)[0]

    def vector_search_entities_batch(self, embeddings: Sequence[Sequence[float]], k: int) -> list[list[EntityHit]]:
        tops = self._search_batch(cypher.ENTITY_VECTOR_INDEX, embeddings, k)
        found = {e.id: e for e in self.get_entities(sorted({i for top in tops for i, _ in top}))}
        return [[EntityHit(entity=found[i], score=s) for i, s in top if i in found] for top in tops]

    def _search(self, index: str, embedding: Sequence[float], k: int) -> list[tuple[str, float]]:
        return self._search_batch(index, [embedding], k)[0]

    def _search_batch(self, index: str, embeddings: Sequence[Sequence[float]], k: int) -> list[list[tuple[str, float]]]:
        """Top ``k`` of this workspace per query vector by cosine similarity (Neo4j reports ``(1 + cos) / 2``).

        The index is shared by all workspaces: a query whose first ``fetch`` hits hold fewer than ``k``
        of ours is asked again, with a larger ``fetch``, together with the others still short."""
        vectors = [check_query_vector(e, self.embedding_dim) for e in embeddings]
        tops: list[list[tuple[str, float]]] = [[] for _ in vectors]
        if k <= 0:
            return tops
        pending, fetch = list(range(len(vectors))), max(4 * k, k + 50)
        while pending:
            rows = self._read(
                cypher.VECTOR_SEARCH_BATCH,
                index=index,
                fetch=fetch,
                k=k,
                tie=SCORE_TIE,
                vectors=[vectors[i] for i in pending],
            )
            hits: list[list[tuple[str, float]]] = [[] for _ in pending]
            returned = [0] * len(pending)
            for row in rows:
                returned[row["query"]] = row["returned"]
                hits[row["query"]] = [(hit_id, 2.0 * score - 1.0) for hit_id, score in row["hits"]]
            short = []
            for slot, query in enumerate(pending):
                tops[query] = sorted(hits[slot], key=lambda hit: (-round(hit[1], 6), hit[0]))[:k]
                if len(hits[slot]) < k and returned[slot] >= fetch:  # the index may hold more of ours
                    short.append(query)
            pending, fetch = short, fetch * 4
        return tops

    def subgraph(self, seed_entity_ids: Sequence[str], hops: int = 2, limit: int = 5000) -> Subgraph:
        def read(tx: ManagedTransaction) -> Subgraph:
            def rows(query: str, ids: Sequence[str]) -> list[dict[str, Any]]:
                return [r.data() for r in tx.run(query, ws=self.workspace, keys=self._keys(ids))]

            known = {r["id"] for r in rows(cypher.EXISTING_ENTITY_IDS, seed_entity_ids)}
            reached = [e for e in dict.fromkeys(seed_entity_ids) if e in known][:limit]
            frontier = list(reached)
            for _ in range(hops):
                if not frontier or len(reached) >= limit:
                    break
                found = {r["id"] for r in rows(cypher.SUBGRAPH_NEIGHBOURS, frontier)} - set(reached)
                frontier = sorted(found)[: limit - len(reached)]
                reached.extend(frontier)
            mentions = [(r["chunk_id"], r["entity_id"]) for r in rows(cypher.SUBGRAPH_MENTIONS, reached)]
            relations = [
                (r["source_id"], r["target_id"], float(r["weight"])) for r in rows(cypher.SUBGRAPH_RELATIONS, reached)
            ]
            return Subgraph(
                entity_ids=reached,
                chunk_ids=sorted({c for c, _ in mentions}),
                mentions=mentions,
                relations=relations,
            )

        def work() -> Subgraph:
            with self._driver.session(database=self.database) as session:
                return session.execute_read(read)  # one read transaction: a consistent snapshot

        return self._run(work)

    def get_communities(self, level: int | None = None) -> list[Community]:
        return [
            Community(
                id=r["id"], level=r["level"], title=r["title"], summary=r["summary"], stale=bool(r["stale"]),
                members=sorted(r["members"]), parent_id=min(r["parents"], default=None),
                **{name: r[name] for name in COMMUNITY_DETAILS if r[name] is not None},
            )
            for r in self._read(cypher.COMMUNITIES, level=level)
        ]  # fmt: skip

    def stats(self) -> StoreStats:
        return StoreStats(**self._read(cypher.STATS)[0])


def _document(row: dict[str, Any]) -> Document:
    return Document(
        id=row["id"], source=row["source"], title=row["title"], text=row["text"], hash=row["hash"],
        pages=[PageSpan(**p) for p in json.loads(row["pages"])], metadata=json.loads(row["metadata"]),
    )  # fmt: skip


def _chunk(row: dict[str, Any]) -> Chunk:
    return Chunk(
        id=row["id"], doc_id=row["doc_id"], index=row["index"], text=row["text"], start=row["start"],
        end=row["end"], pages=list(row["pages"] or []), chunker=row["chunker"],
    )  # fmt: skip
