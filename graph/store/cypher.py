"""Every Cypher statement of the Neo4j store. All data travels as parameters.

Nodes carry ``workspace``, their own ``id`` and ``key`` = ``"<workspace>:<id>"`` (unique), so one
database holds many workspaces. Writes are ``UNWIND $rows AS row MERGE ...`` batches; labels,
relationship types and index names are constants here, never built from data. Needs Neo4j 5.26+
(``CALL (x) { ... }`` scoped subqueries); no APOC or GDS.
"""

from __future__ import annotations

ENTITY_VECTOR_INDEX = "amalgam_entity_embedding"

SCHEMA = (
    "CREATE CONSTRAINT amalgam_document_key IF NOT EXISTS FOR (n:Document) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT amalgam_chunk_key IF NOT EXISTS FOR (n:Chunk) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT amalgam_entity_key IF NOT EXISTS FOR (n:Entity) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT amalgam_community_key IF NOT EXISTS FOR (n:Community) REQUIRE n.key IS UNIQUE",
    "CREATE INDEX amalgam_document_ws IF NOT EXISTS FOR (n:Document) ON (n.workspace)",
    "CREATE INDEX amalgam_document_source IF NOT EXISTS FOR (n:Document) ON (n.workspace, n.source)",
    "CREATE INDEX amalgam_chunk_ws IF NOT EXISTS FOR (n:Chunk) ON (n.workspace)",
    "CREATE INDEX amalgam_chunk_doc IF NOT EXISTS FOR (n:Chunk) ON (n.workspace, n.doc_id)",
    "CREATE INDEX amalgam_entity_ws IF NOT EXISTS FOR (n:Entity) ON (n.workspace)",
    "CREATE INDEX amalgam_entity_name IF NOT EXISTS FOR (n:Entity) ON (n.workspace, n.name_lc)",
    "CREATE INDEX amalgam_community_ws IF NOT EXISTS FOR (n:Community) ON (n.workspace)",
    "CREATE INDEX amalgam_mention_name IF NOT EXISTS FOR ()-[m:MENTIONS]-() ON (m.name_lc)",
    "CREATE INDEX amalgam_related_key IF NOT EXISTS FOR ()-[r:RELATED]-() ON (r.key)",
    "CREATE INDEX amalgam_related_ws IF NOT EXISTS FOR ()-[r:RELATED]-() ON (r.workspace)",
)
VECTOR_INDEXES = tuple(
    f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) ON n.embedding "
    "OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}"
    for name, label in ((ENTITY_VECTOR_INDEX, "Entity"),)  # chunk vectors live in FAISS only
)
VECTOR_INDEX_DIMENSIONS = """
SHOW VECTOR INDEXES YIELD name, options WHERE name IN $names
RETURN name, options.indexConfig['vector.dimensions'] AS dim"""
AWAIT_INDEXES = "CALL db.awaitIndexes($timeout_s)"

# -- writes --------------------------------------------------------------------------------------
UPSERT_DOCUMENTS = """
UNWIND $rows AS row
MERGE (d:Document {key: row.key})
SET d.workspace = $ws, d.id = row.id, d.source = row.source, d.title = row.title, d.text = row.text,
    d.hash = row.hash, d.pages = row.pages, d.metadata = row.metadata"""

UPSERT_CHUNKS = """
UNWIND $rows AS row
MATCH (d:Document {key: row.doc_key})
MERGE (c:Chunk {key: row.key})
SET c.workspace = $ws, c.id = row.id, c.doc_id = row.doc_id, c.index = row.index, c.text = row.text,
    c.start = row.start, c.`end` = row.end, c.pages = row.pages, c.page = row.pages[0],
    c.chunker = row.chunker
MERGE (d)-[:HAS_CHUNK]->(c)"""

