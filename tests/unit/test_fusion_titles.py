import numpy as np

from graph.store.base import ChunkTitle
from retrieval.fusion.learned import FEATURES, Candidates, candidate_features
from retrieval.fusion.rrf import FusionWeights
from retrieval.fusion.titles import TITLE_FEATURES, title_features, title_phrase
from retrieval.types import ScoredChunk

QUESTION = "Which label released Nobody's Hero, the song with drums by the session player?"
TITLES = {
    "hero-0": ChunkTitle("hero", "Nobody's Hero (song)"),
    "porcaro-0": ChunkTitle("porcaro", "Jeff Porcaro"),
    "porcaro-1": ChunkTitle("porcaro", "Jeff Porcaro"),
    "porca-0": ChunkTitle("porca", "Porca"),
    "the-0": ChunkTitle("the", "The"),
}
TEXTS = {
    "hero-0": "Nobody's Hero\n\nNobody's Hero is a song by Rush; Jeff Porcaro played on the demo.",
    "porcaro-1": "Jeff Porcaro toured with Toto. The session work of Jeff Porcaro is well known.",
}


def test_a_title_is_looked_for_as_words_without_its_qualifier() -> None:
    assert title_phrase("Mercury (planet)") == " mercury "
    assert title_phrase("Jeff  PORCARO") == " jeff porcaro "
    assert title_phrase("ingrid_solberg") == " ingrid solberg "  # a file's stem
    assert title_phrase("The") == ""  # stopwords only: it would be named everywhere
    assert title_phrase("Ab") == ""


def test_the_question_and_other_documents_top_chunks_name_a_chunks_title() -> None:
    chunk_ids = ["hero-0", "porcaro-0", "porca-0", "the-0", "untitled"]
    columns = title_features(QUESTION, chunk_ids, TITLES, ["hero-0", "porcaro-1"], TEXTS)
    by_chunk = dict(zip(chunk_ids, columns.tolist(), strict=True))
    # The question names "Nobody's Hero"; no top chunk of another document does.
    assert by_chunk["hero-0"] == [1.0, 0.0]
    # The hero chunk names Jeff Porcaro; the top chunk of his own page does not count.
    assert by_chunk["porcaro-0"] == [0.0, 1.0]
    # "Porca" is a word of neither ("Porcaro" is); "The" and a chunk without a title name nothing.
    assert by_chunk["porca-0"] == by_chunk["the-0"] == by_chunk["untitled"] == [0.0, 0.0]


def test_candidate_features_carry_the_title_columns() -> None:
    candidates = Candidates(
        rankings={"dense": [ScoredChunk("hero-0", 0.9), ScoredChunk("porcaro-1", 0.5)]},
        cosines={"hero-0": 0.9, "porcaro-1": 0.5},
        entities={},
        question_entities=set(),
        rrf_weights=FusionWeights().as_dict(),
        rrf_k=10,
        question=QUESTION,
        titles=TITLES,
        texts=TEXTS,
    )
    chunk_ids, matrix = candidate_features(candidates)
    columns = [FEATURES.index(feature) for feature in TITLE_FEATURES]
    assert chunk_ids == ["hero-0", "porcaro-1"]
    np.testing.assert_array_equal(matrix[:, columns], [[1.0, 0.0], [0.0, 1.0]])
