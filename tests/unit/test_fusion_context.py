"""Definitions and the years they pin: same-named, same-typed things told apart by their descriptions."""

from __future__ import annotations

import numpy as np

from graph.fusion.cluster import MentionItem, StoredItem, group_by_name
from graph.fusion.context import definition_of, is_definition, years_conflict


def unit(*weights: float) -> np.ndarray:
    vector = np.zeros(8, dtype=np.float32)
    vector[: len(weights)] = weights
    return vector / np.linalg.norm(vector)


def film(index: int, description: str, emb: np.ndarray | None = None) -> MentionItem:
    return MentionItem(
        index=index, name="The Picture of Dorian Gray", entity_type="WORK", description=description, embedding=emb
    )


def clusters(items: list[MentionItem], stored: list[StoredItem] | None = None) -> list[list[int]]:
    return sorted(sorted(g.mention_indices) for g in group_by_name(items, stored or []) if g.mention_indices)


def test_a_definition_opens_with_the_name_and_pins_its_years() -> None:
    assert is_definition("The Picture of Dorian Gray", "Picture of Dorian Gray (1913) is a silent film.")
    assert is_definition("Black River", '"Black River" is a river in Ontario.')
    assert not is_definition("Black River", "It is part of the James Bay drainage basin.")
    assert definition_of("Dream", "Dream is a 2008 South Korean film.").years == {"2008"}
    assert definition_of("Dream", "It was released in 2008.").years == frozenset()  # not a definition
    assert years_conflict(frozenset({"1913"}), frozenset({"1915"}))
    assert not years_conflict(frozenset({"1913", "1890"}), frozenset({"1915", "1890"}))
    assert not years_conflict(frozenset(), frozenset({"1915"}))


def test_definitions_pinning_different_years_split_a_name_without_an_embedder() -> None:
    items = [
        film(0, "The Picture of Dorian Gray (1913) is an American silent film directed by Phillips Smalley."),
        film(1, "The Picture of Dorian Gray is a 1945 American horror film based on Wilde's novel."),
        film(2, "The Picture of Dorian Gray( 1913) is an American silent film starring Wallace Reid."),
        film(3, "Released in June 1945 by Metro-Goldwyn-Mayer, it stars George Sanders."),  # a side remark
    ]
    groups = clusters(items)
    assert len(groups) == 2  # a side remark never starts a split of its own: it joins a group
    assert not any(0 in g and 1 in g for g in groups)
    assert any(0 in g and 2 in g for g in groups)


def test_unlike_definitions_split_but_side_remarks_do_not() -> None:
    river, wisconsin, basin = unit(1, 0.2), unit(0.2, 1), unit(0.6, 0.6, 0.6)
    items = [
        MentionItem(0, "Black River", "LOCATION", "Black River is a river in Ontario, Canada.", embedding=river),
        MentionItem(1, "Black River", "LOCATION", "Black River is a town in Wisconsin.", embedding=wisconsin),
        MentionItem(2, "black river", "LOCATION", "It drains into the James Bay basin.", embedding=basin),
    ]
    # river.wisconsin ~ 0.38: above the general split (0.3), below the bar for two definitions (0.6).
    assert 0.3 < float(river @ wisconsin) < 0.6
    assert clusters(items) == [[0, 2], [1]]


def test_a_stored_definition_keeps_a_different_year_out() -> None:
    stored = [
        StoredItem(
            entity_id="ent-1913",
            names=["The Picture of Dorian Gray"],
            entity_type="WORK",
            description="The Picture of Dorian Gray (1913) is an American silent film.",
        )
    ]
    items = [film(0, "The Picture of Dorian Gray is a 1945 American film."), film(1, "Picture of Dorian Gray (1913).")]
    groups = group_by_name(items, stored)
    owner = {i: g.entity_id for g in groups for i in g.mention_indices}
    assert owner == {0: None, 1: "ent-1913"}