# Run after UPSERT_CHUNKS so a batch links to its own chunks and to those of earlier batches.
LINK_NEXT = """
UNWIND $rows AS row
MATCH (c:Chunk {key: row.key})
CALL (c, row) {
    MATCH (n:Chunk {workspace: $ws, doc_id: row.doc_id}) WHERE n.index = row.index + 1
    MERGE (c)-[:NEXT]->(n)
}
CALL (c, row) {
    MATCH (p:Chunk {workspace: $ws, doc_id: row.doc_id}) WHERE p.index = row.index - 1
    MERGE (p)-[:NEXT]->(c)
}"""

UPSERT_ENTITIES = """
UNWIND $rows AS row
MERGE (e:Entity {key: row.key})
SET e.workspace = $ws, e.id = row.id, e.name = row.name, e.name_lc = row.name_lc, e.type = row.type,
    e.description = row.description
FOREACH (_ IN CASE WHEN row.embedding IS NULL THEN [] ELSE [1] END | SET e.embedding = row.embedding)"""

UPSERT_MENTIONS = """
UNWIND $rows AS row
MATCH (c:Chunk {key: row.chunk_key})
MATCH (e:Entity {key: row.entity_key})
MERGE (c)-[m:MENTIONS {name: row.name}]->(e)
SET m.name_lc = row.name_lc, m.description = row.description"""

# One row = one piece of evidence (a chunk) for one relation; a known chunk updates its description.
UPSERT_RELATIONS = """
UNWIND $rows AS row
MATCH (s:Entity {key: row.source_key})
MATCH (t:Entity {key: row.target_key})
MERGE (s)-[r:RELATED {key: row.key}]->(t)
ON CREATE SET r.workspace = $ws, r.id = row.id, r.type = row.type, r.evidence = [], r.descriptions = [],
    r.conflict = false
WITH r, row, row.chunk_id IN r.evidence AS known
SET r.descriptions = CASE WHEN known
    THEN [i IN range(0, size(r.evidence) - 1)
          | CASE WHEN r.evidence[i] = row.chunk_id THEN row.description ELSE r.descriptions[i] END]
    ELSE r.descriptions + row.description END
SET r.evidence = CASE WHEN known THEN r.evidence ELSE r.evidence + row.chunk_id END
SET r.weight = toFloat(size(r.evidence))"""

SET_CONFLICTS = """
UNWIND $keys AS k
MATCH ()-[r:RELATED {key: k}]->()
SET r.conflict = $conflict"""

UPSERT_COMMUNITY_NODES = """
UNWIND $rows AS row
MERGE (c:Community {key: row.key})
SET c.workspace = $ws, c.id = row.id, c.level = row.level, c.title = row.title, c.summary = row.summary,
    c.stale = row.stale, c.size = row.size, c.chunk_count = row.chunk_count, c.chunk_ids = row.chunk_ids,
    c.entity_names = row.entity_names"""

# Members are entities (IN_COMMUNITY) or child communities (PARENT). A parent link is replaced
# only when a parent is given, so a child written alone keeps the one it has.
LINK_COMMUNITIES = """
UNWIND $rows AS row
MATCH (c:Community {key: row.key})
CALL (c) {
    MATCH (c)<-[old:IN_COMMUNITY]-()
    DELETE old
}
CALL (c, row) {
    UNWIND row.member_keys AS member_key
    MATCH (e:Entity {key: member_key})
    MERGE (e)-[:IN_COMMUNITY]->(c)
}
CALL (c, row) {
    UNWIND row.member_keys AS member_key
    MATCH (child:Community {key: member_key})
    MERGE (child)-[:PARENT]->(c)
}
CALL (c, row) {
    MATCH (p:Community {key: row.parent_key})
    OPTIONAL MATCH (c)-[old:PARENT]->()
    DELETE old
    MERGE (c)-[:PARENT]->(p)
}"""

DELETE_COMMUNITIES = "MATCH (c:Community {workspace: $ws}) DETACH DELETE c"
DELETE_COMMUNITIES_BY_KEY = "MATCH (c:Community) WHERE c.key IN $keys DETACH DELETE c"

# Deletes in bounded batches, so clearing a big workspace does not need one huge transaction.
CLEAR_BATCH = tuple(
    f"MATCH (n:{label} {{workspace: $ws}}) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS deleted"
    for label in ("Community", "Entity", "Chunk", "Document")
)

