"""Lucky draws anyone can check: the winners follow from values published before the draw.

The eligible members are listed (numbered from 1, in order of joining the records) in the
announcement. The seed is SHA-256 of "chat:announcement message id:date:list digest"; Telegram
assigns the message id when the announcement is posted, so the bot cannot choose it. Winner k is
number (int(SHA-256(seed:k)) mod the members still in the list) + 1, removed before the next pick.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class DrawResult:
    digest: str  # SHA-256 of the eligible ids, one per line
    seed: str
    winners: tuple[int, ...]  # 0-based positions in the eligible list


def list_digest(eligible_ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(eligible_ids).encode()).hexdigest()


def seed_text(chat_id: str, message_id: str, day: date, digest: str) -> str:
    return f"{chat_id}:{message_id}:{day.isoformat()}:{digest}"


def draw(eligible_ids: Sequence[str], chat_id: str, message_id: str, day: date, winners: int) -> DrawResult:
    digest = list_digest(eligible_ids)
    seed = hashlib.sha256(seed_text(chat_id, message_id, day, digest).encode()).hexdigest()
    remaining = list(range(len(eligible_ids)))
    chosen = []
    for k in range(min(winners, len(remaining))):
        pick = int(hashlib.sha256(f"{seed}:{k}".encode()).hexdigest(), 16) % len(remaining)
        chosen.append(remaining.pop(pick))
    return DrawResult(digest, seed, tuple(chosen))
