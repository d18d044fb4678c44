"""The community hierarchy extended after an ingest, without re-running Leiden over the whole graph.

An ingest only adds: new chunks, their mentions, relation evidence between entities they name. So:

1. The entities the new chunks link (a co-mention or a relation) that are in no level-0 community are
   placed: each joins the level-0 community holding most of its edge weight, pass after pass, so a chain
   of new entities follows the one next to a placed entity. Those linked only to each other form
   communities of their own (Leiden over them alone), each with a chain of parents up to the top level, as a
   full rebuild gives a group that merges with nothing.
2. The level-0 communities of up to ``MAX_RECOMPUTED_ENTITIES`` that gained entities or hold one the new
   chunks name (its degree and chunks changed), and the new ones, are recomputed from the graph around their
   entities, read from the store: each record is what the full rebuild writes for the same entities. One
   that gained entities gets a new id (an id is a hash of level and entities); one that did not keeps its
   id, and its LLM summary.
3. Bigger level-0 communities that gained entities, and the ancestors of any that did, gain them too, so
   their ids change; they keep their title, summary, central chunks and names, which describe their hubs,
   until the next full rebuild; their members, size and chunk count are kept exact.

Every other community keeps its id and record (its chunk count follows the new chunks that name its
entities). What this does not see, the next full rebuild does (``app/communities.py`` decides when): edges
the new chunks add between communities already placed, and a community that should now split or merge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from graph.hierarchy.communities import (
    MAX_ENTITY_NAMES,
    EntityGraph,
    RecordContext,
    co_mentions,
    leiden_levels,
    weighted_degrees,
)
from graph.hierarchy.summaries import MAX_FACT_RELATIONS, Summarize, SummaryTally
from graph.models import Community, Entity, stable_id
from graph.store.base import GraphStore

# A level-0 community of more entities than this is not recomputed after an ingest (its record is carried over,
# its entities, size and chunk count kept exact): it is about its hubs, which a small ingest rarely changes, and
# reading the graph around it costs more than the ingest. On the 17.6k-passage workspace the 29 communities
# above 500 entities hold 90% of them, and an ingest of 300 passages touched nearly all of those.
MAX_RECOMPUTED_ENTITIES = 500


def extend_communities(
    store: GraphStore,
    stored: Sequence[Community],
    new_chunk_ids: Iterable[str],
    *,
    summarize: Summarize | None = None,
    seed: int = 42,
    tally: SummaryTally | None = None,
) -> list[Community]:
    """The whole hierarchy after an ingest that wrote ``new_chunk_ids`` (nothing else changed since
    ``stored`` was built); the caller writes it."""
    tally = tally if tally is not None else SummaryTally()
    new_chunks = {c: sorted(set(m)) for c, m in store.entities_of_chunks(sorted(set(new_chunk_ids))).items()}
    home = {e: c.id for c in stored if c.level == 0 for e in c.members}  # entity -> its level-0 community
    links = _new_links(store, new_chunks, home)
    placed = place_entities(links, home)
    groups = _groups_of_the_rest(links, placed, seed)
    joined: dict[str, list[str]] = defaultdict(list)  # level-0 community id -> entities it gains
    for entity, community_id in placed.items():
        joined[community_id].append(entity)
    named = {home[e] for members in new_chunks.values() for e in members if e in home}  # degrees changed
    hierarchy = Hierarchy(stored)
    touched = sorted(c for c in named | joined.keys() if hierarchy.by_id[c].size <= MAX_RECOMPUTED_ENTITIES)
    grown = {c: set(entities) for c, entities in joined.items() if c not in touched}  # big: carried over
    leaf_sets = [sorted(hierarchy.leaves(c) | set(joined.get(c, ()))) for c in touched] + groups
    reuse = {c.id: c.summary for c in stored if c.summary} if summarize is not None else {}
    records = _level0_records(store, leaf_sets, summarize, reuse, tally)
    changed = dict(zip(touched, records, strict=False))
    updated, carried = hierarchy.replace_level0(changed, grown, records[len(touched) :])
    recomputed = {r.id for r in records}
    return _count_new_chunks(updated, new_chunks, (carried | hierarchy.by_id.keys()) - recomputed)


def _new_links(
    store: GraphStore, new_chunks: dict[str, list[str]], home: dict[str, str]
) -> dict[str, dict[str, float]]:
    """Edge weights (as the full graph counts them) from each entity in no community to its neighbours."""
    unplaced = sorted({e for members in new_chunks.values() for e in members if e not in home})
    links: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (left, right), weight in co_mentions(new_chunks).items():
        for a, b in ((left, right), (right, left)):
            if a not in home:
                links[a][b] += weight
    for relation in store.relations_of(unplaced) if unplaced else []:
        a, b = relation.source_id, relation.target_id
        if a == b:
            continue
        for x, y in ((a, b), (b, a)):
            if x not in home:
                links[x][y] += max(relation.weight, 1.0)
    return {entity: dict(weights) for entity, weights in links.items()}


def place_entities(links: dict[str, dict[str, float]], home: dict[str, str]) -> dict[str, str]:
    """Entity -> the level-0 community holding most of its edge weight (ties: the smaller id), for each
    entity of ``links`` with a placed neighbour; pass after pass, so placed new entities pull others in."""
    placed: dict[str, str] = {}
    pending = sorted(links)
    while pending:
        left = []
        for entity in pending:
            votes: dict[str, float] = defaultdict(float)
            for neighbour, weight in links[entity].items():
                community_id = home.get(neighbour) or placed.get(neighbour)
                if community_id is not None:
                    votes[community_id] += weight
            if votes:
                placed[entity] = min(votes, key=lambda c: (-votes[c], c))
            else:
                left.append(entity)
        if len(left) == len(pending):
            break
        pending = left
    return placed


def _groups_of_the_rest(links: dict[str, dict[str, float]], placed: dict[str, str], seed: int) -> list[list[str]]:
    """Leiden's level-0 communities over the new entities linked only to each other (sorted entity ids)."""
    rest = sorted(e for e in links if e not in placed)
    if not rest:
        return []
    pairs = {(a, b): w for a in rest for b, w in links[a].items() if a < b}
    graph = EntityGraph([Entity(id=e, name="", type="") for e in rest], [], pairs)  # Leiden reads ids only
    membership = leiden_levels(graph, seed, max_levels=1)[0]
    groups: dict[int, list[str]] = defaultdict(list)
    for node, label in enumerate(membership):
        groups[label].append(graph.entities[node].id)
    return sorted(sorted(group) for group in groups.values())


def _level0_records(
    store: GraphStore,
    leaf_sets: list[list[str]],
    summarize: Summarize | None,
    reuse: dict[str, str],
    tally: SummaryTally,
) -> list[Community]:
    """Level-0 records of these entity sets, from the graph around them: every chunk and relation of their
    entities, so degrees and central chunks are those of the whole graph. A community whose entities did
    not change keeps its id, so its summary in ``reuse`` (an LLM's) is kept."""
    leaves = sorted({e for leaf_set in leaf_sets for e in leaf_set})
    if not leaves:
        return []
    chunk_ids = sorted({chunk for chunk, _ in store.subgraph(leaves, hops=0, limit=len(leaves)).mentions})
    chunk_entities = {c: sorted(set(m)) for c, m in store.entities_of_chunks(chunk_ids).items()}
    chunk_docs = {chunk.id: chunk.doc_id for chunk in store.get_chunks(chunk_ids)}
    relations = sorted({r.id: r for r in store.relations_of(leaves)}.values(), key=lambda r: r.id)
    degree = weighted_degrees(chunk_entities, relations)
    context = RecordContext.around(degree, chunk_entities, chunk_docs, relations, summarize, reuse, tally)
    named = {e.id: e for e in store.get_entities(sorted(_named(leaf_sets, context)))}
    return [context.record(0, [named.get(e) or Entity(id=e, name="", type="") for e in ids], ids) for ids in leaf_sets]


def _named(leaf_sets: list[list[str]], context: RecordContext) -> set[str]:
    """The entities a record names: its best-connected ones (all tied with the last, as ties go by name)
    and the ends of its strongest inside relations. The others need no name, so they are not read (an
    entity named in thousands of chunks is slow to read)."""
    named: set[str] = set()
    for ids in leaf_sets:
        degrees = sorted((context.degree.get(e, 0.0) for e in ids), reverse=True)
        floor = degrees[min(len(degrees), MAX_ENTITY_NAMES) - 1]
        named.update(e for e in ids if context.degree.get(e, 0.0) >= floor)
        members = set(ids)
        inside = [r for e in ids for r in context.relations_from.get(e, ()) if r.target_id in members]
        for relation in sorted(inside, key=lambda r: (-r.weight, r.id))[:MAX_FACT_RELATIONS]:
            named.update((relation.source_id, relation.target_id))
    return named


