"""SQL side of member profiles: stage, language, streak pauses and milestones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, delete, select

from bot.domain import Profile, UserRef
from models.common import as_date, user_t
from models.resolvers import find_user_id
from models.tables import MemberProfile

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver
    from models.unit_of_work import SqlDatabase

profile_t = MemberProfile.__table__


PAUSES = (
    select(user_t.c.platform, user_t.c.external_id, profile_t.c.streak_paused_from, profile_t.c.streak_paused_until)
    .join(profile_t, profile_t.c.user_id == user_t.c.id)
    .where(
        user_t.c.platform == bindparam("platform"),
        user_t.c.external_id.in_(bindparam("external_ids", expanding=True)),
        profile_t.c.streak_paused_from.is_not(None),
    )
)


class SqlProfileRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert

    async def get(self, user: UserRef) -> Profile | None:
        user_id = await find_user_id(self._connection, user)
        if user_id is None:
            return None
        row = (await self._connection.execute(select(profile_t).where(profile_t.c.user_id == user_id))).first()
        if row is None:
            return None
        paused = (
            (as_date(row.streak_paused_from), as_date(row.streak_paused_until))
            if row.streak_paused_from and row.streak_paused_until
            else None
        )
        return Profile(
            row.trying_to_conceive, as_date(row.due_date), as_date(row.birth_date), row.language, paused, row.milestones  # type: ignore[arg-type]
        )

    async def save(self, user: UserRef, profile: Profile, at: datetime) -> None:
        [user_id] = (await self._resolver.user_ids([user])).values()
        values = {
            "trying_to_conceive": profile.trying_to_conceive,
            "due_date": profile.due_date,
            "birth_date": profile.birth_date,
            "language": profile.language,
            "streak_paused_from": profile.streak_paused[0] if profile.streak_paused else None,
            "streak_paused_until": profile.streak_paused[1] if profile.streak_paused else None,
            "milestones": profile.milestones,
            "updated_at": at,
        }
        stmt = self._insert(profile_t).values(user_id=user_id, **values)
        await self._connection.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_=values))

    async def delete(self, user: UserRef) -> bool:
        user_id = await find_user_id(self._connection, user)
        if user_id is None:
            return False
        result = await self._connection.execute(delete(profile_t).where(profile_t.c.user_id == user_id))
        return bool(result.rowcount)

    async def pauses(self, users: Sequence[UserRef]) -> dict[UserRef, tuple[date, date]]:
        wanted = {(user.platform, user.external_id): user for user in users}
        if not wanted:
            return {}
        found = {}
        for platform in {platform for platform, _ in wanted}:  # platform first: the unique index is (platform, external_id)
            external_ids = sorted(external_id for p, external_id in wanted if p == platform)
            for row in await self._connection.execute(PAUSES, {"platform": platform, "external_ids": external_ids}):
                found[wanted[(platform, row.external_id)]] = (as_date(row.streak_paused_from), as_date(row.streak_paused_until))
        return found  # type: ignore[return-value]

    async def languages(self) -> dict[UserRef, str]:
        rows = await self._connection.execute(
            select(user_t.c.platform, user_t.c.external_id, profile_t.c.language)
            .join(profile_t, profile_t.c.user_id == user_t.c.id)
            .where(profile_t.c.language.is_not(None))
        )
        return {UserRef(row.platform, row.external_id): row.language for row in rows}
