"""SQL side of members: standing (balance, rank, streak), user info and lookup by username."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select

from bot.domain import ChatRef, MemberRef, MemberStanding, UserInfo, UserRef
from models.common import MEMBERSHIPS, as_date, membership_t, user_t, utc
from models.resolvers import IN_CHAT
from models.tables import Checkin

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver

checkin_t = Checkin.__table__

FIND_BY_USERNAME = (
    select(user_t.c.platform, user_t.c.external_id)
    .select_from(MEMBERSHIPS)
    .where(*IN_CHAT, user_t.c.username == bindparam("username"))
)


class SqlMemberRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver) -> None:
        self._connection = connection
        self._resolver = resolver

    async def standing(self, member: MemberRef) -> MemberStanding | None:
        membership_id = await self._resolver.find(member)
        if membership_id is None:
            return None
        row = (await self._connection.execute(STANDING, {"membership_id": membership_id})).one()
        return MemberStanding(
            balance=row.balance,
            rank=row.ahead + 1,
            members_ranked=row.ranked,
            streak=row.streak or 0,
            last_checkin=as_date(row.last_day),
            checkins=row.checkins,
            joined_at=utc(row.joined_at),
            freeze_used_on=as_date(row.freeze_used_on),
            freezes=row.freezes,
        )

    async def users(self, users: Sequence[UserRef]) -> dict[UserRef, UserInfo]:
        by_platform: dict[str, dict[str, UserRef]] = defaultdict(dict)
        for user in users:
            by_platform[user.platform][user.external_id] = user
        found = {}
        for platform, wanted in by_platform.items():  # by the unique (platform, external_id) index
            rows = await self._connection.execute(USERS, {"platform": platform, "external_ids": list(wanted)})
            for row in rows:
                found[wanted[row.external_id]] = UserInfo(row.display_name, row.language, row.username)
        return found

    async def find_by_username(self, chat: ChatRef, username: str) -> MemberRef | None:
        params = {"chat_platform": chat.platform, "chat_external_id": chat.external_id, "username": username.lower()}
        row = (await self._connection.execute(FIND_BY_USERNAME, params)).first()
        return MemberRef(chat, UserRef(row.platform, row.external_id)) if row else None


USERS = select(user_t.c.external_id, user_t.c.display_name, user_t.c.language, user_t.c.username).where(
    user_t.c.platform == bindparam("platform"), user_t.c.external_id.in_(bindparam("external_ids", expanding=True))
)


def _standing_statement() -> Any:
    """Balance, rank among present members, check-in count and latest streak in one query (built once)."""
    me = membership_t.alias("me")
    others = membership_t.alias("others")
    in_chat = (others.c.chat_id == me.c.chat_id, others.c.left_at.is_(None))
    ahead = select(func.count()).select_from(others).where(*in_chat, others.c.balance > me.c.balance)
    ranked = select(func.count()).select_from(others).where(*in_chat)
    checkins = select(func.count()).where(checkin_t.c.membership_id == me.c.id)
    latest = select(checkin_t).where(checkin_t.c.membership_id == me.c.id).order_by(checkin_t.c.local_date.desc()).limit(1)
    return select(
        me.c.balance,
        me.c.joined_at,
        me.c.freezes,
        ahead.scalar_subquery().label("ahead"),
        ranked.scalar_subquery().label("ranked"),
        checkins.scalar_subquery().label("checkins"),
        latest.with_only_columns(checkin_t.c.local_date).scalar_subquery().label("last_day"),
        latest.with_only_columns(checkin_t.c.streak).scalar_subquery().label("streak"),
        latest.with_only_columns(checkin_t.c.freeze_used_on).scalar_subquery().label("freeze_used_on"),
    ).where(me.c.id == bindparam("membership_id"))


STANDING = _standing_statement()
