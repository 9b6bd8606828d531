"""Numbers typed by people (an order number, a member's id, a number of days): ASCII digits only, in range.

``str.isdigit`` also accepts "²" and "١٢" (which ``int`` then refuses or reads unexpectedly), and an
unbounded number overflows a database integer (PostgreSQL's bigint): such input is simply not a number.
"""

from __future__ import annotations

import re

DB_INT_MAX = 2**63 - 1  # the largest bigint
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_count(text: str, *, maximum: int = DB_INT_MAX) -> int | None:
    """``text`` as a whole number from 0 to ``maximum``; None when it is anything else."""
    if _DIGITS.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value <= maximum else None
