"""SQL side of privacy requests: export everything stored about a user, and forget her."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from bot.domain import UserRef
from models.common import as_date, chat_t, membership_t, user_t, utc
from models.resolvers import find_user_id
from models.tables import Checkin, DailyActivity, MemberBadge, MemberProfile, ShopOrder
from models.tables import LedgerEntry as LedgerRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

checkin_t = Checkin.__table__
ledger_t = LedgerRow.__table__
activity_t = DailyActivity.__table__
profile_t = MemberProfile.__table__
badge_t = MemberBadge.__table__
order_t = ShopOrder.__table__


class SqlPrivacyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def export(self, user: UserRef) -> dict[str, Any] | None:
        user_id = await find_user_id(self._connection, user)
        if user_id is None:
            return None
        account = (await self._connection.execute(select(user_t).where(user_t.c.id == user_id))).one()
        groups = []
        memberships = await self._connection.execute(
            select(membership_t, chat_t.c.title, chat_t.c.external_id.label("chat_external_id"))
            .join(chat_t, chat_t.c.id == membership_t.c.chat_id)
            .where(membership_t.c.user_id == user_id)
            .order_by(membership_t.c.id)
        )
        for membership in memberships.all():
            groups.append(
                {
                    "group": membership.title,
                    "group_id": membership.chat_external_id,
                    "joined_at": _iso(utc(membership.joined_at)),
                    "left_at": _iso(utc(membership.left_at)),
                    "last_active_at": _iso(utc(membership.last_active_at)),
                    "points": membership.balance,
                    "tier": membership.tier,
                    "streak_freezes": membership.freezes,
                    "badges": [
                        {"badge": row.badge, "period": row.period or None, "since": _iso(utc(row.created_at))}
                        for row in await self._connection.execute(
                            select(badge_t.c.badge, badge_t.c.period, badge_t.c.created_at)
                            .where(badge_t.c.membership_id == membership.id)
                            .order_by(badge_t.c.id)
                        )
                    ],
                    "orders": [
                        {"order": row.id, "item": row.item, "cost": row.cost, "status": row.status, "at": _iso(utc(row.created_at))}
                        for row in await self._connection.execute(
                            select(order_t.c.id, order_t.c.item, order_t.c.cost, order_t.c.status, order_t.c.created_at)
                            .where(order_t.c.membership_id == membership.id)
                            .order_by(order_t.c.id)
                        )
                    ],
                    "check_ins": [
                        {"day": _iso(row.local_date), "streak": row.streak}
                        for row in await self._connection.execute(
                            select(checkin_t.c.local_date, checkin_t.c.streak)
                            .where(checkin_t.c.membership_id == membership.id)
                            .order_by(checkin_t.c.local_date)
                        )
                    ],
                    "points_history": [
                        {"at": _iso(utc(row.created_at)), "change": row.delta, "reason": row.reason, "note": row.note}
                        for row in await self._connection.execute(
                            select(ledger_t.c.created_at, ledger_t.c.delta, ledger_t.c.reason, ledger_t.c.note)
                            .where(ledger_t.c.membership_id == membership.id)
                            .order_by(ledger_t.c.id)
                        )
                    ],
                    "daily_activity": [
                        {"day": _iso(row.local_date), "messages": row.messages, "media": row.media, "links": row.links}
                        for row in await self._connection.execute(
                            select(activity_t).where(activity_t.c.membership_id == membership.id).order_by(activity_t.c.local_date)
                        )
                    ],
                }
            )
        profile = (await self._connection.execute(select(profile_t).where(profile_t.c.user_id == user_id))).first()
        return {
            "profile": None
            if profile is None
            else {
                "trying_to_conceive": profile.trying_to_conceive,
                "due_date": _iso(as_date(profile.due_date)),
                "birth_date": _iso(as_date(profile.birth_date)),
                "language": profile.language,
                "milestones": profile.milestones,
            },
            "account": {
                "platform": account.platform,
                "id": account.external_id,
                "name": account.display_name,
                "username": account.username,
                "language": account.language,
                "first_seen_at": _iso(utc(account.created_at)),
            },
            "groups": groups,
        }

    async def forget(self, user: UserRef, replacement_id: str) -> bool:
        user_id = await find_user_id(self._connection, user)
        if user_id is None:
            return False
        await self._connection.execute(
            update(user_t)
            .where(user_t.c.id == user_id)
            .values(external_id=replacement_id, display_name="", username=None, language=None)
        )
        await self._connection.execute(delete(profile_t).where(profile_t.c.user_id == user_id))
        her_memberships = select(membership_t.c.id).where(membership_t.c.user_id == user_id).scalar_subquery()
        await self._connection.execute(
            update(ledger_t).where(ledger_t.c.membership_id.in_(her_memberships)).values(note=None)
        )
        # Rows where she was the giver (thanks) or the moderator keep counting, under the new id.
        await self._connection.execute(
            update(ledger_t).where(ledger_t.c.actor == user.external_id).values(actor=replacement_id)
        )
        return True


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
