"""Every SQL statement of the embedded store, with named parameters only.

Lists of ids are one JSON parameter read with ``json_each``; ``:ws`` scopes each statement to the
store's workspace. Table names in the generated dicts come from constants, never from data.
"""

from __future__ import annotations

from graph.store.embedded_schema import TABLES


def _in(param: str) -> str:
    return f"(SELECT value FROM json_each(:{param}))"


def _touching(param: str) -> str:
    """The ids of relations with either end in the ``param`` list. Each half starts from the list and walks
    one end's index: with ``source_id IN (...) OR target_id IN (...)`` SQLite scanned every relation of the
    workspace (11 ms for one question's evidence on the full corpus, against 0.06)."""
    return f"""
SELECT r.id FROM json_each(:{param}) j CROSS JOIN relations r ON r.ws = :ws AND r.source_id = j.value
UNION SELECT r.id FROM json_each(:{param}) j CROSS JOIN relations r ON r.ws = :ws AND r.target_id = j.value"""


# -- writes --------------------------------------------------------------------------------------
UPSERT_DOCUMENT = """
INSERT INTO documents (ws, id, source, title, text, hash, pages, metadata)
VALUES (:ws, :id, :source, :title, :text, :hash, :pages, :metadata)
ON CONFLICT (ws, id) DO UPDATE SET source = excluded.source, title = excluded.title, text = excluded.text,
    hash = excluded.hash, pages = excluded.pages, metadata = excluded.metadata"""

# Chunk vectors live in the FAISS index only; the column stays for workspaces written by older versions.
UPSERT_CHUNK = """
INSERT INTO chunks (ws, id, doc_id, idx, text, start, stop, pages, chunker)
VALUES (:ws, :id, :doc_id, :idx, :text, :start, :stop, :pages, :chunker)
ON CONFLICT (ws, id) DO UPDATE SET doc_id = excluded.doc_id, idx = excluded.idx, text = excluded.text,
    start = excluded.start, stop = excluded.stop, pages = excluded.pages, chunker = excluded.chunker"""

UPSERT_ENTITY = """
INSERT INTO entities (ws, id, name, name_lc, type, description, embedding)
VALUES (:ws, :id, :name, :name_lc, :type, :description, :embedding)
ON CONFLICT (ws, id) DO UPDATE SET name = excluded.name, name_lc = excluded.name_lc, type = excluded.type,
    description = excluded.description, embedding = COALESCE(excluded.embedding, entities.embedding)"""

UPSERT_MENTION = """
INSERT INTO mentions (ws, chunk_id, entity_id, name, name_lc, description)
VALUES (:ws, :chunk_id, :entity_id, :name, :name_lc, :description)
ON CONFLICT (ws, chunk_id, entity_id, name) DO UPDATE SET description = excluded.description"""

UPSERT_RELATION = """
INSERT INTO relations (ws, id, source_id, target_id, type) VALUES (:ws, :id, :source_id, :target_id, :type)
ON CONFLICT (ws, id) DO NOTHING"""

UPSERT_EVIDENCE = """
INSERT INTO evidence (ws, relation_id, chunk_id, description, strength)
VALUES (:ws, :relation_id, :chunk_id, :description, :strength)
ON CONFLICT (ws, relation_id, chunk_id) DO UPDATE SET description = excluded.description,
    strength = excluded.strength"""

SET_CONFLICT = f"UPDATE relations SET conflict = :conflict WHERE ws = :ws AND id IN {_in('ids')}"

UPSERT_COMMUNITY = """
INSERT INTO communities (ws, id, level, title, summary, stale, details)
VALUES (:ws, :id, :level, :title, :summary, :stale, :details)
ON CONFLICT (ws, id) DO UPDATE SET level = excluded.level, title = excluded.title, summary = excluded.summary,
    stale = excluded.stale, details = excluded.details"""

