"""Relations after resolution: merge parallel evidence and flag contradictions.

Mention endpoints are mapped to resolved entities, so two chunks saying "A founded B" become two
pieces of evidence on one ``(A)-[:RELATED {type: FOUNDED}]->(B)`` (its weight is the number of
chunks). Contradictions between the same pair (Graphusion's conflict step) are flagged, never
resolved by silently dropping one side: antonym types in the same direction ("SUPPORTS" vs
"OPPOSES"), a type and its negation ("X" vs "NOT_X"), and an asymmetric type in both directions
(A PARENT_OF B and B PARENT_OF A).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import NamedTuple

from graph.models import RelationRecord

_ANTONYMS: tuple[tuple[str, str], ...] = (
    ("SUPPORTS", "OPPOSES"),
    ("ALLY_OF", "ENEMY_OF"),
    ("FRIEND_OF", "ENEMY_OF"),
    ("CAUSES", "PREVENTS"),
    ("INCREASES", "DECREASES"),
    ("ACTIVATES", "INHIBITS"),
    ("LIKES", "DISLIKES"),
    ("AGREES_WITH", "DISAGREES_WITH"),
    ("WON", "LOST"),
    ("PARENT_OF", "CHILD_OF"),
    ("PRECEDES", "FOLLOWS"),
    ("CONTAINS", "PART_OF"),
    ("IS_A", "IS_NOT_A"),
)
ANTONYMS = frozenset(frozenset(pair) for pair in _ANTONYMS)

# Types that cannot hold in both directions between the same two entities.
ASYMMETRIC = frozenset(
    {
        "PARENT_OF",
        "CHILD_OF",
        "FATHER_OF",
        "MOTHER_OF",
        "SON_OF",
        "DAUGHTER_OF",
        "PART_OF",
        "CONTAINS",
        "SUBCLASS_OF",
        "IS_A",
        "INSTANCE_OF",
        "PRECEDES",
        "FOLLOWS",
        "PREREQUISITE_OF",
        "LOCATED_IN",
        "CAPITAL_OF",
        "OWNS",
        "OWNED_BY",
        "SUBSIDIARY_OF",
        "PARENT_COMPANY_OF",
        "SUCCEEDED",
        "PREDECESSOR_OF",
        "SUCCESSOR_OF",
        "HYPONYM_OF",
        "HYPERNYM_OF",
        "DIRECTED",
        "FOUNDED",
        "AUTHOR_OF",
        "WROTE",
    }
)


class RelationKey(NamedTuple):
    id: str
    source_id: str
    target_id: str
    type: str


def merge_parallel(records: Iterable[RelationRecord]) -> list[RelationRecord]:
    """One record per (relation, chunk): duplicates within a chunk keep the strongest, longest statement.

    Self-loops (both endpoints resolved to one entity) are dropped: they say nothing.
    """
    best: dict[tuple[str, str], RelationRecord] = {}
    for record in records:
        if record.source_id == record.target_id:
            continue
        key = (record.id, record.chunk_id)
        current = best.get(key)
        if current is None or (record.strength, len(record.description)) > (
            current.strength,
            len(current.description),
        ):
            best[key] = record
    return sorted(best.values(), key=lambda r: (r.id, r.chunk_id))


def _negation_of(relation_type: str) -> str:
    for prefix in ("NOT_", "DOES_NOT_", "IS_NOT_", "NO_"):
        if relation_type.startswith(prefix):
            return relation_type[len(prefix) :]
    return ""


def contradict(left: RelationKey, right: RelationKey) -> bool:
    """Whether two relations between the same pair of entities cannot both be true."""
    same_direction = (left.source_id, left.target_id) == (right.source_id, right.target_id)
    if same_direction:
        if frozenset((left.type, right.type)) in ANTONYMS:
            return True
        return bool(_negation_of(left.type) == right.type or _negation_of(right.type) == left.type)
    return left.type == right.type and left.type in ASYMMETRIC


def find_conflicts(relations: Sequence[RelationKey]) -> set[str]:
    """Ids of every relation that contradicts another relation between the same two entities."""
    by_pair: dict[frozenset[str], dict[str, RelationKey]] = defaultdict(dict)
    for relation in relations:
        by_pair[frozenset((relation.source_id, relation.target_id))][relation.id] = relation
    flagged: set[str] = set()
    for group in by_pair.values():
        for left, right in combinations(group.values(), 2):
            if contradict(left, right):
                flagged.update((left.id, right.id))
    return flagged
