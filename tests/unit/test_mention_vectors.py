"""Mention context vectors pooled from the chunk's encoder pass (graph/fusion/mention_vectors.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from graph.fusion.mention_vectors import encode_chunks, locate
from graph.fusion.resolver import EntityResolver
from graph.models import EntityMention, Extraction
from graph.store.registry import open_store
from ingest.models import Chunk, Document

FILM = "Titanic is a 1997 American epic romance film directed by James Cameron. It won eleven Oscars."
SHIP = "The Titanic was a British passenger liner that sank in 1912 after striking an iceberg."


def chunk(chunk_id: str, text: str) -> Chunk:
    return Chunk(id=chunk_id, doc_id="d", index=0, text=text, start=0, end=len(text))


def mention(chunk_id: str, name: str, description: str) -> EntityMention:
    return EntityMention(name=name, type="WORK", description=description, chunk_id=chunk_id, doc_id="d")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_locate_matches_across_whitespace_and_within_bounds() -> None:
    text = "First line.\nJames   Cameron\tdirected it. James Cameron again."
    assert locate(text, "James Cameron directed it.") == (12, 40)
    assert locate(text, "James Cameron", 30) == (41, 54)  # the search starts where it is told
    assert locate(text, "James Cameron", 0, 20) is None  # and stops where it is told
    assert locate(text, "Kathryn Bigelow") is None
    assert locate(text, "   ") is None


@pytest.mark.slow
def test_span_pass_gives_the_same_text_vectors_as_embed(embedder: object) -> None:
    texts = [FILM, SHIP, "A short one."]
    text_vectors, spans = embedder.embed_spans(texts, [[(0, len(FILM))], [(4, 11)], []])  # type: ignore[attr-defined]
    np.testing.assert_allclose(text_vectors, embedder.embed(texts), atol=1e-5)  # type: ignore[attr-defined]
    assert spans[0].shape == (1, 384) and spans[2].shape == (0, 384)
    # The whole text's tokens pooled is the text's vector but for the [CLS]/[SEP] tokens it leaves out.
    assert cosine(spans[0][0], text_vectors[0]) > 0.95
    assert np.linalg.norm(spans[1][0]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_mentions_get_vectors_from_their_sentence_and_name(embedder: object) -> None:
    film_chunk, ship_chunk = chunk("c1", FILM), chunk("c2", SHIP)
    film_sentence = FILM.split(" It won")[0]
    extractions = [
        Extraction(
            chunk_id="c1",
            entities=[
                mention("c1", "Titanic", film_sentence),
                mention("c1", "James Cameron", film_sentence),
                mention("c1", "Oscars", "A paraphrase that is not in the chunk text."),
            ],
        ),
        Extraction(chunk_id="c2", entities=[mention("c2", "Titanic", SHIP)]),
    ]
    chunk_vectors, vectors = encode_chunks([film_chunk, ship_chunk], extractions, embedder)  # type: ignore[arg-type]
    np.testing.assert_allclose(chunk_vectors, embedder.embed([FILM, SHIP]), atol=1e-5)  # type: ignore[attr-defined]
    assert len(vectors) == 3  # the paraphrased description is left for the resolver to encode
    assert vectors.get("c1", "Oscars", "A paraphrase that is not in the chunk text.") is None
    film_title = vectors.get("c1", "Titanic", film_sentence)
    director = vectors.get("c1", "James Cameron", film_sentence)
    ship = vectors.get("c2", "Titanic", SHIP)
    assert film_title is not None and director is not None and ship is not None
    # One sentence, two names: the vectors differ by the name's tokens.
    assert cosine(film_title, director) < 0.99
    # The film's title is nearer the film's director than the ship of the same name.
    assert cosine(film_title, director) > cosine(film_title, ship)


class CountingEmbedder:
    """The real embedder, counting the texts that the resolver encodes itself."""

    def __init__(self, inner: object) -> None:
        self.inner, self.texts = inner, 0

    @property
    def dim(self) -> int:
        return int(self.inner.dim)  # type: ignore[attr-defined]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts)  # type: ignore[attr-defined, no-any-return]


@pytest.mark.slow
def test_resolver_encodes_no_mention_text_that_the_chunk_pass_covered(embedder: object, tmp_path: Path) -> None:
    texts = [FILM, SHIP]
    chunks = [chunk("c1", FILM), chunk("c2", SHIP)]
    film_sentence = FILM.split(" It won")[0]
    extractions = [
        Extraction(
            chunk_id="c1",
            entities=[mention("c1", "Titanic", film_sentence), mention("c1", "James Cameron", film_sentence)],
        ),
        Extraction(chunk_id="c2", entities=[mention("c2", "Titanic", SHIP)]),
    ]
    _, vectors = encode_chunks(chunks, extractions, embedder)  # type: ignore[arg-type]
    results = {}
    for pooled in (False, True):
        counting = CountingEmbedder(embedder)
        store = open_store("embedded", path=tmp_path / f"{pooled}.sqlite", workspace="w", embedding_dim=384)
        try:
            store.upsert_documents([Document(id="d", source="d.txt", title="d", text=FILM + SHIP, hash="h")])
            store.upsert_chunks(chunks)
            resolver = EntityResolver(store, counting, mention_vectors=vectors if pooled else None)  # type: ignore[arg-type]
            result = resolver.resolve(extractions)
            resolver.write(result)
            results[pooled] = (counting.texts, result, store.entity_vectors([e.id for e in result.entities]))
        finally:
            store.close()
    assert results[False][0] >= 3 and results[True][0] == 0, texts
    # Same entities either way: the film and the ship named Titanic stay apart, Cameron is one more.
    assert sorted(e.name for e in results[True][1].entities) == sorted(e.name for e in results[False][1].entities)
    assert len(results[True][1].entities) == 3
    stored = results[True][2]
    assert len(stored) == 3 and all(len(v) == 384 for v in stored.values())


@pytest.mark.slow
def test_a_title_line_read_with_an_added_full_stop_is_still_pooled(embedder: object) -> None:
    # The spaCy extractor reads "Title\n\nText" as "Title.\n\nText", so a title's sentence carries a full stop
    # that the chunk text lacks; the mention must still get its vector from the chunk pass.
    text = "The 3rd Alternative\n\nThe 3rd Alternative is a self-help book by Stephen Covey."
    extraction = Extraction(chunk_id="c1", entities=[mention("c1", "3rd Alternative", "The 3rd Alternative.")])
    _, vectors = encode_chunks([chunk("c1", text)], [extraction], embedder)  # type: ignore[arg-type]
    assert vectors.get("c1", "3rd Alternative", "The 3rd Alternative.") is not None
