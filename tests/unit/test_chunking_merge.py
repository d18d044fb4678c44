"""Dynamic merging: sizes respected, strongest boundaries kept, oversize meta-chunks cut."""

from __future__ import annotations

import pytest

from ingest.chunking.merge import merge_spans, pack_in_order


def test_boundaries_are_joined_up_to_the_target() -> None:
    runs = merge_spans([10] * 6, [0.1] * 5, [True] * 5, target=30, maximum=60)
    assert runs == [(0, 2), (3, 5)]


def test_merging_keeps_the_strongest_boundary_when_it_must_choose() -> None:
    # Two topics of three sentences; the jump between them (gap 2) is the strongest. Greedy
    # left-to-right packing to 40 would give (0..3), straddling both topics.
    strengths = [0.1, 0.2, 3.0, 0.1, 0.3]
    runs = merge_spans([10] * 6, strengths, [True] * 5, target=40, maximum=60)
    assert runs == [(0, 2), (3, 5)]
    assert pack_in_order([10] * 6, target=40) == [(0, 3), (4, 5)]


def test_inside_a_meta_chunk_sentences_stay_together_beyond_the_target() -> None:
    boundaries = [False, False, True, False, False]
    runs = merge_spans([10] * 6, [0.0] * 5, boundaries, target=20, maximum=40)
    assert runs == [(0, 2), (3, 5)]


def test_an_oversize_meta_chunk_is_cut_at_its_strongest_gaps() -> None:
    strengths = [0.1, 0.2, 5.0, 0.1, 0.2]
    runs = merge_spans([10] * 6, strengths, [False] * 5, target=20, maximum=30)
    assert runs == [(0, 2), (3, 5)]
    assert all(sum([10] * (last - first + 1)) <= 30 for first, last in runs)


def test_runs_cover_every_sentence_once_in_order() -> None:
    sizes = [5, 50, 7, 3, 80, 2, 2, 9]
    strengths = [0.5, -0.2, 0.9, 0.1, 0.0, 0.3, 0.7]
    boundaries = [True, False, True, False, True, True, False]
    runs = merge_spans(sizes, strengths, boundaries, target=40, maximum=90)
    covered = [i for first, last in runs for i in range(first, last + 1)]
    assert covered == list(range(len(sizes)))
    assert all(sum(sizes[first : last + 1]) <= 90 for first, last in runs)


def test_single_sentence_and_empty_input() -> None:
    assert merge_spans([500], [], [], target=10, maximum=20) == [(0, 0)]
    assert merge_spans([], [], [], target=10, maximum=20) == []
    assert pack_in_order([], target=10) == []


def test_mismatched_gap_lists_are_rejected() -> None:
    with pytest.raises(ValueError, match="one strength"):
        merge_spans([1, 2, 3], [0.1], [True], target=10, maximum=20)
