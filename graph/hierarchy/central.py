"""A community's most central chunks: the passages that speak most about its entities.

A chunk scores by the entities of the community it mentions, each weighted by how connected that entity
is (a chunk naming the community's hubs is about the community; one naming a leaf in passing is not).
At most one chunk per document is kept, so a community's evidence spans as many documents as it can.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

MAX_CENTRAL_CHUNKS = 20


def central_chunks(
    members: set[str],
    chunk_ids: Iterable[str],
    chunk_entities: dict[str, list[str]],
    chunk_docs: dict[str, str],
    degree: dict[str, float],
    limit: int = MAX_CENTRAL_CHUNKS,
) -> list[str]:
    """Up to ``limit`` of ``chunk_ids``, best first, one per document."""
    scored = []
    for chunk_id in chunk_ids:
        inside = [e for e in chunk_entities.get(chunk_id, ()) if e in members]
        score = sum(1.0 + math.log1p(degree.get(e, 0.0)) for e in inside)
        scored.append((-score, chunk_id))
    chosen: list[str] = []
    documents: set[str] = set()
    for _, chunk_id in sorted(scored):
        document = chunk_docs.get(chunk_id, chunk_id)
        if document in documents:
            continue
        documents.add(document)
        chosen.append(chunk_id)
        if len(chosen) == limit:
            break
    return chosen
