"""From clusters to records: one ``EntityRecord`` per touched entity, one ``MentionRecord`` per mention.

A component that holds a stored entity keeps its id and name; a new component gets a stable id
from its name and type family. Homonyms (components, or stored entities, that share a name but
are different things) get a qualified display name and an id that includes the qualifier.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from graph.fusion.cluster import Group
from graph.fusion.descriptions import Summarize, fuse_descriptions
from graph.fusion.naming import entity_id, qualifiers
from graph.fusion.normalize import normalize_name
from graph.fusion.scoring import type_family
from graph.models import Entity, EntityRecord, MentionRecord

# (chunk_id, name, type, description) of each mention, in the order clustering indexed them.
MentionTuple = tuple[str, str, str, str]


@dataclass
class Resolved:
    entities: list[EntityRecord] = field(default_factory=list)
    mentions: list[MentionRecord] = field(default_factory=list)
    new_count: int = 0
    by_chunk_name: dict[tuple[str, str], str] = field(default_factory=dict)

    def entity_of(self, chunk_id: str, name: str) -> str | None:
        return self.by_chunk_name.get((chunk_id, " ".join(name.split()).casefold()))


@dataclass
class _Draft:
    """A component on its way to becoming an entity."""

    mention_indices: list[int]
    names: Counter[str]
    types: Counter[str]
    stored: Entity | None
    name: str = ""
    type: str = ""
    id: str = ""


def _choose_type(types: Counter[str], stored: Entity | None) -> str:
    if stored is not None and type_family(stored.type):
        return stored.type
    specific = [(count, name) for name, count in types.items() if type_family(name)]
    if specific:
        return max(specific)[1]
    return stored.type if stored is not None else (types.most_common(1)[0][0] if types else "CONCEPT")


def _drafts(groups: Sequence[Group], components: Sequence[list[int]], stored: dict[str, Entity]) -> list[_Draft]:
    drafts: list[_Draft] = []
    for component in components:
        members = [groups[i] for i in component]
        indices = sorted(i for g in members for i in g.mention_indices)
        if not indices:
            continue  # stored entities that nothing in this batch touched
        names: Counter[str] = Counter()
        types: Counter[str] = Counter()
        for group in members:
            if group.entity_id is None:
                names.update(group.names)
                types.update(group.types)
        owner = next((stored[g.entity_id] for g in members if g.entity_id in stored), None)
        draft = _Draft(indices, names, types, owner)
        draft.type = _choose_type(types, owner)
        # Most frequent surface form; ties go to the longer (more complete) name, then alphabetical.
        draft.name = owner.name if owner else max(names.items(), key=lambda kv: (kv[1], len(kv[0]), kv[0]))[0]
        drafts.append(draft)
    drafts.sort(key=lambda d: (-len(d.mention_indices), d.mention_indices[0]))
    return drafts


def _assign_ids(drafts: list[_Draft], stored: dict[str, Entity], descriptions: dict[int, str]) -> None:
    """Stored owners keep their id; homonyms among new drafts get qualified names and ids."""
    taken = set(stored)
    homonyms: dict[str, list[Entity | _Draft]] = {}
    for entity in stored.values():
        for key in {normalize_name(n) for n in (entity.name, *entity.aliases)}:
            homonyms.setdefault(key, []).append(entity)
    for draft in drafts:
        if draft.stored is None:
            homonyms.setdefault(normalize_name(draft.name), []).append(draft)
    for draft in drafts:
        if draft.stored is not None:
            draft.id = draft.stored.id
            continue
        owners = homonyms[normalize_name(draft.name)]
        candidate = entity_id(draft.name, draft.type)
        if len(owners) > 1 or candidate in taken:
            texts = [
                o.description if isinstance(o, Entity) else descriptions.get(o.mention_indices[0], "") for o in owners
            ]
            labels = qualifiers([o.type for o in owners], texts)
            qualifier = labels[next(i for i, o in enumerate(owners) if o is draft)]
            draft.name = f"{draft.name} ({qualifier})"
            candidate = entity_id(draft.name, draft.type, qualifier)
        suffix = 2
        while candidate in taken:
            candidate = entity_id(draft.name, draft.type, str(suffix))
            suffix += 1
        draft.id = candidate
        taken.add(candidate)


def build_entities(
    groups: Sequence[Group],
    components: Sequence[list[int]],
    mentions: Sequence[MentionTuple],
    stored: dict[str, Entity],
    summarize: Summarize | None = None,
) -> Resolved:
    drafts = _drafts(groups, components, stored)
    first_description = {i: m[3] for i, m in enumerate(mentions) if m[3]}
    _assign_ids(drafts, stored, first_description)
    resolved = Resolved()
    for draft in drafts:
        by_source = dict(draft.stored.descriptions_by_source) if draft.stored else {}
        for index in draft.mention_indices:
            chunk_id, name, _, description = mentions[index]
            if description:
                by_source[chunk_id] = description
            resolved.mentions.append(
                MentionRecord(chunk_id=chunk_id, entity_id=draft.id, name=name, description=description)
            )
            resolved.by_chunk_name.setdefault((chunk_id, name.casefold()), draft.id)
        fused = fuse_descriptions(draft.name, list(by_source.values()), summarize)
        resolved.entities.append(EntityRecord(id=draft.id, name=draft.name, type=draft.type, description=fused))
        resolved.new_count += draft.stored is None
    return resolved