DELETE_COMMUNITY_ENTITIES = "DELETE FROM community_entities WHERE ws = :ws AND community_id = :id"
DELETE_COMMUNITY_PARENT = "DELETE FROM community_parents WHERE ws = :ws AND child_id = :id"
INSERT_COMMUNITY_ENTITIES = f"""
INSERT OR IGNORE INTO community_entities (ws, community_id, entity_id)
SELECT :ws, :id, e.id FROM entities e WHERE e.ws = :ws AND e.id IN {_in("members")}"""
INSERT_COMMUNITY_CHILDREN = f"""
INSERT OR IGNORE INTO community_parents (ws, child_id, parent_id)
SELECT :ws, c.id, :id FROM communities c WHERE c.ws = :ws AND c.id IN {_in("members")}"""
INSERT_COMMUNITY_PARENT = """
INSERT OR IGNORE INTO community_parents (ws, child_id, parent_id)
SELECT :ws, :id, c.id FROM communities c WHERE c.ws = :ws AND c.id = :parent_id"""

# Table names come from the schema module, never from input; only the workspace is a parameter.
CLEAR_TABLE = {table: f"DELETE FROM {table} WHERE ws = :ws" for table in TABLES}
DELETE_COMMUNITIES = (
    f"DELETE FROM community_parents WHERE ws = :ws AND (child_id IN {_in('ids')} OR parent_id IN {_in('ids')})",
    f"DELETE FROM community_entities WHERE ws = :ws AND community_id IN {_in('ids')}",
    f"DELETE FROM communities WHERE ws = :ws AND id IN {_in('ids')}",
)

# -- delete_document -----------------------------------------------------------------------------
CHUNK_IDS_OF_DOCUMENT = "SELECT id FROM chunks WHERE ws = :ws AND doc_id = :doc_id"
ENTITIES_MENTIONED_IN = """
SELECT DISTINCT m.entity_id FROM json_each(:chunks) j
CROSS JOIN mentions m ON m.ws = :ws AND m.chunk_id = j.value"""
DELETE_MENTIONS_IN = f"DELETE FROM mentions WHERE ws = :ws AND chunk_id IN {_in('chunks')}"
RELATIONS_WITH_EVIDENCE_IN = """
SELECT DISTINCT r.id, r.source_id, r.target_id FROM json_each(:chunks) j
CROSS JOIN evidence e INDEXED BY evidence_chunk ON e.ws = :ws AND e.chunk_id = j.value
CROSS JOIN relations r ON r.ws = :ws AND r.id = e.relation_id"""
DELETE_EVIDENCE_IN = f"DELETE FROM evidence WHERE ws = :ws AND chunk_id IN {_in('chunks')}"
UNMENTIONED = f"""
SELECT id FROM entities WHERE ws = :ws AND id IN {_in("entities")}
AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.ws = :ws AND m.entity_id = entities.id)"""
ALL_UNMENTIONED = """
SELECT id FROM entities WHERE ws = :ws
AND NOT EXISTS (SELECT 1 FROM mentions m WHERE m.ws = :ws AND m.entity_id = entities.id)"""
# Communities holding a touched entity, and every ancestor of those.
MARK_STALE = f"""
WITH RECURSIVE hit(id) AS (
    SELECT community_id FROM community_entities WHERE ws = :ws AND entity_id IN {_in("entities")}
    UNION SELECT p.parent_id FROM community_parents p JOIN hit ON p.child_id = hit.id WHERE p.ws = :ws)
UPDATE communities SET stale = 1 WHERE ws = :ws AND id IN (SELECT id FROM hit)"""
DELETE_RELATIONS_LEFT_WITHOUT_EVIDENCE = f"""
DELETE FROM relations WHERE ws = :ws AND (
    (id IN {_in("relations")}
     AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.ws = :ws AND e.relation_id = relations.id))
    OR source_id IN {_in("orphans")} OR target_id IN {_in("orphans")})"""
