"""models.ranges.to_ranges: ids folded into inclusive runs of consecutive values."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from models.ranges import to_ranges


def test_empty_input_gives_no_ranges() -> None:
    assert to_ranges([]) == []


def test_a_single_id_is_a_range_of_one() -> None:
    assert to_ranges([7]) == [(7, 7)]


def test_unsorted_input_is_folded_in_order() -> None:
    assert to_ranges([5, 1, 2, 3, 7, 6]) == [(1, 3), (5, 7)]


def test_duplicates_count_once() -> None:
    assert to_ranges([3, 1, 2, 2, 3, 1, 9, 9]) == [(1, 3), (9, 9)]


def test_gaps_of_one_split_runs() -> None:
    assert to_ranges([1, 3, 5]) == [(1, 1), (3, 3), (5, 5)]


def test_negative_ids_and_any_iterable() -> None:
    assert to_ranges(iter([0, -1, -3, 1])) == [(-3, -3), (-1, 1)]


@given(st.lists(st.integers(min_value=-1000, max_value=1000), max_size=60))
def test_ranges_cover_exactly_the_ids_and_are_sorted_disjoint_and_maximal(ids: list[int]) -> None:
    ranges = to_ranges(ids)

    covered = [value for low, high in ranges for value in range(low, high + 1)]
    assert covered == sorted(set(ids))  # exactly the ids, each once, in order
    assert all(low <= high for low, high in ranges)
    assert all(next_low > high + 1 for (_, high), (next_low, _) in itertools.pairwise(ranges))  # maximal runs
