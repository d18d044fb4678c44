"""Views of the fused graph for people: entity search, an entity's detail (aliases, descriptions,
neighbours, evidence chunks with document and page), and small node/edge graphs for drawing (an entity's
neighbourhood, the subgraph behind an answer's evidence)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from graph.fusion.normalize import normalize_name
from graph.models import Entity, Relation
from graph.store.base import GraphStore
from ingest.embedder import Embedder

MAX_GRAPH_ENTITIES = 80  # a drawing with more nodes than this is unreadable


class EntitySummary(BaseModel):
    """What every view of an entity shows: who it is and how often the documents mention it."""

    id: str
    name: str
    type: str
    description: str = ""
    aliases: list[str] = Field(default_factory=list)
    mentions: int = 0


class EntityBrief(EntitySummary):
    score: float = Field(description="1 for a name or alias match, else the cosine of the name's embedding.")


class Neighbour(BaseModel):
    id: str
    name: str
    type: str = Field(description="The neighbour's entity type.")
    relation: str = Field(description="The relation's type, e.g. DESIGNED.")
    direction: str = Field(description="'out' (this entity is the source) or 'in'.")
    weight: float = Field(description="Number of evidence chunks of the relation.")
    description: str = ""


class EvidenceChunk(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    source: str = ""
    page: int | None = None
    text: str
    description: str = Field(default="", description="What this chunk says about the entity.")


class EntityDetail(EntitySummary):
    neighbours: list[Neighbour] = Field(default_factory=list)
    evidence: list[EvidenceChunk] = Field(default_factory=list)


class GraphNode(BaseModel):
    id: str
    label: str
    kind: str = Field(description="'entity' or 'chunk'.")
    type: str = Field(default="", description="Entity type, or the document title of a chunk.")
    page: int | None = None


class GraphEdge(BaseModel):
    id: str
    source: str
    target: str
    type: str = Field(description="A relation type, or MENTIONS from a chunk to an entity.")
    weight: float = 1.0


class GraphView(BaseModel):
    nodes: list[GraphNode] = Field(default_factory=list)
    edges: list[GraphEdge] = Field(default_factory=list)
    truncated: bool = Field(default=False, description="Some entities were left out to keep it drawable.")


def _brief(entity: Entity, score: float) -> EntityBrief:
    return EntityBrief(
        id=entity.id,
        name=entity.name,
        type=entity.type,
        description=entity.description,
        aliases=sorted(entity.aliases),
        mentions=entity.mention_count or len(entity.descriptions_by_source),
        score=round(score, 4),
    )


def search_entities(store: GraphStore, embedder: Embedder, query: str, limit: int = 10) -> list[EntityBrief]:
    """Entities named or aliased ``query`` (any case) first, then the nearest by name embedding."""
    typed = " ".join(query.split())
    exact = store.find_entities(sorted({typed, normalize_name(typed)} - {""}))
    exact.sort(key=lambda e: (-(e.mention_count or len(e.descriptions_by_source)), e.name, e.id))
    found = {e.id: _brief(e, 1.0) for e in exact}
    if len(found) < limit and typed:
        for hit in store.vector_search_entities(embedder.embed([typed])[0].tolist(), limit):
            found.setdefault(hit.entity.id, _brief(hit.entity, hit.score))
    return list(found.values())[:limit]


def entity_detail(store: GraphStore, entity_id: str, neighbours: int = 25, evidence: int = 10) -> EntityDetail | None:
    found = store.get_entities([entity_id])
    if not found:
        return None
    entity = found[0]
    relations = sorted(store.relations_of([entity.id]), key=lambda r: (-r.weight, r.id))[:neighbours]
    return EntityDetail(
        id=entity.id,
        name=entity.name,
        type=entity.type,
        description=entity.description,
        aliases=sorted(entity.aliases),
        mentions=entity.mention_count or len(entity.descriptions_by_source),
        neighbours=_neighbours(store, entity.id, relations),
        evidence=_evidence(store, entity, evidence),
    )


def _neighbours(store: GraphStore, entity_id: str, relations: Sequence[Relation]) -> list[Neighbour]:
    other_ids = [r.target_id if r.source_id == entity_id else r.source_id for r in relations]
    others = {e.id: e for e in store.get_entities(sorted(set(other_ids)))} if other_ids else {}
    return [
        Neighbour(
            id=other,
            name=others[other].name if other in others else other,
            type=others[other].type if other in others else "",
            relation=r.type,
            direction="out" if r.source_id == entity_id else "in",
            weight=r.weight,
            description=r.description,
        )
        for r, other in zip(relations, other_ids, strict=True)
    ]


def _evidence(store: GraphStore, entity: Entity, limit: int) -> list[EvidenceChunk]:
    chunk_ids = sorted(entity.descriptions_by_source)[:limit]
    chunks = store.get_chunks(chunk_ids)
    documents = {d.id: d for d in store.get_documents(sorted({c.doc_id for c in chunks}))}
    return [
        EvidenceChunk(
            chunk_id=c.id,
            doc_id=c.doc_id,
            title=documents[c.doc_id].title if c.doc_id in documents else "",
            source=documents[c.doc_id].source if c.doc_id in documents else "",
            page=c.page,
            text=c.text,
            description=entity.descriptions_by_source.get(c.id, ""),
        )
        for c in chunks
    ]


def neighbourhood(store: GraphStore, entity_id: str, limit: int = 40) -> GraphView | None:
    """The entity and its strongest relations, for drawing."""
    detail = entity_detail(store, entity_id, neighbours=limit, evidence=0)
    if detail is None:
        return None
    nodes = {detail.id: GraphNode(id=detail.id, label=detail.name, kind="entity", type=detail.type)}
    edges: dict[str, GraphEdge] = {}
    for n in detail.neighbours:
        nodes.setdefault(n.id, GraphNode(id=n.id, label=n.name, kind="entity", type=n.type))
        source, target = (detail.id, n.id) if n.direction == "out" else (n.id, detail.id)
        edge_id = f"{source}|{n.relation}|{target}"
        edges[edge_id] = GraphEdge(id=edge_id, source=source, target=target, type=n.relation, weight=n.weight)
    return GraphView(nodes=list(nodes.values()), edges=list(edges.values()))


def evidence_subgraph(store: GraphStore, chunk_ids: Sequence[str]) -> GraphView:
    """The chunks an answer cites, the entities they mention and the relations among those entities."""
    chunks = store.get_chunks(list(dict.fromkeys(chunk_ids)))
    documents = {d.id: d for d in store.get_documents(sorted({c.doc_id for c in chunks}))}
    mentioned = store.entities_of_chunks([c.id for c in chunks])
    entity_ids = list(dict.fromkeys(e for c in chunks for e in mentioned.get(c.id, [])))
    truncated = len(entity_ids) > MAX_GRAPH_ENTITIES
    entities = {e.id: e for e in store.get_entities(entity_ids[:MAX_GRAPH_ENTITIES])}
    nodes = [
        GraphNode(
            id=c.id,
            label=f"[{n}] {documents[c.doc_id].title if c.doc_id in documents else c.doc_id}",
            kind="chunk",
            type=documents[c.doc_id].title if c.doc_id in documents else "",
            page=c.page,
        )
        for n, c in enumerate(chunks, start=1)
    ]
    nodes += [GraphNode(id=e.id, label=e.name, kind="entity", type=e.type) for e in entities.values()]
    edges = [
        GraphEdge(id=f"{c.id}|MENTIONS|{e}", source=c.id, target=e, type="MENTIONS")
        for c in chunks
        for e in mentioned.get(c.id, [])
        if e in entities
    ]
    edges += [
        GraphEdge(id=r.id, source=r.source_id, target=r.target_id, type=r.type, weight=r.weight)
        for r in store.relations_of(list(entities))
        if r.source_id in entities and r.target_id in entities
    ]
    return GraphView(nodes=nodes, edges=edges, truncated=truncated)
