"""Global search's parts: the question's focus, matching chunks, ranking communities (the evidence vote
included), picking across levels, chunk evidence and which community gave it, and auto mode's choice
between local and global search."""

from __future__ import annotations

from unittest.mock import MagicMock

import numpy as np

from graph.models import Community
from graph.store.base import GraphStore
from retrieval.auto import choose_scope, hit_spread
from retrieval.communities import CommunityIndex
from retrieval.global_search import (
    CommunityHit,
    chunk_communities,
    community_chunks,
    credit,
    match_chunks,
    pick_communities,
    question_focus,
    rank_communities,
)
from retrieval.types import EntityLink, Query, ScoredChunk


def _unit(*weights: float) -> np.ndarray:
    vector = np.zeros(8, dtype=np.float32)
    vector[: len(weights)] = weights
    return vector / np.linalg.norm(vector)


# Two level-0 communities (films, music) under one level-1 community, and a separate one about rivers.
FILMS = Community(
    id="c-films", level=0, title="Casablanca, Curtiz", summary="Casablanca is a film directed by Michael Curtiz.",
    members=["e-casablanca", "e-curtiz"], parent_id="c-arts", size=2, chunk_ids=["k1", "k2", "k3"],
)  # fmt: skip
MUSIC = Community(
    id="c-music", level=0, title="Toto, Porcaro", summary="Toto is a rock band; Jeff Porcaro played drums.",
    members=["e-toto", "e-porcaro"], parent_id="c-arts", size=2, chunk_ids=["k4", "k5"],
)  # fmt: skip
ARTS = Community(
    id="c-arts", level=1, title="Casablanca, Toto", summary="Films and bands.", members=["c-films", "c-music"],
    size=4, chunk_ids=["k1", "k4"],
)  # fmt: skip
RIVERS = Community(
    id="c-rivers", level=0, title="Kestrel River", summary="The Kestrel River flows past Halvorsen.",
    members=["e-kestrel", "e-halvorsen"], size=2, chunk_ids=["k6"],
)  # fmt: skip


def _index() -> CommunityIndex:
    vectors = np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(1, 1, 0), _unit(0, 0, 1)])
    return CommunityIndex([FILMS, MUSIC, ARTS, RIVERS], vectors)


def test_index_knows_every_level_an_entity_belongs_to() -> None:
    index = _index()
    assert index.of_entity["e-curtiz"] == ["c-films", "c-arts"]
    assert index.of_entity["e-kestrel"] == ["c-rivers"]
    assert index.ancestors("c-music") == ["c-arts"]
    assert index.total_entities == 6


def test_summary_similarity_and_words_rank_the_community_the_question_is_about() -> None:
    ranked = rank_communities(_index(), Query("which river flows past Halvorsen", _unit(0, 0, 1)), [])
    assert ranked[0].community_id == "c-rivers"
    assert set(ranked[0].votes) == {"summary", "bm25"}


def test_a_linked_entity_lifts_its_communities() -> None:
    query = Query("tell me about the drummer", _unit(1, 0, 0))  # the embedding points at films
    unlinked = [h.community_id for h in rank_communities(_index(), query, [])]
    link = EntityLink("e-porcaro", "Jeff Porcaro", 1.0, "alias")
    linked = [h.community_id for h in rank_communities(_index(), query, [link])]
    assert linked.index("c-music") < unlinked.index("c-music")


def test_picking_skips_communities_nested_in_a_picked_one() -> None:
    index = _index()
    ranked = [CommunityHit(c, 1.0 / n, ()) for n, c in enumerate(["c-films", "c-arts", "c-music", "c-rivers"], 1)]
    assert [h.community_id for h in pick_communities(index, ranked, 3)] == ["c-films", "c-music", "c-rivers"]
    ranked = [CommunityHit(c, 1.0 / n, ()) for n, c in enumerate(["c-arts", "c-films", "c-rivers"], 1)]
    # c-arts holds 4 of the 6 entities: more than half the workspace, so too broad to pick
    assert [h.community_id for h in pick_communities(index, ranked, 3)] == ["c-films", "c-rivers"]


def test_chunks_come_from_picked_communities_most_similar_first_one_per_document() -> None:
    index = _index()
    picked = [CommunityHit("c-films", 1.0, ()), CommunityHit("c-music", 0.5, ())]
    similarity = {"k1": 0.1, "k2": 0.9, "k3": 0.5, "k4": 0.3, "k5": 0.2, "k6": 0.99}
    doc_of = {"k1": "d1", "k2": "d2", "k3": "d2", "k4": "d4", "k5": "d5", "k6": "d6"}
    hits = community_chunks(index, picked, similarity, doc_of, limit=10)
    # k6 is the most similar but belongs to no picked community; k3 shares d2 with the better k2
    assert [h.chunk_id for h in hits] == ["k2", "k4", "k5", "k1"]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.chunk_id for h in community_chunks(index, picked, similarity, doc_of, limit=2)] == ["k2", "k4"]


