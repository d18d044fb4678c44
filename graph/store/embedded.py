"""The default graph backend: one SQLite file (WAL mode), no server.

Vector search is exact cosine similarity with numpy over the workspace's rows; the normalised
matrix is cached, patched by upserts and dropped by deletes (embedded_vectors.py). Id lists travel into SQL as one
JSON parameter (``json_each``), so no query is ever built from data.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from graph.errors import GraphStoreError
from graph.models import Community, Entity, EntityRecord, MentionRecord, Relation, RelationRecord
from graph.store import embedded_queries as q
from graph.store.base import ChunkTitle, DeleteReport, EntityHit, EntityName, NameMatch, StoreStats, Subgraph
from graph.store.common import (
    build_entity,
    build_relation,
    check_documents,
    check_entities,
    check_mentions,
    check_query_vector,
    check_relations,
    community_details,
)
from graph.store.embedded_mentions import MentionPairs
from graph.store.embedded_schema import ADDED_COLUMNS, SCHEMA, TABLES
from graph.store.embedded_vectors import VectorMatrix
from ingest.models import Chunk, Document, PageSpan


def _ids(values: Sequence[str] | set[str]) -> str:
    return json.dumps(sorted(set(values)))


def _blob(vector: Sequence[float] | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


def top_k(scores: np.ndarray, ids: Sequence[str], k: int) -> list[int]:
    """Positions of the k best scores, ordered by (-score rounded to 1e-6, id): deterministic, and the
    order the Neo4j store returns. Every row tied with the k-th after rounding survives the cut, so the id
    tie-break picks among all of them. ``ids`` may run longer than ``scores`` (rows appended since).

    A partition of the raw scores cuts first: rounding moves a score by at most 5e-7, so only rows within
    1e-6 of the raw k-th best can round level with it. Rounding all 78k rows of a large workspace cost more
    than the cut."""
    n = len(scores)
    if k < n:
        kth = float(np.partition(scores, n - k)[n - k])
        near = np.flatnonzero(scores >= kth - 2e-6)
        rounded_near = np.round(scores[near].astype(np.float64), 6)
        kept = rounded_near >= round(kth, 6)
        candidates, rounded = near[kept], rounded_near[kept]
    else:
        candidates, rounded = np.arange(n), np.round(scores.astype(np.float64), 6)
    score_of = dict(zip(candidates.tolist(), rounded.tolist(), strict=True))
    return sorted(score_of, key=lambda i: (-score_of[i], ids[i]))[:k]


class EmbeddedGraphStore:
    def __init__(self, path: Path, workspace: str, embedding_dim: int) -> None:
        self.path = Path(path)
        self.workspace = workspace
        self.embedding_dim = embedding_dim
        self._lock = threading.RLock()
        self._vectors: dict[str, VectorMatrix] = {}
        self._mention_pairs: MentionPairs | None = None  # loaded at the first read that needs it
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._add_missing_columns()
            self._data_version = self._version()
        except (sqlite3.Error, OSError) as exc:
            raise GraphStoreError(f"cannot open the embedded graph store {self.path}: {exc}") from exc

    def _add_missing_columns(self) -> None:
        """Bring a store file written by an older version up to the current schema."""
        for table, column, definition in ADDED_COLUMNS:
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:  # names come from the schema module, never from data
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self, *, drops_vectors: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of a call's rows land, or none do. A write that removes rows
        drops the in-memory caches (vector matrices, mention pairs); upserts patch them inside the
        transaction (``_patch_vectors``, ``upsert_mentions``)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                self._drop_caches()
                raise
            try:
                self._db.execute("COMMIT")
            except BaseException:
                self._drop_caches()  # rows patched in above may not have landed
                raise
            if drops_vectors:
                self._drop_caches()

    def _drop_caches(self) -> None:
        self._vectors.clear()
        self._mention_pairs = None

    def _version(self) -> int:
        # SQLite's data_version changes when another connection (another process) commits, never for this one's.
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _drop_caches_written_elsewhere(self) -> None:
        """Drop the caches when another process wrote the file since they were filled: they would miss its rows
        (a server's entity matrix not seeing a CLI ingest's entities, so the next write duplicates them)."""
        version = self._version()
        if version != self._data_version:
            self._data_version = version
            self._drop_caches()

    def _patch_vectors(self, table: str, ids: Sequence[str], vectors: Sequence[Sequence[float] | None]) -> None:
        """Bring a loaded matrix up to date with rows just written (a row without a vector keeps its own)."""
        with self._lock:
            cached = self._vectors.get(table)
            given = [(i, v) for i, v in zip(ids, vectors, strict=True) if v is not None]
            if cached is not None and given:
                cached.upsert([i for i, _ in given], np.asarray([v for _, v in given], dtype=np.float32))

    def _rows(self, sql: str, **params: object) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, {"ws": self.workspace, **params}).fetchall()

    def _missing(self, table: str, ids: set[str]) -> list[str]:
        found = {row[0] for row in self._rows(q.EXISTING[table], ids=_ids(ids))}
        return sorted(ids - found)

    def _require(self, table: str, ids: set[str], what: str) -> None:
        missing = self._missing(table, ids)
        if missing:
            raise GraphStoreError(f"unknown {what} id(s): {', '.join(missing[:5])}")

    # -- writes ----------------------------------------------------------------------------------
    def upsert_documents(self, docs: Sequence[Document]) -> None:
        check_documents(docs)
        rows = [
            {
                "ws": self.workspace,
                "id": d.id,
                "source": d.source,
                "title": d.title,
                "text": d.text,
                "hash": d.hash,
                "pages": json.dumps([p.model_dump() for p in d.pages]),
                "metadata": json.dumps(d.metadata),
            }
            for d in docs
        ]
        with self._tx() as db:
            db.executemany(q.UPSERT_DOCUMENT, rows)

    def upsert_chunks(self, chunks: Sequence[Chunk]) -> None:
        self._require("documents", {c.doc_id for c in chunks}, "document")
        rows = [
            {
                "ws": self.workspace,
                "id": c.id,
                "doc_id": c.doc_id,
                "idx": c.index,
                "text": c.text,
                "start": c.start,
                "stop": c.end,
                "pages": json.dumps(c.pages),
                "chunker": c.chunker,
            }
            for c in chunks
        ]
        with self._tx() as db:
            db.executemany(q.UPSERT_CHUNK, rows)

    def upsert_entities(self, entities: Sequence[EntityRecord]) -> None:
        check_entities(entities, self.embedding_dim)
        rows = [
            {
                "ws": self.workspace,
                "id": e.id,
                "name": e.name,
                "name_lc": e.name.casefold(),
                "type": e.type,
                "description": e.description,
                "embedding": _blob(e.embedding),
            }
            for e in entities
        ]
        with self._tx() as db:
            db.executemany(q.UPSERT_ENTITY, rows)
            self._patch_vectors("entities", [e.id for e in entities], [e.embedding for e in entities])

    def upsert_mentions(self, mentions: Sequence[MentionRecord]) -> None:
        check_mentions(mentions)
        self._require("chunks", {m.chunk_id for m in mentions}, "chunk")
        self._require("entities", {m.entity_id for m in mentions}, "entity")
        rows = [
            {
                "ws": self.workspace,
                "chunk_id": m.chunk_id,
                "entity_id": m.entity_id,
                "name": m.name,
                "name_lc": m.name.casefold(),
                "description": m.description,
            }
            for m in mentions
        ]
        with self._tx() as db:
            db.executemany(q.UPSERT_MENTION, rows)
            if self._mention_pairs is not None:
                self._mention_pairs.add((m.chunk_id, m.entity_id) for m in mentions)

    def upsert_relations(self, relations: Sequence[RelationRecord]) -> None:
        check_relations(relations)
        self._require("entities", {r.source_id for r in relations} | {r.target_id for r in relations}, "entity")
        with self._tx() as db:
            db.executemany(
                q.UPSERT_RELATION,
                [
                    {
                        "ws": self.workspace,
                        "id": r.id,
                        "source_id": r.source_id,
                        "target_id": r.target_id,
                        "type": r.type,
                    }
                    for r in relations
                ],
            )
            db.executemany(
                q.UPSERT_EVIDENCE,
                [
                    {
                        "ws": self.workspace,
                        "relation_id": r.id,
                        "chunk_id": r.chunk_id,
                        "description": r.description,
                        "strength": r.strength,
                    }
                    for r in relations
                ],
            )

    def set_relation_conflicts(self, relation_ids: Sequence[str], conflict: bool) -> None:
        with self._tx() as db:
            db.execute(q.SET_CONFLICT, {"ws": self.workspace, "conflict": int(conflict), "ids": _ids(relation_ids)})

    def upsert_communities(self, communities: Sequence[Community]) -> None:
        with self._tx() as db:
            self._write_communities(db, communities)

    def replace_communities(self, communities: Sequence[Community]) -> None:
        with self._tx() as db:
            for table in ("community_parents", "community_entities", "communities"):
                db.execute(q.CLEAR_TABLE[table], {"ws": self.workspace})
            self._write_communities(db, communities)

    def update_communities(self, communities: Sequence[Community], removed_ids: Sequence[str]) -> None:
        with self._tx() as db:
            for sql in q.DELETE_COMMUNITIES:
                db.execute(sql, {"ws": self.workspace, "ids": _ids(removed_ids)})
            self._write_communities(db, communities)

    def _write_communities(self, db: sqlite3.Connection, communities: Sequence[Community]) -> None:
        ws = self.workspace
        db.executemany(
            q.UPSERT_COMMUNITY,
            [
                {
                    "ws": ws,
                    "id": c.id,
                    "level": c.level,
                    "title": c.title,
                    "summary": c.summary,
                    "stale": int(c.stale),
                    "details": json.dumps(community_details(c)),
                }
                for c in communities
            ],
        )
        # Nodes first, links second, so a batch may list parents before children (as in Neo4j).
        for c in communities:
            # Members are entities (IN_COMMUNITY) or child communities (PARENT). A parent link is
            # replaced only when a parent is given: a child written alone keeps the one it has.
            params = {"ws": ws, "id": c.id, "members": _ids(c.members), "parent_id": c.parent_id}
            db.execute(q.DELETE_COMMUNITY_ENTITIES, params)
            db.execute(q.INSERT_COMMUNITY_ENTITIES, params)
            db.execute(q.INSERT_COMMUNITY_CHILDREN, params)
            if c.parent_id:
                db.execute(q.DELETE_COMMUNITY_PARENT, params)
                db.execute(q.INSERT_COMMUNITY_PARENT, params)

    def delete_document(self, doc_id: str) -> DeleteReport:
        with self._tx(drops_vectors=True) as db:
            return _delete_document(db, self.workspace, doc_id)

    def delete_unmentioned_entities(self) -> int:
        with self._lock:  # the read and the delete see the same rows
            orphans = {row[0] for row in self._rows(q.ALL_UNMENTIONED)}
            if not orphans:
                return 0  # nothing removed: the vector matrices and mention pairs in memory stay valid
            with self._tx(drops_vectors=True) as db:
                _delete_orphans(_runner(db, self.workspace), orphans, orphans, set())
            return len(orphans)

    def clear(self) -> None:
        with self._tx(drops_vectors=True) as db:
            for table in TABLES:
                db.execute(q.CLEAR_TABLE[table], {"ws": self.workspace})

    # -- reads -----------------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> Document | None:
        rows = self._rows(q.GET_DOCUMENT, doc_id=doc_id)
        return _document(rows[0]) if rows else None

    def find_document_by_source(self, source: str) -> Document | None:
        rows = self._rows(q.DOCUMENT_BY_SOURCE, source=source)
        return _document(rows[0]) if rows else None

    def get_documents(self, doc_ids: Sequence[str]) -> list[Document]:
        found = {row[0]: _document(row) for row in self._rows(q.GET_DOCUMENTS, ids=_ids(doc_ids))}
        return [found[i] for i in dict.fromkeys(doc_ids) if i in found]

    def find_documents_by_source(self, sources: Sequence[str]) -> list[Document]:
        return [_document(row) for row in self._rows(q.DOCUMENTS_BY_SOURCES, sources=_ids(sources))]

    def list_documents(self) -> list[Document]:
        return [_document(row) for row in self._rows(q.LIST_DOCUMENTS)]

    def get_chunks(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        found = {row[0]: _chunk(row) for row in self._rows(q.GET_CHUNKS, ids=_ids(chunk_ids))}
        return [found[i] for i in chunk_ids if i in found]

    def chunks_of_document(self, doc_id: str) -> list[Chunk]:
        return [_chunk(row) for row in self._rows(q.CHUNKS_OF_DOCUMENT, doc_id=doc_id)]

    def next_links(self, doc_id: str) -> list[tuple[str, str]]:
        """``(chunk)-[:NEXT]->(chunk)`` pairs of a document, in reading order."""
        return [(a, b) for a, b in self._rows(q.NEXT_LINKS, doc_id=doc_id)]

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[Chunk]:
        after = ""
        while rows := self._rows(q.CHUNKS_PAGE, after=after, n=batch_size):
            yield from (_chunk(row) for row in rows)
            after = rows[-1][0]

    def get_entities(self, entity_ids: Sequence[str]) -> list[Entity]:
        found = {e.id: e for e in self._entities(q.GET_ENTITIES, ids=_ids(entity_ids))}
        return [found[i] for i in entity_ids if i in found]

    def find_entities(self, names: Sequence[str]) -> list[Entity]:
        return self._entities(q.FIND_ENTITIES, names=_ids([n.casefold() for n in names]))

    def entity_names(self, entity_ids: Sequence[str]) -> list[EntityName]:
        found = {i: EntityName(id=i, name=n, type=t) for i, n, t in self._rows(q.ENTITY_NAMES, ids=_ids(entity_ids))}
        return [found[i] for i in entity_ids if i in found]

    def find_entity_names(self, names: Sequence[str]) -> list[NameMatch]:
        matches: dict[str, NameMatch] = {}
        rows = self._rows(q.FIND_ENTITY_NAMES, names=_ids([n.casefold() for n in names]))
        for entity_id, name, type_, matched in rows:
            entity = EntityName(id=entity_id, name=name, type=type_)
            matches.setdefault(entity_id, NameMatch(entity=entity, matched=[])).matched.append(matched)
        return list(matches.values())

    def nearest_entities(self, embedding: Sequence[float], k: int) -> list[tuple[str, float]]:
        return self._search("entities", [embedding], k)[0]

    def entity_vectors(self, entity_ids: Sequence[str]) -> dict[str, list[float]]:
        rows = self._rows(q.ENTITY_VECTORS, ids=_ids(entity_ids))
        return {entity_id: np.frombuffer(blob, dtype=np.float32).tolist() for entity_id, blob in rows}

    def iter_entities(self, batch_size: int = 1000) -> Iterator[Entity]:
        after = ""
        while ids := [row[0] for row in self._rows(q.ENTITY_IDS_PAGE, after=after, n=batch_size)]:
            yield from self._entities(q.GET_ENTITIES, ids=_ids(ids))
            after = ids[-1]

    def _entities(self, sql: str, **params: object) -> list[Entity]:
        rows = self._rows(sql, **params)
        mentions: dict[str, list[tuple[str, str, str]]] = {row[0]: [] for row in rows}
        for entity_id, chunk_id, name, description in self._rows(q.MENTIONS_OF, ids=_ids(list(mentions))):
            mentions[entity_id].append((chunk_id, name, description))
        return [build_entity(i, name, type_, desc, mentions[i]) for i, name, type_, desc in rows]

    def relations_of(self, entity_ids: Sequence[str]) -> list[Relation]:
        return self._relations(self._rows(q.RELATIONS_OF, ids=_ids(entity_ids)))

    def relations_between(self, entity_ids: Sequence[str]) -> list[Relation]:
        return self._relations(self._rows(q.RELATIONS_BETWEEN, ids=_ids(entity_ids)))

    def _relations(self, rows: list[tuple]) -> list[Relation]:
        """Relation rows (id, source, target, type, conflict) with their evidence, read in one more query."""
        evidence: dict[str, list[tuple[str, str]]] = {row[0]: [] for row in rows}
        for relation_id, chunk_id, description in self._rows(q.EVIDENCE_OF, ids=_ids(list(evidence))):
            evidence[relation_id].append((chunk_id, description))
        return [build_relation(i, s, t, ty, bool(c), evidence[i]) for i, s, t, ty, c in rows]

    def entities_of_chunks(self, chunk_ids: Sequence[str]) -> dict[str, list[str]]:
        with self._lock:
            return self._mentions().entities_of(chunk_ids)

    def titles_of_chunks(self, chunk_ids: Sequence[str]) -> dict[str, ChunkTitle]:
        return {row[0]: ChunkTitle(row[1], row[2]) for row in self._rows(q.TITLES_OF_CHUNKS, ids=_ids(chunk_ids))}

    def _mentions(self) -> MentionPairs:
        with self._lock:
            self._drop_caches_written_elsewhere()
            if self._mention_pairs is None:
                self._mention_pairs = MentionPairs(self._rows(q.ALL_MENTION_PAIRS))
            return self._mention_pairs

    def vector_search_entities(self, embedding: Sequence[float], k: int) -> list[EntityHit]:
        return self.vector_search_entities_batch([embedding], k)[0]

    def vector_search_entities_batch(self, embeddings: Sequence[Sequence[float]], k: int) -> list[list[EntityHit]]:
        tops = self._search("entities", embeddings, k)
        found = {e.id: e for e in self.get_entities(sorted({i for top in tops for i, _ in top}))}
        return [[EntityHit(entity=found[i], score=s) for i, s in top if i in found] for top in tops]

    def _search(self, table: str, embeddings: Sequence[Sequence[float]], k: int) -> list[list[tuple[str, float]]]:
        """Top ``k`` ``(id, cosine)`` per query vector: one matrix product for all of them."""
        queries = np.asarray([check_query_vector(e, self.embedding_dim) for e in embeddings], dtype=np.float32).reshape(
            len(embeddings), self.embedding_dim
        )
        norms = np.linalg.norm(queries, axis=1, keepdims=True)
        units = queries / np.where(norms == 0, 1.0, norms)
        with self._lock:  # a snapshot: later upserts append rows (and ids) or replace whole buffers
            cached = self._matrix(table)
            ids, matrix = cached.ids, cached.matrix  # rows below len(matrix) keep their ids
            # One question (entity linking) on a large matrix: the rows its top k can be in, from the
            # half-precision copy (inside the lock: an upsert may grow that copy).
            rows = cached.exact_candidates(units[0], k) if len(units) == 1 and k > 0 else None
        if not len(matrix) or k <= 0 or not len(queries):
            return [[] for _ in range(len(queries))]
        if rows is not None:
            scores = matrix[rows] @ units[0]
            return [[(ids[rows[i]], float(scores[i])) for i in top_k(scores, [ids[r] for r in rows], k)]]
        # matrix @ queries.T, not queries @ matrix.T: OpenBLAS runs this orientation ~1.5x faster (one question
        # against 78k entity vectors: 8.1 -> 5.3 ms), and both give the same floats.
        scores = (matrix @ units.T).T
        return [[(ids[i], float(row[i])) for i in top_k(row, ids, k)] for row in scores]

    def _matrix(self, table: str) -> VectorMatrix:
        with self._lock:
            self._drop_caches_written_elsewhere()
            if table not in self._vectors:
                rows = self._rows(q.EMBEDDINGS[table])
                matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
                self._vectors[table] = VectorMatrix([r[0] for r in rows], matrix.reshape(len(rows), self.embedding_dim))
            return self._vectors[table]

    def subgraph(self, seed_entity_ids: Sequence[str], hops: int = 2, limit: int = 5000) -> Subgraph:
        with self._lock:
            unknown = set(self._missing("entities", set(seed_entity_ids)))
            reached = [e for e in dict.fromkeys(seed_entity_ids) if e not in unknown][:limit]
            frontier = set(reached)
            pairs = self._mentions()
            for _ in range(hops):
                if not frontier or len(reached) >= limit:
                    break
                related = {row[0] for row in self._rows(q.RELATION_NEIGHBOURS, ids=_ids(frontier))}
                found = (related | pairs.co_mentioned(frontier)) - set(reached)
                new = sorted(found)[: limit - len(reached)]
                reached.extend(new)
                frontier = set(new)
            mentions = pairs.pairs_of(reached)
            relations = [(s, t, float(w)) for s, t, w in self._rows(q.RELATION_TRIPLES, ids=_ids(reached))]
        # Built from the store's own rows: validating ~4,500 pairs again would cost a millisecond per question.
        return Subgraph.model_construct(
            entity_ids=reached,
            chunk_ids=sorted({c for c, _ in mentions}),
            mentions=mentions,
            relations=relations,
        )

    def get_communities(self, level: int | None = None) -> list[Community]:
        rows = self._rows(q.COMMUNITIES, level=level)
        members: dict[str, list[str]] = {row[0]: [] for row in rows}
        parents: dict[str, str] = {}
        ids = _ids(list(members))
        for community_id, member_id in self._rows(q.COMMUNITY_MEMBERS, ids=ids):
            members[community_id].append(member_id)
        for child_id, parent_id in self._rows(q.COMMUNITY_PARENTS, ids=ids):
            parents.setdefault(child_id, parent_id)
        return [
            Community(
                id=i,
                level=lv,
                title=t,
                summary=s,
                stale=bool(st),
                members=sorted(members[i]),
                parent_id=parents.get(i),
                **json.loads(details),
            )
            for i, lv, t, s, st, details in rows
        ]

    def stats(self) -> StoreStats:
        counts = {table: self._rows(q.COUNT[table])[0][0] for table in q.COUNT}
        return StoreStats(
            documents=counts["documents"],
            chunks=counts["chunks"],
            entities=counts["entities"],
            relations=counts["relations"],
            mentions=counts["mentions"],
            communities=counts["communities"],
        )


def _document(row: tuple) -> Document:
    doc_id, source, title, text, hash_, pages, metadata = row
    return Document(
        id=doc_id,
        source=source,
        title=title,
        text=text,
        hash=hash_,
        pages=[PageSpan(**p) for p in json.loads(pages)],
        metadata=json.loads(metadata),
    )


def _chunk(row: tuple) -> Chunk:
    chunk_id, doc_id, idx, text, start, stop, pages, chunker = row
    return Chunk(
        id=chunk_id,
        doc_id=doc_id,
        index=idx,
        text=text,
        start=start,
        end=stop,
        pages=json.loads(pages),
        chunker=chunker,
    )


def _delete_orphans(
    run: Callable[..., sqlite3.Cursor], orphans: set[str], touched: set[str], relation_ids: set[str]
) -> int:
    """Remove ``orphans`` with their relations and memberships, and the relations of ``relation_ids`` left
    without evidence; mark the communities of ``touched`` stale. Returns the relations removed."""
    # Stale before the orphans go: their communities lose members too.
    run(q.MARK_STALE, entities=_ids(touched))
    relation_ids = relation_ids | {row[0] for row in run(q.RELATIONS_OF_ENTITIES, entities=_ids(orphans))}
    doomed = _ids(relation_ids)
    relations = run(q.DELETE_RELATIONS_LEFT_WITHOUT_EVIDENCE, relations=doomed, orphans=_ids(orphans)).rowcount
    run(q.DELETE_DANGLING_EVIDENCE, relations=doomed)
    run(q.DELETE_COMMUNITY_MEMBERSHIPS_OF, entities=_ids(orphans))
    run(q.DELETE_ENTITIES, entities=_ids(orphans))
    return int(relations)


def _runner(db: sqlite3.Connection, ws: str) -> Callable[..., sqlite3.Cursor]:
    """``run(sql, **params)`` on ``db`` with the workspace bound, for the steps of one write transaction."""

    def run(sql: str, **params: object) -> sqlite3.Cursor:
        return db.execute(sql, {"ws": ws, **params})

    return run


def _delete_document(db: sqlite3.Connection, ws: str, doc_id: str) -> DeleteReport:
    """Remove a document and whatever is left without evidence; see ``graph.store.base``."""
    run = _runner(db, ws)
    if run(q.GET_DOCUMENT, doc_id=doc_id).fetchone() is None:
        return DeleteReport(doc_id=doc_id)
    chunks = _ids([row[0] for row in run(q.CHUNK_IDS_OF_DOCUMENT, doc_id=doc_id)])
    touched = {row[0] for row in run(q.ENTITIES_MENTIONED_IN, chunks=chunks)}
    mentions = run(q.DELETE_MENTIONS_IN, chunks=chunks).rowcount
    relation_ids: set[str] = set()
    for relation_id, source_id, target_id in run(q.RELATIONS_WITH_EVIDENCE_IN, chunks=chunks).fetchall():
        relation_ids.add(relation_id)
        touched.update((source_id, target_id))
    run(q.DELETE_EVIDENCE_IN, chunks=chunks)
    orphans = {row[0] for row in run(q.UNMENTIONED, entities=_ids(touched))}
    relations = _delete_orphans(run, orphans, touched, relation_ids)
    chunk_count = run(q.DELETE_CHUNKS_OF_DOCUMENT, doc_id=doc_id).rowcount
    run(q.DELETE_DOCUMENT, doc_id=doc_id)
    return DeleteReport(
        doc_id=doc_id,
        found=True,
        chunks=chunk_count,
        mentions=mentions,
        entities_removed=len(orphans),
        relations_removed=relations,
        affected_entity_ids=sorted(touched - orphans),
    )
