"""The only way points move: ledger entries with idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.errors import InvalidLedgerEntry
from bot.core.ports import LedgerEntry, UnitOfWork

# Movements that are not taking part: spending in the shop and refunds of it. Everything else
# (check-ins, shares, thanks, quizzes, events, moderators' awards and deductions) is "earned".
SPENDING_REASONS = frozenset({"redeem", "refund"})


def counts_as_earned(reason: str) -> bool:
    """Earned points drive tiers and leaderboards; spending lowers only the balance."""
    return reason not in SPENDING_REASONS


def validate(entry: LedgerEntry) -> None:
    if entry.delta == 0:
        raise InvalidLedgerEntry(reason="zero_delta", key=entry.idempotency_key)
    if not entry.idempotency_key:
        raise InvalidLedgerEntry(reason="missing_key")


async def post(uow: UnitOfWork, entry: LedgerEntry) -> int | None:
    """Append ``entry`` inside the caller's transaction; the new balance, or None if it already paid."""
    return (await post_many(uow, [entry])).get(entry.idempotency_key)


async def post_many(uow: UnitOfWork, entries: Sequence[LedgerEntry]) -> dict[str, int]:
    """Append entries in one go; maps each key that paid now to its member's balance afterwards."""
    for entry in entries:
        validate(entry)
    if len({entry.idempotency_key for entry in entries}) != len(entries):
        raise InvalidLedgerEntry(reason="duplicate_key_in_batch")
    if not entries:
        return {}
    return await uow.ledger.append_many(entries)
