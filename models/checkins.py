"""SQL side of check-ins and streak freezes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select, update

from bot.core.ports import NewCheckin
from bot.domain import CheckinRecord, MemberRef
from models.common import membership_t
from models.tables import Checkin

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver
    from models.unit_of_work import SqlDatabase

checkin_t = Checkin.__table__


class SqlCheckinRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert

    async def latest_many(self, members: Sequence[MemberRef]) -> dict[MemberRef, CheckinRecord]:
        ids = await self._resolver.find_many(members)  # a member not stored yet has no check-ins
        by_id = {membership_id: member for member, membership_id in ids.items()}
        newest = (
            select(checkin_t.c.membership_id, func.max(checkin_t.c.local_date).label("day"))
            .where(checkin_t.c.membership_id.in_(bindparam("ids", expanding=True)))
            .group_by(checkin_t.c.membership_id)
            .subquery()
        )
        rows = await self._connection.execute(
            select(checkin_t.c.membership_id, checkin_t.c.local_date, checkin_t.c.streak, checkin_t.c.freeze_used_on).join(
                newest, (newest.c.membership_id == checkin_t.c.membership_id) & (newest.c.day == checkin_t.c.local_date)
            ),
            {"ids": list(by_id)},
        )
        return {
            by_id[row.membership_id]: CheckinRecord(row.local_date, row.streak, row.freeze_used_on) for row in rows
        }

    async def add_many(self, checkins: Sequence[NewCheckin]) -> set[tuple[MemberRef, date]]:
        if not checkins:
            return set()
        ids = await self._resolver.ensure(c.member for c in checkins)
        by_key = {(ids[c.member], c.day): c.member for c in checkins}
        result = await self._connection.execute(
            self._insert(checkin_t)
            .on_conflict_do_nothing(index_elements=["membership_id", "local_date"])
            .returning(checkin_t.c.membership_id, checkin_t.c.local_date),
            [
                {
                    "membership_id": ids[c.member],
                    "local_date": c.day,
                    "streak": c.streak,
                    "freeze_used_on": c.freeze_used_on,
                    "created_at": c.at,
                }
                for c in checkins
            ],
        )
        return {(by_key[(row.membership_id, row.local_date)], row.local_date) for row in result}

    async def freezes(self, members: Sequence[MemberRef]) -> dict[MemberRef, int]:
        ids = await self._resolver.ensure(members)
        by_id = {membership_id: member for member, membership_id in ids.items()}
        rows = await self._connection.execute(
            select(membership_t.c.id, membership_t.c.freezes).where(
                membership_t.c.id.in_(bindparam("ids", expanding=True)), membership_t.c.freezes > 0
            ),
            {"ids": list(by_id)},
        )
        return {by_id[row.id]: row.freezes for row in rows}

    async def change_freezes(self, member: MemberRef, delta: int) -> bool:
        [membership_id] = (await self._resolver.ensure([member])).values()
        result = await self._connection.execute(
            update(membership_t)
            .where(membership_t.c.id == membership_id, membership_t.c.freezes + delta >= 0)
            .values(freezes=membership_t.c.freezes + delta)
        )
        return result.rowcount == 1
