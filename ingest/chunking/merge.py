"""Dynamic merging: turn scored sentence gaps into chunks of about the target size.

Input: the token size of each sentence, a strength for each gap between consecutive sentences
(higher = a more likely topic change) and which gaps a chunker declared boundaries.

1. Inside each meta-chunk (between declared boundaries) sentences are joined up to the hard
   maximum; when a meta-chunk is too large it is cut at its strongest internal gaps.
2. Meta-chunks are then joined up to the target size, weakest boundary first, so when merging
   has to choose it keeps the boundaries with the largest jumps: a chunk does not straddle two
   unrelated topics just to reach the target.

Both phases are the same greedy pass: visit gaps from weakest to strongest and join the groups on
either side when the result still fits. Groups only grow, so a gap refused once stays refused and
one pass (O(n log n)) gives the same result as repeatedly joining the weakest joinable pair.
"""

from __future__ import annotations

from collections.abc import Sequence


class _Groups:
    """Consecutive runs of sentences; gap ``i`` sits between sentence ``i`` and ``i + 1``."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.first = list(range(len(sizes)))  # first sentence of the group holding sentence i
        self.last = list(range(len(sizes)))  # valid at group heads/tails only
        self.size = list(sizes)  # valid at group heads only

    def head(self, i: int) -> int:
        while self.first[i] != i:
            self.first[i] = self.first[self.first[i]]
            i = self.first[i]
        return i

    def join_if_fits(self, gap: int, limit: int) -> bool:
        left, right = self.head(gap), gap + 1  # gap+1 always starts a group while the gap is open
        if self.size[left] + self.size[right] > limit:
            return False
        self.first[right] = left
        self.size[left] += self.size[right]
        self.last[left] = self.last[right]
        return True

    def runs(self) -> list[tuple[int, int]]:
        """``(first, last)`` sentence indices of every group, in order."""
        runs, i = [], 0
        while i < len(self.first):
            runs.append((i, self.last[i]))
            i = self.last[i] + 1
        return runs


def merge_spans(
    sizes: Sequence[int],
    strengths: Sequence[float],
    boundaries: Sequence[bool],
    *,
    target: int,
    maximum: int,
) -> list[tuple[int, int]]:
    """Group sentences into chunks; returns inclusive ``(first, last)`` sentence index pairs.

    ``sizes[i]`` is sentence i's token count, ``strengths[i]`` and ``boundaries[i]`` describe the
    gap after sentence i (``len(sizes) - 1`` gaps). A chunk exceeds ``maximum`` only when a single
    sentence does (the splitter already cuts those).
    """
    if not sizes:
        return []
    if len(strengths) != len(sizes) - 1 or len(boundaries) != len(strengths):
        raise ValueError("need one strength and one boundary flag per gap between sentences")
    groups = _Groups(sizes)
    by_weakness = sorted(range(len(strengths)), key=lambda gap: strengths[gap])
    for gap in by_weakness:  # phase 1: fill meta-chunks up to the hard maximum
        if not boundaries[gap]:
            groups.join_if_fits(gap, maximum)
    # Phase 2: join meta-chunks up to the target. Cuts made in phase 1 need not be revisited:
    # they were refused at the maximum, and groups only grow.
    for gap in by_weakness:
        if boundaries[gap]:
            groups.join_if_fits(gap, target)
    return groups.runs()


def pack_in_order(sizes: Sequence[int], *, target: int) -> list[tuple[int, int]]:
    """Greedy left-to-right packing up to ``target`` (the sentence-window chunker)."""
    runs: list[tuple[int, int]] = []
    first, total = 0, 0
    for i, size in enumerate(sizes):
        if total and total + size > target:
            runs.append((first, i - 1))
            first, total = i, 0
        total += size
    if sizes:
        runs.append((first, len(sizes) - 1))
    return runs
