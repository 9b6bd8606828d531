"""Helpful replies: a reply that thanks someone pays the person thanked, within daily caps.

Awards are silent (a busy group would drown in "+2" messages) and group-committed like check-ins.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.core.ports import LedgerEntry, UnitOfWork, UnitOfWorkFactory
from bot.domain import MemberRef
from bot.points import ledger
from bot.points.points_desk import PointsDesk

REASON = "thanks"


@dataclass(frozen=True, slots=True)
class ThanksRules:
    points: int = 2
    words: tuple[str, ...] = field(default_factory=tuple)
    per_giver_per_day: int = 5
    per_pair_per_day: int = 1
    reactions: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Thanks:
    giver: MemberRef
    receiver: MemberRef
    at: datetime
    message_key: str  # the thanking message, so a redelivered update pays once


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def says_thanks(text: str | None, words: Sequence[str]) -> bool:
    """Whether ``text`` contains one of the thanks words (full-width forms and case folded)."""
    if not text:
        return False
    folded = normalise(text)
    return any(word in folded for word in words)


def within_caps(
    thanks: Thanks, given: Counter[MemberRef], pairs: Counter[tuple[MemberRef, MemberRef]], rules: ThanksRules
) -> bool:
    return given[thanks.giver] < rules.per_giver_per_day and pairs[(thanks.giver, thanks.receiver)] < rules.per_pair_per_day


class ThanksService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        rules: ThanksRules,
        day_of: Callable[[MemberRef, datetime], date],
        desk: PointsDesk | None = None,
    ) -> None:
        words = tuple(normalise(word) for word in rules.words)
        self._rules = ThanksRules(rules.points, words, rules.per_giver_per_day, rules.per_pair_per_day, rules.reactions)
        self._day_of = day_of
        self._desk = desk or PointsDesk(uow_factory)
        self._desk.register(Thanks, self._step)

    def recognises(self, text: str | None) -> bool:
        return self._rules.points > 0 and says_thanks(text, self._rules.words)

    def recognises_reaction(self, emoji: str) -> bool:
        return self._rules.points > 0 and emoji in self._rules.reactions

    async def thank(self, thanks: Thanks) -> bool:
        """Pay the person thanked; False when it does not count (self, caps, or already paid)."""
        if thanks.giver.user == thanks.receiver.user or not self._rules.points:
            return False
        return bool(await self._desk.submit(thanks))

    async def _step(self, uow: UnitOfWork, batch: Sequence[Thanks]) -> list[bool]:
        """Decide and write a batch of thanks inside the desk's transaction."""
        days = [self._day_of(thanks.giver, thanks.at) for thanks in batch]
        earlier = await uow.ledger.given(REASON, [(t.giver, d.isoformat()) for t, d in zip(batch, days, strict=True)])
        given = Counter(giver for giver, _ in earlier)
        pairs = Counter(earlier)
        entries: list[LedgerEntry] = []
        keys: set[str] = set()
        for thanks, day in zip(batch, days, strict=True):
            if thanks.message_key in keys or not within_caps(thanks, given, pairs, self._rules):
                continue
            keys.add(thanks.message_key)
            given[thanks.giver] += 1
            pairs[(thanks.giver, thanks.receiver)] += 1
            entries.append(
                LedgerEntry(
                    member=thanks.receiver,
                    delta=self._rules.points,
                    reason=REASON,
                    reference=day.isoformat(),
                    idempotency_key=f"{REASON}:{thanks.message_key}",
                    at=thanks.at,
                    actor=thanks.giver.user,
                )
            )
        paid = await ledger.post_many(uow, entries)
        return [f"{REASON}:{thanks.message_key}" in paid for thanks in batch]