# -- delete_document (one write transaction) -----------------------------------------------------
DOCUMENT_CHUNK_IDS = """
MATCH (d:Document {key: $key})
OPTIONAL MATCH (c:Chunk {workspace: $ws, doc_id: d.id})
RETURN count(d) > 0 AS found, collect(c.id) AS chunk_ids"""

DELETE_MENTIONS_OF_DOCUMENT = """
MATCH (:Chunk {workspace: $ws, doc_id: $doc_id})-[m:MENTIONS]->(e:Entity)
WITH m, e.id AS entity_id
DELETE m
RETURN collect(DISTINCT entity_id) AS touched, count(*) AS removed"""

DROP_EVIDENCE = """
MATCH (s:Entity)-[r:RELATED {workspace: $ws}]->(t:Entity)
WHERE any(chunk_id IN r.evidence WHERE chunk_id IN $chunk_ids)
WITH s, r, t, [i IN range(0, size(r.evidence) - 1) WHERE NOT r.evidence[i] IN $chunk_ids] AS keep
SET r.descriptions = [i IN keep | r.descriptions[i]], r.evidence = [i IN keep | r.evidence[i]],
    r.weight = toFloat(size(keep))
RETURN collect(DISTINCT s.id) + collect(DISTINCT t.id) AS endpoints, collect(r.key) AS relation_keys"""

# Communities holding a touched entity, and every ancestor of those.
MARK_STALE = """
MATCH (e:Entity)-[:IN_COMMUNITY]->(:Community)-[:PARENT*0..]->(a:Community)
WHERE e.key IN $keys
SET a.stale = true"""

UNMENTIONED = """
MATCH (e:Entity) WHERE e.key IN $keys AND NOT EXISTS { (e)<-[:MENTIONS]-() }
RETURN collect(e.id) AS ids"""

DELETE_RELATIONS_WITHOUT_EVIDENCE = """
MATCH ()-[r:RELATED]->() WHERE r.key IN $keys AND size(r.evidence) = 0
DELETE r
RETURN count(*) AS removed"""

ALL_UNMENTIONED = """
MATCH (e:Entity {workspace: $ws}) WHERE NOT EXISTS { (e)<-[:MENTIONS]-() }
RETURN collect(e.key) AS keys"""

COUNT_RELATIONS_OF = """
MATCH (e:Entity)-[r:RELATED]-() WHERE e.key IN $keys
RETURN count(DISTINCT r) AS relations"""

DELETE_ENTITIES = "MATCH (e:Entity) WHERE e.key IN $keys DETACH DELETE e"
DELETE_CHUNKS_OF_DOCUMENT = "MATCH (c:Chunk {workspace: $ws, doc_id: $doc_id}) DETACH DELETE c"
DELETE_DOCUMENT = "MATCH (d:Document {key: $key}) DETACH DELETE d"

# -- reads ---------------------------------------------------------------------------------------
_DOCUMENT = "d {.id, .source, .title, .text, .hash, .pages, .metadata}"
GET_DOCUMENT = f"MATCH (d:Document {{key: $key}}) RETURN {_DOCUMENT} AS doc"
DOCUMENT_BY_SOURCE = f"""
MATCH (d:Document {{workspace: $ws, source: $source}})
RETURN {_DOCUMENT} AS doc ORDER BY d.id LIMIT 1"""
_DOCUMENT_NO_TEXT = "d {.id, .source, .title, .hash, .pages, .metadata, text: ''}"
GET_DOCUMENTS = f"UNWIND $keys AS k MATCH (d:Document {{key: k}}) RETURN {_DOCUMENT_NO_TEXT} AS doc"
DOCUMENTS_BY_SOURCES = f"""
UNWIND $sources AS source
MATCH (d:Document {{workspace: $ws, source: source}})
RETURN {_DOCUMENT_NO_TEXT} AS doc ORDER BY d.source, d.id"""
LIST_DOCUMENTS = """
MATCH (d:Document {workspace: $ws})
RETURN d {.id, .source, .title, .hash, .pages, .metadata, text: ''} AS doc ORDER BY d.source, d.id"""

