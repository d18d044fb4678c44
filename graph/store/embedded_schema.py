"""SQLite schema of the embedded graph store: the graph model of ARCHITECTURE.md as tables.

Every table carries the workspace in its primary key, so tenants share one file and never mix.
``NEXT`` links are not stored: they are the chunks of a document in ``idx`` order.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    ws TEXT NOT NULL, id TEXT NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    hash TEXT NOT NULL, pages TEXT NOT NULL, metadata TEXT NOT NULL,
    PRIMARY KEY (ws, id));
CREATE INDEX IF NOT EXISTS documents_source ON documents (ws, source);

CREATE TABLE IF NOT EXISTS chunks (
    ws TEXT NOT NULL, id TEXT NOT NULL, doc_id TEXT NOT NULL, idx INTEGER NOT NULL, text TEXT NOT NULL,
    start INTEGER NOT NULL, stop INTEGER NOT NULL, pages TEXT NOT NULL, chunker TEXT NOT NULL,
    embedding BLOB,
    PRIMARY KEY (ws, id));
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (ws, doc_id, idx);

CREATE TABLE IF NOT EXISTS entities (
    ws TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, name_lc TEXT NOT NULL, type TEXT NOT NULL,
    description TEXT NOT NULL, embedding BLOB,
    PRIMARY KEY (ws, id));
CREATE INDEX IF NOT EXISTS entities_name ON entities (ws, name_lc);

CREATE TABLE IF NOT EXISTS mentions (
    ws TEXT NOT NULL, chunk_id TEXT NOT NULL, entity_id TEXT NOT NULL, name TEXT NOT NULL,
    name_lc TEXT NOT NULL, description TEXT NOT NULL,
    PRIMARY KEY (ws, chunk_id, entity_id, name));
-- Covering (entity -> chunk): subgraph reads need no table lookup per mention.
CREATE INDEX IF NOT EXISTS mentions_entity_chunk ON mentions (ws, entity_id, chunk_id);
CREATE INDEX IF NOT EXISTS mentions_name ON mentions (ws, name_lc);

CREATE TABLE IF NOT EXISTS relations (
    ws TEXT NOT NULL, id TEXT NOT NULL, source_id TEXT NOT NULL, target_id TEXT NOT NULL,
    type TEXT NOT NULL, conflict INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ws, id));
CREATE INDEX IF NOT EXISTS relations_source ON relations (ws, source_id);
CREATE INDEX IF NOT EXISTS relations_target ON relations (ws, target_id);

CREATE TABLE IF NOT EXISTS evidence (
    ws TEXT NOT NULL, relation_id TEXT NOT NULL, chunk_id TEXT NOT NULL, description TEXT NOT NULL,
    strength REAL NOT NULL,
    PRIMARY KEY (ws, relation_id, chunk_id));
CREATE INDEX IF NOT EXISTS evidence_chunk ON evidence (ws, chunk_id);

CREATE TABLE IF NOT EXISTS communities (
    ws TEXT NOT NULL, id TEXT NOT NULL, level INTEGER NOT NULL, title TEXT NOT NULL,
    summary TEXT NOT NULL, stale INTEGER NOT NULL DEFAULT 0, details TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (ws, id));

CREATE TABLE IF NOT EXISTS community_entities (
    ws TEXT NOT NULL, community_id TEXT NOT NULL, entity_id TEXT NOT NULL,
    PRIMARY KEY (ws, community_id, entity_id));
CREATE INDEX IF NOT EXISTS community_entities_entity ON community_entities (ws, entity_id);

CREATE TABLE IF NOT EXISTS community_parents (
    ws TEXT NOT NULL, child_id TEXT NOT NULL, parent_id TEXT NOT NULL,
    PRIMARY KEY (ws, child_id, parent_id));
CREATE INDEX IF NOT EXISTS community_parents_parent ON community_parents (ws, parent_id);
"""

# Tables in the order ``clear`` empties them.
TABLES = (
    "community_parents",
    "community_entities",
    "communities",
    "evidence",
    "relations",
    "mentions",
    "entities",
    "chunks",
    "documents",
)

# Columns added after a table first shipped: (table, column, definition). A store file written by an older
# version gets them when it is opened (``ALTER TABLE ... ADD COLUMN`` keeps its rows).
ADDED_COLUMNS = (("communities", "details", "TEXT NOT NULL DEFAULT '{}'"),)
