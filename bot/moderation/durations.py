"""Durations as moderators type them: ``10m``, ``2h``, ``1d``, ``1w`` (and 分钟/小时/天/周).

A restriction (a mute, a newcomer's text-only day) must end between ``RESTRICTION_MIN`` and
``RESTRICTION_MAX`` from now: Telegram treats an end less than 30 seconds or more than 366 days
away as "forever" (Bot API, restrictChatMember ``until_date``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_UNITS = {
    "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
    "秒": 1, "分": 60, "分钟": 60, "小时": 3600, "时": 3600, "天": 86400, "日": 86400, "周": 7 * 86400, "星期": 7 * 86400,
}  # fmt: skip
RESTRICTION_MIN = timedelta(seconds=30)
RESTRICTION_MAX = timedelta(days=366)
# The end actually sent keeps this far inside Telegram's window, so the time the request takes and a
# little clock drift between us and Telegram never push it outside (where it would mean forever).
RESTRICTION_SLACK = timedelta(seconds=15)
_LARGEST = 10**12  # seconds; far beyond any restriction, yet safe for timedelta and datetime arithmetic

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
    return timedelta(seconds=min(seconds, _LARGEST))


def restriction_allowed(duration: timedelta) -> bool:
    """Whether a mute of this length can be carried out as typed (30 seconds to 366 days)."""
    return RESTRICTION_MIN <= duration <= RESTRICTION_MAX


def restriction_until(now: datetime, until: datetime) -> datetime | None:
    """The end to send for a restriction meant to last until ``until``, kept inside Telegram's window.

    None when less than the minimum is left (restricting would mean forever: better not at all)."""
    if until - now < RESTRICTION_MIN:
        return None
    return min(max(until, now + RESTRICTION_MIN + RESTRICTION_SLACK), now + RESTRICTION_MAX - RESTRICTION_SLACK)


def format_duration(duration: timedelta) -> str:
    """The short form back: 90 minutes -> ``1h30m``; whole days stay days.

    A day or more is shown to the minute (a 366-day mute, kept a few seconds inside Telegram's
    window, still reads ``366d``)."""
    seconds = int(duration.total_seconds())
    if seconds >= 86400:
        seconds = (seconds + 30) // 60 * 60
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0m"
