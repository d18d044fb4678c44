"""Fusion building blocks: normalisation, blocking, scoring, clustering, descriptions, conflicts."""

from __future__ import annotations

import numpy as np

from graph.fusion.blocking import candidate_pairs, nearest_neighbour_pairs
from graph.fusion.cluster import MentionItem, StoredItem, cluster_groups, group_by_name
from graph.fusion.descriptions import fuse_descriptions, most_informative
from graph.fusion.naming import description_head, qualifiers
from graph.fusion.normalize import acronym, acronym_key, compact_key, normalize_name, numbers_in
from graph.fusion.relations import RelationKey, find_conflicts, merge_parallel
from graph.fusion.scoring import NodeView, pair_score, type_family, types_compatible
from graph.models import RelationRecord


def unit(*weights: float) -> np.ndarray:
    vector = np.zeros(8, dtype=np.float32)
    vector[: len(weights)] = weights
    return vector / np.linalg.norm(vector)


PLANET, ELEMENT = unit(1, 0.1), unit(0.1, 1)


def test_normalize_folds_case_punctuation_articles_unicode_and_abbreviations() -> None:
    assert normalize_name("The Beatles") == normalize_name("beatles!") == "beatles"
    assert normalize_name("Café  Münchën") == "cafe munchen"
    assert normalize_name("Univ. of Oxford") == normalize_name("University of Oxford")
    assert normalize_name("St. Louis") == normalize_name("Saint Louis")
    assert compact_key("Spider-Man") == compact_key("Spiderman")
    assert normalize_name("A") == "a"  # a lone article is a name, not nothing


def test_acronyms_pair_with_their_expansion() -> None:
    assert acronym("Federal Bureau of Investigation") == "fbi"
    assert acronym_key("F.B.I.") == acronym_key("FBI") == "fbi"
    assert acronym_key("Paris") == ""
    assert acronym("Paris") == ""
    assert numbers_in("1998 FIFA World Cup") == {"1998"}


def test_type_families_tolerate_wording_but_not_different_kinds() -> None:
    assert type_family("FILM") == type_family("WORK_OF_ART") == "WORK"
    assert types_compatible(type_family("CONCEPT"), type_family("PLANET"))
    assert not types_compatible(type_family("PLANET"), type_family("CHEMICAL_ELEMENT"))


def test_blocking_finds_variants_without_all_pairs() -> None:
    names = ["Barack Obama", "Barak Obama", "FBI", "Federal Bureau of Investigation", "Paris", "London"]
    views = [NodeView(names=[n]) for n in names]
    pairs = candidate_pairs(views)
    assert (0, 1) in pairs and (2, 3) in pairs
    assert (4, 5) not in pairs
    assert len(pairs) < len(names) * (len(names) - 1) // 2


def test_common_tokens_do_not_make_quadratic_blocks() -> None:
    views = [NodeView(names=[f"John Person{i:03d}x"]) for i in range(200)]
    assert len(candidate_pairs(views, max_block=50)) < 200 * 10


def test_nearest_neighbour_pairs_link_close_vectors_only() -> None:
    vectors = np.vstack([unit(1, 0), unit(1, 0.05), unit(0, 1)])
    assert nearest_neighbour_pairs(vectors, k=2, min_similarity=0.9) == {(0, 1)}


def test_scores_merge_variants_and_veto_different_things() -> None:
    def view(name: str, kind: str = "ORG", emb: np.ndarray | None = None) -> NodeView:
        return NodeView(names=[name], entity_type=kind, embedding=emb, has_context=emb is not None)

    assert pair_score(view("The Beatles"), view("beatles")) == 1.0
    assert pair_score(view("FBI"), view("Federal Bureau of Investigation")) >= 0.86
    assert pair_score(view("Barack Obama", "PERSON"), view("Barak Obama", "PERSON")) >= 0.86
    assert pair_score(view("1998 FIFA World Cup", "EVENT"), view("2002 FIFA World Cup", "EVENT")) == 0.0
    assert pair_score(view("Mercury", "PLANET"), view("Mercury", "CHEMICAL_ELEMENT")) == 0.0
    assert pair_score(view("Mercury", "CONCEPT", PLANET), view("Mercury", "CONCEPT", ELEMENT)) == 0.0
    assert pair_score(view("John Smith", "PERSON"), view("Jane Smith", "PERSON")) < 0.86


def mention(index: int, name: str, kind: str, emb: np.ndarray | None = None) -> MentionItem:
    return MentionItem(index=index, name=name, entity_type=kind, embedding=emb)


def test_same_name_is_split_by_type_or_disjoint_context() -> None:
    groups = group_by_name(
        [
            mention(0, "Mercury", "PLANET", PLANET),
            mention(1, "mercury", "PLANET", PLANET),
            mention(2, "Mercury", "CHEMICAL_ELEMENT", ELEMENT),
            mention(3, "Mercury", "CONCEPT", ELEMENT),  # no type to go on, but its context is the element's
        ]
    )
    assert sorted(sorted(g.mention_indices) for g in groups) == [[0, 1], [2, 3]]


