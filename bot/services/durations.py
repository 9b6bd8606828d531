"""Durations as moderators type them: ``10m``, ``2h``, ``1d``, ``1w`` (and 分钟/小时/天/周)."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
    "秒": 1, "分": 60, "分钟": 60, "小时": 3600, "时": 3600, "天": 86400, "日": 86400, "周": 7 * 86400, "星期": 7 * 86400,
}  # fmt: skip
_PATTERN = re.compile(r"(\d{1,6})\s*(" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")")


def parse_duration(text: str) -> timedelta | None:
    """``"1h30m"`` -> 90 minutes; None when the text is not a duration (or is zero)."""
    compact = text.strip().lower().replace(" ", "")
    if not compact:
        return None
    seconds, position = 0, 0
    for match in _PATTERN.finditer(compact):
        if match.start() != position:
            return None
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(compact) or seconds <= 0:
        return None
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """The short form back: 90 minutes -> ``1h30m``; whole days stay days."""
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0m"
