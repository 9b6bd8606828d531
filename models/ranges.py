from __future__ import annotations

from collections.abc import Iterable


def to_ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    """[5, 1, 2, 3, 7, 6] -> [(1, 3), (5, 7)]: inclusive runs of consecutive ids."""
    runs: list[tuple[int, int]] = []
    for value in sorted(set(ids)):
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs
