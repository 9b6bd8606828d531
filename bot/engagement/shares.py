"""Shares: a photo or video with a caption, a link, or an experience post pays its author, within a
daily cap; content already posted in the group in the last 24 hours (by anyone) earns nothing.

Silent like thanks, and group-committed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from bot.core.ports import LedgerEntry, UnitOfWork, UnitOfWorkFactory
from bot.domain import MemberRef
from bot.points import ledger
from bot.points.points_desk import PointsDesk

REASON = "share"
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class ShareRules:
    points: int = 5
    daily_cap: int = 3
    min_post_length: int = 80
    duplicate_window: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Share:
    member: MemberRef
    kind: str  # "media", "link" or "post"
    fingerprint: str
    at: datetime
    message_key: str


def text_fingerprint(text: str) -> str:
    """Same words, whatever the width, case, spacing, punctuation or emoji: same fingerprint."""
    folded = _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())
    return "text:" + hashlib.sha1(folded.encode()).hexdigest()


def post_length(text: str) -> int:
    """Length that counts for an experience post: characters other than spaces and punctuation."""
    return len(_NOISE.sub("", text))


class ShareService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        rules: ShareRules,
        day_of: Callable[[MemberRef, datetime], date],
        desk: PointsDesk | None = None,
    ) -> None:
        self.rules = rules
        self._day_of = day_of
        self._desk = desk or PointsDesk(uow_factory)
        self._desk.register(Share, self._step)

    async def share(self, share: Share) -> bool:
        """Pay for a share; False when it does not count (cap reached, duplicate, already paid)."""
        if not self.rules.points:
            return False
        return bool(await self._desk.submit(share))

    async def _step(self, uow: UnitOfWork, batch: Sequence[Share]) -> list[bool]:
        """Decide and write a batch of shares inside the desk's transaction."""
        days = [self._day_of(share.member, share.at).isoformat() for share in batch]
        recent = await uow.content.seen_since(
            [(share.member.chat, share.fingerprint) for share in batch],
            since=min(share.at for share in batch) - self.rules.duplicate_window,
        )
        earned = Counter(await uow.ledger.earned(REASON, list(zip((s.member for s in batch), days, strict=True))))
        entries, keys = [], set()
        for share, day in zip(batch, days, strict=True):
            content = (share.member.chat, share.fingerprint)
            duplicate = content in recent and share.at - recent[content] < self.rules.duplicate_window
            recent[content] = share.at  # a twin later in this batch is a duplicate too
            if duplicate or share.message_key in keys or earned[(share.member, day)] >= self.rules.daily_cap:
                continue
            earned[(share.member, day)] += 1
            keys.add(share.message_key)
            entries.append(
                LedgerEntry(
                    member=share.member,
                    delta=self.rules.points,
                    reason=REASON,
                    reference=day,
                    idempotency_key=f"{REASON}:{share.message_key}",
                    at=share.at,
                    note=share.kind,
                )
            )
        await uow.content.remember([(share.member.chat, share.fingerprint, share.at) for share in batch])
        paid = await ledger.post_many(uow, entries)
        return [f"{REASON}:{share.message_key}" in paid for share in batch]


def link_fingerprint(url: str) -> str:
    """The same page whatever the host's case, a trailing slash or a #fragment."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return f"link:{parts.scheme.lower()}://{parts.netloc.lower()}{path}" + (f"?{parts.query}" if parts.query else "")


def file_fingerprint(file_unique_id: str) -> str:
    return f"file:{file_unique_id}"
