"""Extending a community hierarchy after an ingest: where new entities go, what keeps its id, when to rebuild."""

from __future__ import annotations

from app.communities import RefreshState, _can_extend
from graph.hierarchy.incremental import Hierarchy, place_entities
from graph.models import Community, stable_id


def level0(*entities: str, parent: str | None = None, summary: str = "") -> Community:
    leaves = sorted(entities)
    return Community(
        id=stable_id("com", "0", *leaves), level=0, members=leaves, size=len(leaves), parent_id=parent, summary=summary
    )


def parent_of(*children: Community, leaves: list[str]) -> Community:
    community = Community(
        id=stable_id("com", "1", *sorted(leaves)),
        level=1,
        members=sorted(c.id for c in children),
        size=len(leaves),
        summary="about the hubs",
    )
    for child in children:
        child.parent_id = community.id
    return community


def test_a_new_entity_joins_the_community_holding_most_of_its_weight() -> None:
    home = {"a1": "A", "a2": "A", "b1": "B"}
    links = {"n": {"a1": 1.0, "a2": 1.0, "b1": 1.5}}
    assert place_entities(links, home) == {"n": "A"}  # 2.0 against 1.5


def test_a_chain_of_new_entities_follows_the_placed_one_and_a_group_apart_stays_out() -> None:
    home = {"a1": "A"}
    links = {
        "n1": {"n2": 1.0},  # linked to the community only through n2, placed first
        "n2": {"a1": 1.0, "n1": 1.0},
        "m1": {"m2": 1.0},  # linked only to each other: a community of their own, not placed here
        "m2": {"m1": 1.0},
    }
    assert place_entities(links, home) == {"n1": "A", "n2": "A"}


def test_ties_go_to_the_smaller_community_id() -> None:
    assert place_entities({"n": {"b": 1.0, "a": 1.0}}, {"a": "A", "b": "B"}) == {"n": "A"}


def test_recomputed_communities_take_new_ids_and_their_ancestors_follow() -> None:
    grows, stays = level0("a1", "a2", summary="a"), level0("b1", "b2", summary="b")
    top = parent_of(grows, stays, leaves=["a1", "a2", "b1", "b2"])
    apart = level0("c1", "c2", summary="c")
    apart_top = parent_of(apart, leaves=["c1", "c2"])
    hierarchy = Hierarchy([grows, stays, top, apart, apart_top])

    grown = level0("a1", "a2", "n1", summary="a and n1")
    new = level0("m1", "m2", summary="m")
    communities, carried = hierarchy.replace_level0({grows.id: grown}, {}, [new])
    by_id = {c.id: c for c in communities}

    assert grows.id not in by_id and top.id not in by_id  # the old records go
    new_top = by_id[stable_id("com", "1", "a1", "a2", "b1", "b2", "n1")]
    assert carried == {new_top.id}
    assert new_top.summary == "about the hubs" and new_top.size == 5  # carried over, size exact
    assert sorted(new_top.members) == sorted([grown.id, stays.id])
    assert by_id[grown.id].parent_id == new_top.id and by_id[stays.id].parent_id == new_top.id
    # Untouched communities keep their ids and summaries.
    assert by_id[stays.id].summary == "b" and by_id[apart.id] == apart and by_id[apart_top.id] == apart_top
    # A new community gets a parent at every level above it, with the same entities.
    chain_top = by_id[stable_id("com", "1", "m1", "m2")]
    assert by_id[new.id].parent_id == chain_top.id and chain_top.members == [new.id] and chain_top.parent_id is None


def test_a_big_community_that_grows_keeps_its_record_with_exact_entities() -> None:
    big, other = level0("a1", "a2", summary="about a"), level0("b1", "b2", summary="b")
    top = parent_of(big, other, leaves=["a1", "a2", "b1", "b2"])
    communities, carried = Hierarchy([big, other, top]).replace_level0({}, {big.id: {"n1"}}, [])
    by_id = {c.id: c for c in communities}
    grown = by_id[stable_id("com", "0", "a1", "a2", "n1")]
    assert grown.members == ["a1", "a2", "n1"] and grown.size == 3 and grown.summary == "about a"
    new_top = by_id[grown.parent_id or ""]
    assert carried == {grown.id, new_top.id} and new_top.members == sorted([grown.id, other.id])
    assert big.id not in by_id and by_id[other.id].parent_id == new_top.id


def test_the_hierarchy_is_extended_only_while_the_change_is_small_and_known() -> None:
    state = RefreshState(chunks=1000, chunks_at_rebuild=1000)
    stored = [level0("a1", "a2")]
    new = [f"c{i}" for i in range(50)]
    assert _can_extend(state, 1050, new, stored, share=0.1)
    assert not _can_extend(state, 1050, new, stored, share=0.01)  # past the share: a full rebuild
    assert not _can_extend(state, 1049, new, stored, share=0.1)  # something else changed the store
    assert not _can_extend(state, 1050, new, [], share=0.1)  # nothing to extend
    stale = [level0("a1", "a2").model_copy(update={"stale": True})]
    assert not _can_extend(state, 1050, new, stale, share=0.1)  # a delete since
    grown = RefreshState(chunks=1080, chunks_at_rebuild=1000)
    assert not _can_extend(grown, 1130, new, stored, share=0.1)  # 130 since the rebuild: over 10%