class Hierarchy:
    """The stored communities, by id, with each one's entities (at every level below it)."""

    def __init__(self, communities: Sequence[Community]) -> None:
        self.by_id = {c.id: c for c in communities}
        self.top = max((c.level for c in communities), default=0)
        self._leaves: dict[str, set[str]] = {}

    def leaves(self, community_id: str) -> set[str]:
        if community_id not in self._leaves:
            community = self.by_id[community_id]
            children = [m for m in community.members if m in self.by_id]
            self._leaves[community_id] = (
                set(community.members) if community.level == 0 else set().union(*map(self.leaves, children))
            )
        return self._leaves[community_id]

    def ancestors(self, community_id: str) -> list[str]:
        chain: list[str] = []
        parent = self.by_id[community_id].parent_id
        while parent is not None and parent in self.by_id and parent not in chain:
            chain.append(parent)
            parent = self.by_id[parent].parent_id
        return chain

    def replace_level0(
        self, changed: dict[str, Community], grown: dict[str, set[str]], new: list[Community]
    ) -> tuple[list[Community], set[str]]:
        """Every community once level-0 ones were recomputed (``changed``: old id -> record), others grew
        without being recomputed (``grown``: old id -> the entities they gain) and ``new`` ones were added;
        and the ids of those whose record was carried over while their entity set grew (so their id
        changed). A new community gets a chain of parents up to the top level."""
        result = {c.id: c.model_copy(deep=True) for c in self.by_id.values()}
        renamed: dict[str, str] = {}  # old id -> new id, at every level
        gained: dict[str, set[str]] = defaultdict(set)  # community id -> the entities it gains
        for old_id, entities in grown.items():
            for community_id in [old_id, *self.ancestors(old_id)]:
                gained[community_id] |= entities
        for old_id, record in changed.items():
            record.parent_id = self.by_id[old_id].parent_id
            del result[old_id]
            result[record.id] = record
            renamed[old_id] = record.id
            new_entities = set(record.members) - self.leaves(old_id)
            for ancestor in self.ancestors(old_id) if new_entities else ():
                gained[ancestor] |= new_entities
        carried: set[str] = set()
        for old_id, entities in gained.items():
            old = result.pop(old_id)
            leaves = sorted(self.leaves(old_id) | entities)
            update: dict[str, object] = {"id": stable_id("com", str(old.level), *leaves), "size": len(leaves)}
            if old.level == 0:
                update["members"] = leaves
            regrown = old.model_copy(update=update)
            result[regrown.id] = regrown
            renamed[old_id] = regrown.id
            carried.add(regrown.id)
        for record in new:
            result.update((c.id, c) for c in _chain(record, self.top))
        for community in result.values():
            community.members = sorted(renamed.get(m, m) for m in community.members)
            if community.parent_id is not None:
                community.parent_id = renamed.get(community.parent_id, community.parent_id)
        return sorted(result.values(), key=lambda c: (c.level, c.id)), carried


def _chain(record: Community, top: int) -> list[Community]:
    """A new level-0 community and its parents up to ``top``: the same entities at every level."""
    chain = [record]
    leaves = sorted(record.members)
    for level in range(1, top + 1):
        parent = record.model_copy(
            update={"id": stable_id("com", str(level), *leaves), "level": level, "members": [chain[-1].id]}
        )
        chain[-1].parent_id = parent.id
        chain.append(parent)
    chain[-1].parent_id = None
    return chain


def _count_new_chunks(
    communities: list[Community], new_chunks: dict[str, list[str]], carried: Iterable[str]
) -> list[Community]:
    """The ``carried`` communities' chunk counts (records carried over) plus the new chunks naming their
    entities; the others were just counted in full."""
    kept = set(carried)
    by_id = {c.id: c for c in communities}
    home = {e: c.id for c in communities if c.level == 0 for e in c.members}
    counts: dict[str, int] = defaultdict(int)
    for members in new_chunks.values():
        reached: set[str] = set()
        for start in {home[e] for e in members if e in home}:
            current: str | None = start
            while current is not None and current in by_id and current not in reached:
                reached.add(current)
                current = by_id[current].parent_id
        for community_id in reached:
            counts[community_id] += 1
    for community in communities:
        if community.id in kept:
            community.chunk_count += counts.get(community.id, 0)
    return communities