def test_matching_chunks_in_picked_communities_come_before_their_central_chunks() -> None:
    index = _index()
    picked = [CommunityHit("c-films", 1.0, ()), CommunityHit("c-music", 0.5, ())]
    similarity = {"k1": 0.1, "k2": 0.9, "k3": 0.5, "k4": 0.3, "k5": 0.2}
    doc_of = {"k1": "d1", "k2": "d2", "k3": "d2", "k4": "d4", "k5": "d5", "k6": "d6", "k7": "d7", "k8": "d2"}
    # k7 mentions Toto but is no central chunk of c-music; k6 lies only in c-rivers, which was not picked;
    # k8 matches and shares d2 with the central k2, so k2 is left out
    matched = ["k6", "k7", "k8", "k4"]
    homes = {"k6": ["c-rivers"], "k7": ["c-music", "c-arts"], "k8": ["c-films", "c-arts"], "k4": ["c-music"]}
    hits = community_chunks(index, picked, similarity, doc_of, limit=10, matched=matched, homes=homes)
    assert [h.chunk_id for h in hits] == ["k7", "k8", "k4", "k5", "k1"]


def test_each_evidence_chunk_is_credited_to_the_best_ranked_picked_community_holding_it() -> None:
    index = _index()
    picked = [CommunityHit("c-music", 1.0, ()), CommunityHit("c-films", 0.5, ()), CommunityHit("c-rivers", 0.2, ())]
    hits = [ScoredChunk(c, 1.0) for c in ["k7", "k2", "k9"]]
    homes = {"k7": ["c-films", "c-music", "c-arts"], "k9": ["c-arts"]}
    credited = credit(index, picked, hits, homes)
    # k7 is in both films and music: music ranks first; k2 is a central chunk of films; k9 is in neither
    assert [(h.community_id, h.chunk_ids) for h in credited] == [
        ("c-music", ("k7",)),
        ("c-films", ("k2",)),
        ("c-rivers", ()),
    ]


def test_the_focus_drops_the_words_about_the_collection_and_the_listing() -> None:
    focus = question_focus("Which horror films are described in these documents?")
    assert focus == "Which horror films are in these ?"
    assert question_focus("List all rivers named in the collection") == "all rivers in the"
    assert question_focus("Who directed Casablanca?") == "Who directed Casablanca?"
    assert question_focus("List documents?") == "List documents?"  # nothing else left: the whole question


def test_matching_fuses_dense_and_bm25_ranks() -> None:
    dense = [ScoredChunk("a", 0.9), ScoredChunk("b", 0.8), ScoredChunk("c", 0.7)]
    sparse = [ScoredChunk("c", 12.0), ScoredChunk("d", 9.0)]
    assert match_chunks(dense, sparse) == ["c", "a", "b", "d"]  # c in both first; b and d tie (by id)


def test_chunks_belong_to_every_level_of_the_communities_of_the_entities_they_mention() -> None:
    homes = chunk_communities(_index(), {"k1": ["e-curtiz", "e-toto"], "k6": ["e-kestrel"], "k9": ["e-unknown"]})
    assert homes == {"k1": ["c-films", "c-arts", "c-music"], "k6": ["c-rivers"]}


def test_the_evidence_vote_lifts_the_community_holding_the_best_matching_chunks() -> None:
    query = Query("which drummers are described", _unit(1, 0, 0))  # the embedding points at films
    without = [h.community_id for h in rank_communities(_index(), query, [])]
    homes = {"k4": ["c-music", "c-arts"], "k5": ["c-music", "c-arts"]}
    ranked = rank_communities(_index(), query, [], matched=["k4", "k5"], homes=homes)
    with_evidence = [h.community_id for h in ranked]
    assert with_evidence.index("c-music") < without.index("c-music")
    assert "evidence" in ranked[with_evidence.index("c-music")].votes


def test_a_chunk_no_longer_indexed_is_not_evidence() -> None:
    hits = community_chunks(_index(), [CommunityHit("c-rivers", 1.0, ())], {}, {}, limit=5)
    assert hits == []


def test_auto_goes_global_for_a_question_about_the_collection() -> None:
    choice = choose_scope("What are the main themes of these documents?", spread=0.1, has_communities=True)
    assert choice.use_global and "collection" in choice.note


def test_auto_goes_global_for_a_listing_question_only_when_its_hits_are_spread() -> None:
    question = "Which drummers are described?"
    assert choose_scope(question, spread=0.9, has_communities=True).use_global
    assert not choose_scope(question, spread=0.2, has_communities=True).use_global


def test_auto_stays_local_for_specific_questions_and_without_communities() -> None:
    multihop = "Which Canadian rock band released a song called Counterparts and had a drummer in the Hall of Fame?"
    assert not choose_scope(multihop, spread=1.0, has_communities=True).use_global
    no_communities = choose_scope("Summarize these documents", spread=None, has_communities=False)
    assert not no_communities.use_global and "no communities" in no_communities.note


def test_spread_counts_the_main_community_of_each_hit() -> None:
    store = MagicMock(spec=GraphStore)
    store.entities_of_chunks.return_value = {
        "k1": ["e-casablanca", "e-curtiz"],
        "k2": ["e-curtiz"],
        "k4": ["e-toto"],
        "k6": ["e-kestrel"],
        "k9": ["e-unknown"],
    }
    assert hit_spread(["k1", "k2", "k4", "k6", "k9"], store, _index()) == 3 / 4
    store.entities_of_chunks.return_value = {}
    assert hit_spread(["k1"], store, _index()) is None