DELETE_DANGLING_EVIDENCE = f"""
DELETE FROM evidence WHERE ws = :ws AND relation_id IN {_in("relations")}
AND relation_id NOT IN (SELECT id FROM relations WHERE ws = :ws)"""
RELATIONS_OF_ENTITIES = _touching("entities")
DELETE_COMMUNITY_MEMBERSHIPS_OF = f"DELETE FROM community_entities WHERE ws = :ws AND entity_id IN {_in('entities')}"
DELETE_ENTITIES = f"DELETE FROM entities WHERE ws = :ws AND id IN {_in('entities')}"
DELETE_CHUNKS_OF_DOCUMENT = "DELETE FROM chunks WHERE ws = :ws AND doc_id = :doc_id"
DELETE_DOCUMENT = "DELETE FROM documents WHERE ws = :ws AND id = :doc_id"

# -- reads ---------------------------------------------------------------------------------------
EXISTING = {
    table: f"SELECT id FROM {table} WHERE ws = :ws AND id IN {_in('ids')}"
    for table in ("documents", "chunks", "entities", "communities")
}
_DOCUMENT_COLUMNS = "id, source, title, text, hash, pages, metadata"
GET_DOCUMENT = f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE ws = :ws AND id = :doc_id"
DOCUMENT_BY_SOURCE = (
    f"SELECT {_DOCUMENT_COLUMNS} FROM documents WHERE ws = :ws AND source = :source ORDER BY id LIMIT 1"
)
GET_DOCUMENTS = (
    f"SELECT id, source, title, '', hash, pages, metadata FROM documents WHERE ws = :ws AND id IN {_in('ids')}"
)
DOCUMENTS_BY_SOURCES = f"""
SELECT id, source, title, '', hash, pages, metadata FROM documents
WHERE ws = :ws AND source IN {_in("sources")} ORDER BY source, id"""
LIST_DOCUMENTS = "SELECT id, source, title, '', hash, pages, metadata FROM documents WHERE ws = :ws ORDER BY source, id"
TITLES_OF_CHUNKS = f"""
SELECT c.id, c.doc_id, d.title FROM chunks c JOIN documents d ON d.ws = c.ws AND d.id = c.doc_id
WHERE c.ws = :ws AND c.id IN {_in("ids")}"""

_CHUNK_COLUMNS = "id, doc_id, idx, text, start, stop, pages, chunker"
GET_CHUNKS = f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE ws = :ws AND id IN {_in('ids')}"
CHUNKS_OF_DOCUMENT = f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE ws = :ws AND doc_id = :doc_id ORDER BY idx, id"
CHUNKS_PAGE = f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE ws = :ws AND id > :after ORDER BY id LIMIT :n"
NEXT_LINKS = """
SELECT a.id, b.id FROM chunks a JOIN chunks b ON b.ws = a.ws AND b.doc_id = a.doc_id AND b.idx = a.idx + 1
WHERE a.ws = :ws AND a.doc_id = :doc_id ORDER BY a.idx"""

_ENTITY_COLUMNS = "id, name, type, description"
GET_ENTITIES = f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE ws = :ws AND id IN {_in('ids')} ORDER BY id"
# A UNION of two index lookups: with an OR, SQLite scans every entity of the workspace.
FIND_ENTITIES = f"""
SELECT {_ENTITY_COLUMNS} FROM entities WHERE ws = :ws AND id IN (
    SELECT id FROM entities WHERE ws = :ws AND name_lc IN {_in("names")}
    UNION SELECT entity_id FROM mentions WHERE ws = :ws AND name_lc IN {_in("names")}) ORDER BY id"""