_CHUNK = "c {.id, .doc_id, .index, .text, .start, .`end`, .pages, .chunker}"
GET_CHUNKS = f"UNWIND $keys AS k MATCH (c:Chunk {{key: k}}) RETURN {_CHUNK} AS chunk"
CHUNKS_OF_DOCUMENT = f"""
MATCH (c:Chunk {{workspace: $ws, doc_id: $doc_id}})
RETURN {_CHUNK} AS chunk ORDER BY c.index, c.id"""
CHUNKS_PAGE = f"""
MATCH (c:Chunk {{workspace: $ws}}) WHERE c.id > $after
RETURN {_CHUNK} AS chunk ORDER BY c.id LIMIT $limit"""
NEXT_LINKS = """
MATCH (a:Chunk {workspace: $ws, doc_id: $doc_id})-[:NEXT]->(b:Chunk)
RETURN a.id AS source, b.id AS target ORDER BY a.index"""

_ENTITY = """e.id AS id, e.name AS name, e.type AS type, e.description AS description,
    [(c:Chunk)-[m:MENTIONS]->(e) | [c.id, m.name, m.description]] AS mentions"""
GET_ENTITIES = f"UNWIND $keys AS k MATCH (e:Entity {{key: k}}) RETURN {_ENTITY}"
ENTITY_NAMES = "UNWIND $keys AS k MATCH (e:Entity {key: k}) RETURN e.id AS id, e.name AS name, e.type AS type"
FIND_ENTITY_NAMES = """
CALL () {
    UNWIND $names AS name
    MATCH (e:Entity {workspace: $ws, name_lc: name})
    RETURN e, name
  UNION
    UNWIND $names AS name
    MATCH ()-[:MENTIONS {name_lc: name}]->(e:Entity {workspace: $ws})
    RETURN e, name
}
WITH e, collect(DISTINCT name) AS matched
RETURN e.id AS id, e.name AS name, e.type AS type, matched ORDER BY id"""
ENTITY_VECTORS = """
UNWIND $keys AS k MATCH (e:Entity {key: k}) WHERE e.embedding IS NOT NULL
RETURN e.id AS id, e.embedding AS embedding"""
FIND_ENTITIES = f"""
CALL () {{
    UNWIND $names AS name
    MATCH (e:Entity {{workspace: $ws, name_lc: name}})
    RETURN e
  UNION
    UNWIND $names AS name
    MATCH ()-[:MENTIONS {{name_lc: name}}]->(e:Entity {{workspace: $ws}})
    RETURN e
}}
RETURN {_ENTITY} ORDER BY e.id"""
ENTITY_IDS_PAGE = """
MATCH (e:Entity {workspace: $ws}) WHERE e.id > $after
RETURN e.id AS id ORDER BY e.id LIMIT $limit"""
ENTITIES_OF_CHUNKS = """
UNWIND $keys AS k
MATCH (c:Chunk {key: k})-[:MENTIONS]->(e:Entity)
RETURN c.id AS chunk_id, collect(DISTINCT e.id) AS entity_ids"""

TITLES_OF_CHUNKS = """
UNWIND $keys AS k
MATCH (d:Document)-[:HAS_CHUNK]->(c:Chunk {key: k})
RETURN c.id AS chunk_id, d.id AS doc_id, d.title AS title"""

RELATIONS_OF = """
UNWIND $keys AS k
MATCH (:Entity {key: k})-[r:RELATED]-(:Entity)
WITH DISTINCT r
RETURN r.id AS id, startNode(r).id AS source_id, endNode(r).id AS target_id, r.type AS type,
    r.conflict AS conflict, r.evidence AS evidence, r.descriptions AS descriptions
ORDER BY id"""

RELATIONS_BETWEEN = """
MATCH (a:Entity)-[r:RELATED]->(b:Entity) WHERE a.key IN $keys AND b.key IN $keys
RETURN r.id AS id, a.id AS source_id, b.id AS target_id, r.type AS type,
    r.conflict AS conflict, r.evidence AS evidence, r.descriptions AS descriptions
ORDER BY id"""

