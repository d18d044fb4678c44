"""Mention context vectors taken from the chunk's own encoder pass.

Entity resolution compares mentions by what their sentence says about them. Encoding a
"name: sentence" text for every mention cost ~3x the passage text (spaCy finds ~11 mentions per
passage, each described by a whole sentence), while the encoder pass that embeds the chunk for the
dense index has already computed a contextual vector for every token of those sentences. So a
mention's vector is pooled from that pass: the mean of its sentence's token vectors plus the mean
of its name's token vectors (each normalised, so two mentions of one sentence still differ by their
names). A mention whose sentence is not a span of the chunk text (an LLM's paraphrased description)
gets no pooled vector; the resolver then encodes its text as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from graph.models import Extraction
from ingest.embedder import Embedder, Span, SpanEmbedder
from ingest.models import Chunk

MentionKey = tuple[str, str, str]  # (chunk id, name, description) as the resolver sees a mention


@dataclass
class MentionVectors:
    """Pooled context vectors by mention; ``get`` is None for a mention the chunk pass did not cover."""

    by_mention: dict[MentionKey, np.ndarray] = field(default_factory=dict)

    def get(self, chunk_id: str, name: str, description: str) -> np.ndarray | None:
        return self.by_mention.get((chunk_id, " ".join(name.split()), description))

    def __len__(self) -> int:
        return len(self.by_mention)


def locate(text: str, fragment: str, start: int = 0, end: int | None = None) -> Span | None:
    """Where ``fragment`` occurs in ``text[start:end]``, any run of whitespace matching any other."""
    words = fragment.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(word) for word in words))
    found = pattern.search(text, start, len(text) if end is None else end)
    return found.span() if found else None


def _mention_spans(chunk: Chunk, extraction: Extraction) -> list[tuple[MentionKey, Span, Span | None]]:
    """Each described mention with its sentence's span and (when found inside it) its name's span."""
    spans = []
    for mention in extraction.entities:
        if not mention.description:
            continue
        # A title line is read as a sentence with a full stop added (``paragraphs_as_sentences``).
        sentence = locate(chunk.text, mention.description) or locate(chunk.text, mention.description.removesuffix("."))
        if sentence is None:
            continue
        name = " ".join(mention.name.split())
        spans.append(((chunk.id, name, mention.description), sentence, locate(chunk.text, name, *sentence)))
    return spans


def encode_chunks(
    chunks: Sequence[Chunk], extractions: Sequence[Extraction], embedder: Embedder
) -> tuple[np.ndarray, MentionVectors]:
    """The chunks' vectors and their mentions' pooled context vectors, from one encoder pass.

    An embedder that cannot pool spans gives the chunk vectors alone (mentions are then encoded by
    the resolver from their text)."""
    texts = [chunk.text for chunk in chunks]
    if not isinstance(embedder, SpanEmbedder):
        return embedder.embed(texts), MentionVectors()
    by_chunk = {e.chunk_id: e for e in extractions}
    mentions = [_mention_spans(c, by_chunk[c.id]) if c.id in by_chunk else [] for c in chunks]
    # Per chunk: the sentence spans first, then the name spans, so row j of one half pairs with row j of the other.
    spans = [[s for _, s, _ in ms] + [n if n is not None else (0, 0) for _, _, n in ms] for ms in mentions]
    chunk_vectors, pooled = embedder.embed_spans(texts, spans)
    vectors = MentionVectors()
    for found, rows in zip(mentions, pooled, strict=True):
        for j, (key, _, name_span) in enumerate(found):
            sentence_vector = rows[j]
            if not sentence_vector.any():
                continue  # the sentence lies past the encoder's truncation
            combined = sentence_vector + rows[len(found) + j] if name_span is not None else sentence_vector
            vectors.by_mention[key] = combined / np.linalg.norm(combined)
    return chunk_vectors, vectors