def test_a_type_disagreement_under_one_name_yields_to_agreeing_context() -> None:
    city, club = unit(1, 0.1), unit(1, 0, 2)  # cosine 0.44: enough for one type (split below 0.3), not for two
    groups = group_by_name(
        [
            mention(0, "Naples", "GPE", city),
            mention(1, "Naples", "GPE", city),
            mention(2, "Naples", "PERSON", city),  # the NER model's slip: the city's own context
            mention(3, "Jordan", "GPE", city),
            mention(4, "Jordan", "ORG", club),
            mention(5, "Savoy", "GPE", city),
            mention(6, "Savoy", "GPE", club),
        ]
    )
    assert sorted(sorted(g.mention_indices) for g in groups) == [[0, 1, 2], [3], [4], [5, 6]]


def test_moderate_agreement_across_types_needs_a_shared_neighbour() -> None:
    band, singer = unit(1, 0.9), unit(1, 0, 1)  # cosine 0.53

    def bowie(index: int, kind: str, vector: np.ndarray, *neighbours: str) -> MentionItem:
        return MentionItem(index, "Bowie", kind, embedding=vector, neighbours=frozenset(neighbours))

    assert len(group_by_name([bowie(0, "ORG", band, "ziggy"), bowie(1, "PERSON", singer)])) == 2
    assert len(group_by_name([bowie(0, "ORG", band, "ziggy"), bowie(1, "PERSON", singer, "ziggy")])) == 1


def test_cluster_merges_variants_and_keeps_homonyms_apart() -> None:
    items = [
        mention(0, "International Business Machines", "ORG"),
        mention(1, "IBM", "ORG"),
        mention(2, "Mercury", "PLANET"),
        mention(3, "Mercury", "CHEMICAL_ELEMENT"),
        mention(4, "Planet Mercury", "PLANET"),
    ]
    groups = group_by_name(items)
    views = [g.view() for g in groups]
    components = cluster_groups(groups, candidate_pairs(views), pair_score, 0.86)
    clusters = sorted(sorted(i for g in comp for i in groups[g].mention_indices) for comp in components)
    assert [0, 1] in clusters
    assert not any(2 in c and 3 in c for c in clusters)


def test_stored_entities_never_merge_with_each_other_but_absorb_mentions() -> None:
    stored = [
        StoredItem(entity_id="ent-a", names=["Acme Corporation"], entity_type="ORG"),
        StoredItem(entity_id="ent-b", names=["Acme Corp"], entity_type="ORG"),
    ]
    groups = group_by_name([mention(0, "ACME Corporation", "ORG")], stored)
    assert [g.entity_id for g in groups if 0 in g.mention_indices] == ["ent-a"]
    components = cluster_groups(groups, candidate_pairs([g.view() for g in groups]), pair_score, 0.5)
    assert all(len({groups[i].entity_id for i in c} - {None}) <= 1 for c in components)


def test_fused_description_is_the_most_informative_or_the_summary() -> None:
    texts = [
        "A city.",
        "Paris is the capital and largest city of France, on the Seine.",
        "paris is the capital",
    ]
    assert most_informative(texts) == texts[1]
    assert fuse_descriptions("Paris", texts) == texts[1]
    # As rich as the typical description but shared by none of the others: the typical one wins.
    typical = "Paris is the capital of France on the Seine river."
    outlier = "Paris hosted an exhibition of iron towers."
    agreeing = ["Paris is the capital of France.", "Paris lies on the Seine river in France."]
    assert most_informative([outlier, typical, *agreeing]) == typical
    long_texts = [t * 20 for t in texts]
    assert fuse_descriptions("Paris", long_texts, lambda name, ds: f"{name}: {len(ds)} sources") == "Paris: 3 sources"

    def broken(name: str, descriptions: list[str]) -> str:
        raise RuntimeError("LLM down")

    assert fuse_descriptions("Paris", long_texts, broken) == most_informative(long_texts)


def test_homonym_qualifiers_use_type_then_description() -> None:
    assert qualifiers(["PLANET", "CHEMICAL_ELEMENT"], ["", ""]) == ["planet", "chemical element"]
    assert description_head("Tony Kaye is an English keyboardist for Yes") == "English keyboardist"
    labels = qualifiers(["PERSON", "PERSON"], ["He is an English keyboardist.", "He is an American director."])
    assert labels == ["English keyboardist", "American director"]


def test_parallel_relations_merge_and_self_loops_drop() -> None:
    def rel(source: str, target: str, chunk: str, strength: float = 1.0) -> RelationRecord:
        return RelationRecord(source_id=source, target_id=target, type="FOUNDED", chunk_id=chunk, strength=strength)

    merged = merge_parallel([rel("a", "b", "c1"), rel("a", "b", "c1", 5.0), rel("a", "b", "c2"), rel("a", "a", "c1")])
    assert [(r.chunk_id, r.strength) for r in merged] == [("c1", 5.0), ("c2", 1.0)]


def test_contradictions_are_flagged_not_dropped() -> None:
    relations = [
        RelationKey("r1", "a", "b", "SUPPORTS"),
        RelationKey("r2", "a", "b", "OPPOSES"),
        RelationKey("r3", "c", "d", "PARENT_OF"),
        RelationKey("r4", "d", "c", "PARENT_OF"),
        RelationKey("r5", "e", "f", "WORKS_FOR"),
        RelationKey("r6", "e", "f", "NOT_WORKS_FOR"),
        RelationKey("r7", "a", "b", "KNOWS"),
        RelationKey("r8", "b", "a", "KNOWS"),
    ]
    assert find_conflicts(relations) == {"r1", "r2", "r3", "r4", "r5", "r6"}
