"""Clustering: mentions -> groups of one name -> entities.

Stage 1 (``group_by_name``) puts mentions with the same normalised name into one group unless
their contexts are disjoint, or their types are incompatible and their contexts do not agree closely,
in which case the name is split into several groups ("Mercury" the planet, "Mercury" the element).
Each mention is compared with the few groups of its own name only, so the cost is linear in the
number of mentions.

Stage 2 (``cluster_groups``) links groups of different names (variants, acronyms, misspellings)
with a constrained union-find over scored candidate pairs, best pairs first. A union is refused
when it would put two stored entities, two type families, or two groups that stage 1 split apart
into one component, so a chain of weak links cannot glue different things together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from graph.fusion.context import Definition, definition_of, years_conflict
from graph.fusion.normalize import normalize_name
from graph.fusion.scoring import NodeView, ScoreWeights, type_family, types_compatible


@dataclass
class MentionItem:
    """One mention as clustering sees it (``index`` points back into the caller's list)."""

    index: int
    name: str
    entity_type: str
    description: str = ""
    neighbours: frozenset[str] = frozenset()
    embedding: np.ndarray | None = None

    @cached_property
    def definition(self) -> Definition:
        return definition_of(self.name, self.description)


@dataclass
class StoredItem:
    """An entity already in the store, offered as a group that new mentions may join."""

    entity_id: str
    names: list[str]
    entity_type: str
    has_context: bool = False
    neighbours: frozenset[str] = frozenset()
    embedding: np.ndarray | None = None
    description: str = ""


@dataclass
class Group:
    """Mentions (and at most one stored entity) judged to be one thing under one name."""

    key: str
    names: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    mention_indices: list[int] = field(default_factory=list)
    neighbours: set[str] = field(default_factory=set)
    embedding_sum: np.ndarray | None = None
    context_count: int = 0
    entity_id: str | None = None  # set when the group is a stored entity
    # Definitions among the group's descriptions (see context.py): the years they pin, their vectors.
    definition_years: set[str] = field(default_factory=set)
    definition_sum: np.ndarray | None = None

    @property
    def entity_type(self) -> str:
        specific = [(count, name) for name, count in self.types.items() if type_family(name)]
        if specific:
            return max(specific)[1]
        return self.types.most_common(1)[0][0] if self.types else "CONCEPT"

    @property
    def family(self) -> str:
        return type_family(self.entity_type)

    @property
    def embedding(self) -> np.ndarray | None:
        return _unit(self.embedding_sum)

    @property
    def definition_centre(self) -> np.ndarray | None:
        return _unit(self.definition_sum)

    def view(self) -> NodeView:
        ordered = [name for name, _ in self.names.most_common()]
        return NodeView(
            names=ordered or [self.key],
            entity_type=self.entity_type,
            neighbours=frozenset(self.neighbours),
            embedding=self.embedding,
            has_context=self.context_count > 0,
        )

    def add_context(self, embedding: np.ndarray | None, neighbours: Iterable[str]) -> None:
        self.neighbours.update(neighbours)
        if embedding is not None:
            self.embedding_sum = embedding.copy() if self.embedding_sum is None else self.embedding_sum + embedding
            self.context_count += 1

    def add_definition(self, definition: Definition, embedding: np.ndarray | None) -> None:
        if not definition.is_definition:
            return
        self.definition_years.update(definition.years)
        if embedding is not None:
            self.definition_sum = embedding.copy() if self.definition_sum is None else self.definition_sum + embedding

    def add_mention(self, item: MentionItem) -> None:
        self.names[item.name] += 1
        self.types[item.entity_type] += 1
        self.mention_indices.append(item.index)
        self.add_context(item.embedding, item.neighbours - {self.key})
        self.add_definition(item.definition, item.embedding)


def _unit(vector: np.ndarray | None) -> np.ndarray | None:
    if vector is None:
        return None
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


def _group_fits(item: MentionItem, group: Group, weights: ScoreWeights) -> tuple[bool, float]:
    """Whether a mention may join a group of its own name, and how close their contexts are."""
    same_kind = types_compatible(type_family(item.entity_type), group.family)
    definition = item.definition
    if definition.is_definition and years_conflict(definition.years, frozenset(group.definition_years)):
        return False, 0.0
    centre = group.embedding
    if item.embedding is None or centre is None:
        return same_kind, 0.0
    similarity = float(np.dot(item.embedding, centre))
    shared = bool(item.neighbours & group.neighbours)
    if not same_kind and not _same_thing_despite_type(similarity, shared, weights):
        return False, similarity
    # Disjoint context: the descriptions disagree and no co-mentioned entity is shared.
    if similarity < weights.split_below and not shared:
        return False, similarity
    # Two definitions of one thing read alike; unlike definitions are two things of one name.
    defined = group.definition_centre
    unlike = defined is not None and float(np.dot(item.embedding, defined)) < weights.split_definitions_below
    if definition.is_definition and unlike and not shared:
        return False, similarity
    return True, similarity


def _same_thing_despite_type(similarity: float, shared: bool, weights: ScoreWeights) -> bool:
    """A small NER model types one name differently from sentence to sentence ("Naples" a GPE 33 times and a
    PERSON once; "Orlando International Airport" ORG and FAC). Under one name, a type disagreement alone
    does not make two things: the contexts decide, with a stricter bar than for one type ("Jordan" the
    country and the player read differently, and share no co-mentioned entity)."""
    return similarity >= weights.cross_type_above or (shared and similarity >= weights.context_pivot)


def _best_group(item: MentionItem, candidates: list[Group], weights: ScoreWeights) -> Group | None:
    family = type_family(item.entity_type)
    best: tuple[float, int] | None = None
    for position, group in enumerate(candidates):
        fits, similarity = _group_fits(item, group, weights)
        if not fits:
            continue
        # Prefer a group of the same specific family, then the closest context.
        rank = (1.0 if family and family == group.family else 0.0) + similarity
        if item.definition.years & group.definition_years:
            rank += 1.0  # the same identifying year
        if best is None or rank > best[0]:
            best = (rank, position)
    return candidates[best[1]] if best else None


def group_by_name(
    mentions: Sequence[MentionItem], stored: Sequence[StoredItem] = (), weights: ScoreWeights = ScoreWeights()
) -> list[Group]:
    """Stage 1: one group per (name, thing); stored entities come first so mentions join them."""
    groups: list[Group] = []
    by_key: dict[str, list[Group]] = {}
    for entity in stored:
        group = Group(key=normalize_name(entity.names[0]), entity_id=entity.entity_id)
        for name in entity.names:
            group.names[name] += 1
        group.types[entity.entity_type] += 1
        if entity.has_context:
            group.add_context(entity.embedding, entity.neighbours)
        else:
            group.neighbours.update(entity.neighbours)
        group.add_definition(definition_of(entity.names[0], entity.description), entity.embedding)
        groups.append(group)
        for key in {normalize_name(name) for name in entity.names}:
            by_key.setdefault(key, []).append(group)
    for item in mentions:
        key = normalize_name(item.name)
        candidates = by_key.setdefault(key, [])
        chosen = _best_group(item, candidates, weights)
        if chosen is None:
            chosen = Group(key=key)
            groups.append(chosen)
            candidates.append(chosen)
        chosen.add_mention(item)
    return groups


class ConstrainedUnionFind:
    """Union-find whose components refuse to hold two stored ids, two type families or two split names."""

    def __init__(self, groups: Sequence[Group]) -> None:
        self.parent = list(range(len(groups)))
        self.entity_ids: list[set[str]] = [{g.entity_id} if g.entity_id else set() for g in groups]
        self.families: list[set[str]] = [{g.family} if g.family else set() for g in groups]
        self.keys: list[dict[str, int]] = [{g.key: i} for i, g in enumerate(groups)]

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def can_union(self, left: int, right: int) -> bool:
        a, b = self.find(left), self.find(right)
        if a == b:
            return False
        if self.entity_ids[a] and self.entity_ids[b]:
            return False
        if len(self.families[a] | self.families[b]) > 1:
            return False
        shared = self.keys[a].keys() & self.keys[b].keys()
        return all(self.keys[a][key] == self.keys[b][key] for key in shared)

    def union(self, left: int, right: int) -> bool:
        if not self.can_union(left, right):
            return False
        a, b = self.find(left), self.find(right)
        if len(self.keys[a]) < len(self.keys[b]):
            a, b = b, a
        self.parent[b] = a
        self.entity_ids[a] |= self.entity_ids[b]
        self.families[a] |= self.families[b]
        self.keys[a].update(self.keys[b])
        return True

    def components(self) -> list[list[int]]:
        members: dict[int, list[int]] = {}
        for item in range(len(self.parent)):
            members.setdefault(self.find(item), []).append(item)
        return list(members.values())


def cluster_groups(
    groups: Sequence[Group],
    pairs: Iterable[tuple[int, int]],
    score: Callable[[NodeView, NodeView], float],
    threshold: float,
) -> list[list[int]]:
    """Stage 2: link candidate pairs scoring at least ``threshold``, best first, under the constraints."""
    views = [group.view() for group in groups]
    scored = [(s, a, b) for a, b in pairs if (s := score(views[a], views[b])) >= threshold]
    scored.sort(key=lambda entry: (-entry[0], entry[1], entry[2]))  # deterministic order
    forest = ConstrainedUnionFind(groups)
    for _, left, right in scored:
        forest.union(left, right)
    return forest.components()