ENTITY_NAMES = f"SELECT id, name, type FROM entities WHERE ws = :ws AND id IN {_in('ids')}"
FIND_ENTITY_NAMES = f"""
SELECT e.id, e.name, e.type, found.name_lc FROM (
    SELECT id AS entity_id, name_lc FROM entities WHERE ws = :ws AND name_lc IN {_in("names")}
    UNION SELECT entity_id, name_lc FROM mentions WHERE ws = :ws AND name_lc IN {_in("names")}) found
JOIN entities e ON e.ws = :ws AND e.id = found.entity_id ORDER BY e.id, found.name_lc"""
ENTITY_VECTORS = f"SELECT id, embedding FROM entities WHERE ws = :ws AND id IN {_in('ids')} AND embedding IS NOT NULL"
ENTITY_IDS_PAGE = "SELECT id FROM entities WHERE ws = :ws AND id > :after ORDER BY id LIMIT :n"
MENTIONS_OF = f"""
SELECT entity_id, chunk_id, name, description FROM mentions WHERE ws = :ws AND entity_id IN {_in("ids")}"""
ALL_MENTION_PAIRS = """
SELECT DISTINCT chunk_id, entity_id FROM mentions WHERE ws = :ws ORDER BY chunk_id, entity_id"""
RELATIONS_OF = f"""
SELECT id, source_id, target_id, type, conflict FROM relations
WHERE ws = :ws AND id IN ({_touching("ids")}) ORDER BY id"""
RELATIONS_BETWEEN = f"""
SELECT DISTINCT r.id, r.source_id, r.target_id, r.type, r.conflict FROM json_each(:ids) j
CROSS JOIN relations r ON r.ws = :ws AND r.source_id = j.value
WHERE r.target_id IN {_in("ids")} ORDER BY r.id"""
EVIDENCE_OF = f"SELECT relation_id, chunk_id, description FROM evidence WHERE ws = :ws AND relation_id IN {_in('ids')}"

EMBEDDINGS = {
    table: f"SELECT id, embedding FROM {table} WHERE ws = :ws AND embedding IS NOT NULL ORDER BY id"
    for table in ("entities",)
}

# Reads of ``subgraph``. Each starts from the id list (CROSS JOIN fixes SQLite's join order), so it
# costs index lookups per listed id instead of a scan of the workspace's relations.
# One hop here is RELATED in either direction; the other neighbours, the entities that share a chunk, come
# from the store's in-memory mention pairs (embedded_mentions.py).
RELATION_NEIGHBOURS = """
SELECT r.target_id FROM json_each(:ids) j CROSS JOIN relations r ON r.ws = :ws AND r.source_id = j.value
UNION SELECT r.source_id FROM json_each(:ids) j CROSS JOIN relations r ON r.ws = :ws AND r.target_id = j.value"""
RELATION_TRIPLES = f"""
SELECT r.source_id, r.target_id, COUNT(e.chunk_id) FROM json_each(:ids) j
CROSS JOIN relations r ON r.ws = :ws AND r.source_id = j.value
CROSS JOIN evidence e ON e.ws = r.ws AND e.relation_id = r.id
WHERE r.target_id IN {_in("ids")}
GROUP BY r.id ORDER BY r.source_id, r.target_id, r.id"""

COMMUNITIES = """
SELECT id, level, title, summary, stale, details FROM communities
WHERE ws = :ws AND (:level IS NULL OR level = :level) ORDER BY level, id"""
COMMUNITY_MEMBERS = f"""
SELECT community_id, entity_id FROM community_entities WHERE ws = :ws AND community_id IN {_in("ids")}
UNION ALL SELECT parent_id, child_id FROM community_parents WHERE ws = :ws AND parent_id IN {_in("ids")}"""
COMMUNITY_PARENTS = f"""
SELECT child_id, parent_id FROM community_parents WHERE ws = :ws AND child_id IN {_in("ids")}
ORDER BY parent_id"""

COUNT = {
    table: f"SELECT COUNT(*) FROM {table} WHERE ws = :ws"
    for table in ("documents", "chunks", "entities", "relations", "mentions", "communities")
}