# The index spans every workspace: over-fetch, then keep this workspace's nodes.
# Many query vectors in one round trip; ``query`` is the position of the vector in ``$vectors``.
# One row per query: how many hits the index returned, and this workspace's hits down to the k-th best (and any
# within $tie below it, which rounding may tie with it). Returning every hit as a row cost ~8 ms of the driver's
# record decoding per query (62 rows each): most of an ingest batch's resolution time on Neo4j.
VECTOR_SEARCH_BATCH = """
UNWIND range(0, size($vectors) - 1) AS query
CALL db.index.vector.queryNodes($index, $fetch, $vectors[query]) YIELD node, score
WITH query, node, score ORDER BY query, score DESC
WITH query, count(*) AS returned, collect(CASE WHEN node.workspace = $ws THEN [node.id, score] END) AS ours
WITH query, returned, ours, CASE WHEN size(ours) >= $k THEN ours[$k - 1][1] ELSE -1.0 END AS kth
RETURN query, returned, [hit IN ours WHERE hit[1] >= kth - $tie] AS hits"""

SUBGRAPH_NEIGHBOURS = """
UNWIND $keys AS k
MATCH (e:Entity {key: k})
CALL (e) {
    MATCH (e)-[:RELATED]-(n:Entity)
    RETURN n
  UNION
    MATCH (e)<-[:MENTIONS]-(:Chunk)-[:MENTIONS]->(n:Entity)
    RETURN n
}
RETURN DISTINCT n.id AS id"""
EXISTING_ENTITY_IDS = "UNWIND $keys AS k MATCH (e:Entity {key: k}) RETURN e.id AS id"
SUBGRAPH_MENTIONS = """
UNWIND $keys AS k
MATCH (c:Chunk)-[:MENTIONS]->(e:Entity {key: k})
RETURN DISTINCT c.id AS chunk_id, e.id AS entity_id ORDER BY chunk_id, entity_id"""
SUBGRAPH_RELATIONS = """
UNWIND $keys AS k
MATCH (s:Entity {key: k})-[r:RELATED]->(t:Entity) WHERE t.key IN $keys
RETURN s.id AS source_id, t.id AS target_id, r.weight AS weight ORDER BY source_id, target_id, r.id"""

MISSING_KEYS = {
    label: f"UNWIND $keys AS k OPTIONAL MATCH (n:{label} {{key: k}}) "
    "WITH k, n WHERE n IS NULL RETURN collect(k) AS missing"
    for label in ("Document", "Chunk", "Entity")
}

COMMUNITIES = """
MATCH (c:Community {workspace: $ws}) WHERE $level IS NULL OR c.level = $level
RETURN c.id AS id, c.level AS level, c.title AS title, c.summary AS summary, c.stale AS stale,
    c.size AS size, c.chunk_count AS chunk_count, c.chunk_ids AS chunk_ids, c.entity_names AS entity_names,
    [(e:Entity)-[:IN_COMMUNITY]->(c) | e.id] + [(child:Community)-[:PARENT]->(c) | child.id] AS members,
    [(c)-[:PARENT]->(p:Community) | p.id] AS parents
ORDER BY level, id"""

STATS = """
CALL () { MATCH (n:Document {workspace: $ws}) RETURN count(n) AS documents }
CALL () { MATCH (n:Chunk {workspace: $ws}) RETURN count(n) AS chunks }
CALL () { MATCH (n:Entity {workspace: $ws}) RETURN count(n) AS entities }
CALL () { MATCH ()-[r:RELATED {workspace: $ws}]->() RETURN count(r) AS relations }
CALL () { MATCH (:Chunk {workspace: $ws})-[m:MENTIONS]->() RETURN count(m) AS mentions }
CALL () { MATCH (n:Community {workspace: $ws}) RETURN count(n) AS communities }
RETURN documents, chunks, entities, relations, mentions, communities"""
