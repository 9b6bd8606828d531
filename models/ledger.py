"""SQL side of the points ledger: entries, balances and daily earned points in one transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.errors import InsufficientBalance
from bot.core.ports import LedgerEntry, PointsMoved
from bot.domain import ChatRef, MemberRef, UserRef
from bot.points.ledger import counts_as_earned
from models.common import MEMBERSHIPS, chat_t, membership_t, user_t
from models.tables import LedgerEntry as LedgerRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver
    from models.unit_of_work import SqlDatabase

ledger_t = LedgerRow.__table__


class SqlLedgerRepository:
    def __init__(
        self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase, moved: list[PointsMoved]
    ) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert
        self._day_of = storage.day_of
        self._moved = moved
        self._add_daily = storage.add_daily_points

    async def append_many(self, entries: Sequence[LedgerEntry]) -> dict[str, int]:
        ids = await self._resolver.ensure(entry.member for entry in entries)
        now = datetime.now(UTC)
        result = await self._connection.execute(
            self._insert(ledger_t)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(ledger_t.c.idempotency_key),
            [
                {
                    "membership_id": ids[e.member],
                    "delta": e.delta,
                    "reason": e.reason,
                    "reference": e.reference,
                    "idempotency_key": e.idempotency_key,
                    "created_at": e.at or now,
                    "actor": e.actor.external_id if e.actor else None,
                    "note": e.note[:200] if e.note else None,
                }
                for e in entries
            ],
        )
        paid = set(result.scalars())
        if not paid:
            return {}
        deltas: dict[int, int] = defaultdict(int)
        daily: dict[tuple[int, date], list[Any]] = {}
        for entry in entries:
            if entry.idempotency_key in paid:
                deltas[ids[entry.member]] += entry.delta
                at = entry.at or now
                moved = PointsMoved(
                    entry.member, entry.delta, entry.reason, self._day_of(entry.member, at), at, counts_as_earned(entry.reason)
                )
                self._moved.append(moved)
                if moved.earned:
                    total = daily.setdefault((ids[entry.member], moved.day), [0, at])
                    total[0] += entry.delta
                    total[1] = max(total[1], at)
        # Same transaction as the ledger rows: a balance can never drift from its ledger sum.
        try:
            await self._connection.execute(
                update(membership_t)
                .where(membership_t.c.id == bindparam("membership"))
                .values(balance=membership_t.c.balance + bindparam("delta")),
                # In id order, so concurrent transactions lock rows in the same order and cannot deadlock.
                [{"membership": membership_id, "delta": delta} for membership_id, delta in sorted(deltas.items())],
            )
        except IntegrityError as exc:
            if "balance_not_negative" in str(exc.orig) or "CHECK constraint failed" in str(exc.orig):
                raise InsufficientBalance() from exc
            raise
        if daily:
            await self._connection.execute(
                self._add_daily,
                [
                    {"membership_id": membership_id, "local_date": day, "earned": earned, "updated_at": at}
                    for (membership_id, day), (earned, at) in sorted(daily.items())
                ],
            )
        rows = await self._connection.execute(
            select(membership_t.c.id, membership_t.c.balance).where(
                membership_t.c.id.in_(bindparam("ids", expanding=True))
            ),
            {"ids": list(deltas)},
        )
        balances = {row.id: row.balance for row in rows}
        return {e.idempotency_key: balances[ids[e.member]] for e in entries if e.idempotency_key in paid}

    async def earned(self, reason: str, members: Sequence[tuple[MemberRef, str]]) -> list[tuple[MemberRef, str]]:
        if not members:
            return []
        ids = await self._resolver.ensure(member for member, _ in members)
        by_id = {membership_id: member for member, membership_id in ids.items()}
        wanted = set(members)
        rows = await self._connection.execute(
            EARNED,
            {
                "reason": reason,
                "ids": sorted(by_id),
                "references": sorted({reference for _, reference in members}),
            },
        )
        found = [(by_id[row.membership_id], row.reference) for row in rows]
        return [item for item in found if item in wanted]

    async def given(self, reason: str, givers: Sequence[tuple[MemberRef, str]]) -> list[tuple[MemberRef, MemberRef]]:
        wanted = {(giver.chat, giver.user.external_id, reference): giver for giver, reference in givers}
        if not wanted:
            return []
        rows = await self._connection.execute(
            GIVEN,
            {
                "reason": reason,
                "actors": sorted({giver.user.external_id for giver, _ in givers}),
                "references": sorted({reference for _, reference in givers}),
            },
        )
        found = []
        for row in rows:
            chat = ChatRef(row.chat_platform, row.chat_external_id)
            giver = wanted.get((chat, row.actor, row.reference))
            if giver is not None:
                found.append((giver, MemberRef(chat, UserRef(row.user_platform, row.user_external_id))))
        return found


GIVEN = (
    select(
        ledger_t.c.actor,
        ledger_t.c.reference,
        chat_t.c.platform.label("chat_platform"),
        chat_t.c.external_id.label("chat_external_id"),
        user_t.c.platform.label("user_platform"),
        user_t.c.external_id.label("user_external_id"),
    )
    .select_from(ledger_t.join(MEMBERSHIPS, membership_t.c.id == ledger_t.c.membership_id))
    .where(
        ledger_t.c.reason == bindparam("reason"),
        ledger_t.c.actor.in_(bindparam("actors", expanding=True)),
        ledger_t.c.reference.in_(bindparam("references", expanding=True)),
    )
)


EARNED = select(ledger_t.c.membership_id, ledger_t.c.reference).where(
    ledger_t.c.reason == bindparam("reason"),
    ledger_t.c.membership_id.in_(bindparam("ids", expanding=True)),
    ledger_t.c.reference.in_(bindparam("references", expanding=True)),
)
