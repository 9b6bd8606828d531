"""SQL side of tiers, leaderboards, seasons, badges and the shop."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update

from bot.core.ports import BadgeGrant, DailyPoints, Order, SeasonInfo, TierState
from bot.domain import ChatRef, MemberRef, UserInfo
from bot.points.ledger import counts_as_earned
from models.common import MEMBER_COLUMNS, MEMBERSHIPS, as_date, as_datetime, member_of, membership_t, user_t, utc
from models.tables import DailyActivity, LedgerEntry, MemberBadge, PointsDaily, Season, SeasonStanding, ShopOrder, ShopStock

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver
    from models.unit_of_work import SqlDatabase

daily_t = PointsDaily.__table__
ledger_t = LedgerEntry.__table__
activity_t = DailyActivity.__table__
badge_t = MemberBadge.__table__
season_t = Season.__table__
standing_t = SeasonStanding.__table__
stock_t = ShopStock.__table__
order_t = ShopOrder.__table__

_DAILY_WITH_MEMBER = daily_t.join(MEMBERSHIPS, membership_t.c.id == daily_t.c.membership_id)


def _dailies(rows: Any) -> list[DailyPoints]:
    """One MemberRef per membership, shared by its rows (loads read hundreds of thousands)."""
    refs: dict[tuple[str, str, str, str], Any] = {}
    found = []
    for row in rows:
        key = (row.chat_platform, row.chat_external_id, row.user_platform, row.user_external_id)
        member = refs.get(key)
        if member is None:
            member = refs[key] = member_of(row)
        found.append(DailyPoints(member, as_date(row.local_date), row.earned, as_datetime(row.updated_at)))  # type: ignore[arg-type]
    return found


class SqlStandingsRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase) -> None:
        self._connection = connection
        self._resolver = resolver
        self._day_of = storage.day_of

    async def daily_since(self, since: date, members: Sequence[MemberRef] | None = None) -> list[DailyPoints]:
        statement = select(daily_t.c.local_date, daily_t.c.earned, daily_t.c.updated_at, *MEMBER_COLUMNS).select_from(
            _DAILY_WITH_MEMBER
        )
        statement = statement.where(daily_t.c.local_date >= since)
        if members is not None:
            ids = await self._resolver.find_many(members)
            statement = statement.where(daily_t.c.membership_id.in_(list(ids.values())))
        return _dailies(await self._connection.execute(statement))

    async def totals_since(self, since: date, before: date | None = None) -> list[DailyPoints]:
        totals = (
            select(
                daily_t.c.membership_id,
                func.sum(daily_t.c.earned).label("earned"),
                func.max(daily_t.c.local_date).label("local_date"),
                func.max(daily_t.c.updated_at).label("updated_at"),
            )
            .where(daily_t.c.local_date >= since, daily_t.c.local_date < (before or date.max))
            .group_by(daily_t.c.membership_id)
            .subquery()
        )
        rows = await self._connection.execute(
            select(totals.c.local_date, totals.c.earned, totals.c.updated_at, *MEMBER_COLUMNS).select_from(
                totals.join(MEMBERSHIPS, membership_t.c.id == totals.c.membership_id)
            )
        )
        return _dailies(rows)

    async def departed(self) -> list[MemberRef]:
        rows = await self._connection.execute(
            select(*MEMBER_COLUMNS).select_from(MEMBERSHIPS).where(membership_t.c.left_at.is_not(None))
        )
        return [member_of(row) for row in rows]

    async def tiers(self, members: Sequence[MemberRef]) -> dict[MemberRef, TierState]:
        ids = await self._resolver.find_many(members)
        by_id = {membership_id: member for member, membership_id in ids.items()}
        rows = await self._connection.execute(
            select(membership_t.c.id, membership_t.c.tier, membership_t.c.tier_warned_on).where(
                membership_t.c.id.in_(bindparam("ids", expanding=True))
            ),
            {"ids": list(by_id)},
        )
        return {by_id[row.id]: TierState(row.tier, as_date(row.tier_warned_on)) for row in rows}

    async def holding(self, tiers: Sequence[str]) -> list[tuple[MemberRef, str, UserInfo]]:
        rows = await self._connection.execute(
            select(membership_t.c.tier, user_t.c.display_name, user_t.c.language, user_t.c.username, *MEMBER_COLUMNS)
            .select_from(MEMBERSHIPS)
            .where(membership_t.c.tier.in_(list(tiers)), membership_t.c.left_at.is_(None))
            .order_by(membership_t.c.chat_id, membership_t.c.id)
        )
        return [(member_of(row), row.tier, UserInfo(row.display_name, row.language, row.username)) for row in rows]

    async def tiered_or_earning(self, since: date) -> list[MemberRef]:
        earning = select(daily_t.c.membership_id).where(daily_t.c.local_date >= since)
        rows = await self._connection.execute(
            select(*MEMBER_COLUMNS)
            .select_from(MEMBERSHIPS)
            .where(
                or_(
                    membership_t.c.tier.is_not(None),
                    membership_t.c.tier_warned_on.is_not(None),
                    membership_t.c.id.in_(earning),
                )
            )
        )
        return [member_of(row) for row in rows]

    async def set_tier(self, member: MemberRef, old: TierState, new: TierState) -> bool:
        [membership_id] = (await self._resolver.ensure([member])).values()
        result = await self._connection.execute(
            update(membership_t)
            .where(
                membership_t.c.id == membership_id,
                membership_t.c.tier.is_(None) if old.tier is None else membership_t.c.tier == old.tier,
                membership_t.c.tier_warned_on.is_(None)
                if old.warned_on is None
                else membership_t.c.tier_warned_on == old.warned_on,
            )
            .values(tier=new.tier, tier_warned_on=new.warned_on)
        )
        return result.rowcount == 1

    async def reason_counts(self, members: Sequence[MemberRef], reasons: Sequence[str]) -> dict[MemberRef, dict[str, int]]:
        ids = await self._resolver.find_many(members)
        by_id = {membership_id: member for member, membership_id in ids.items()}
        rows = await self._connection.execute(
            select(ledger_t.c.membership_id, ledger_t.c.reason, func.count().label("entries"))
            .where(
                ledger_t.c.membership_id.in_(bindparam("ids", expanding=True)),
                ledger_t.c.reason.in_(bindparam("reasons", expanding=True)),
            )
            .group_by(ledger_t.c.membership_id, ledger_t.c.reason),
            {"ids": list(by_id), "reasons": list(reasons)},
        )
        counts: dict[MemberRef, dict[str, int]] = defaultdict(dict)
        for row in rows:
            counts[by_id[row.membership_id]][row.reason] = row.entries
        return dict(counts)

    async def month_leaders(
        self, first_day: date, last_day: date
    ) -> dict[ChatRef, tuple[MemberRef | None, MemberRef | None]]:
        present = membership_t.c.left_at.is_(None)
        earned = await self._leaders(daily_t, daily_t.c.earned, first_day, last_day, present)
        active = await self._leaders(activity_t, activity_t.c.messages, first_day, last_day, present)
        return {chat: (earned.get(chat), active.get(chat)) for chat in earned.keys() | active.keys()}

    async def _leaders(self, table: Any, column: Any, first_day: date, last_day: date, present: Any) -> dict[ChatRef, MemberRef]:
        totals = (
            select(table.c.membership_id, func.sum(column).label("total"), func.max(table.c.local_date).label("last"))
            .where(table.c.local_date >= first_day, table.c.local_date <= last_day)
            .group_by(table.c.membership_id)
            .subquery()
        )
        rows = await self._connection.execute(
            select(totals.c.total, totals.c.last, membership_t.c.id, *MEMBER_COLUMNS)
            .select_from(totals.join(MEMBERSHIPS, membership_t.c.id == totals.c.membership_id))
            .where(present, totals.c.total > 0)
        )
        best: dict[ChatRef, tuple[Any, MemberRef]] = {}
        for row in rows:
            member = member_of(row)
            # Ties go to whoever reached the total first (the earlier last active day), then the older membership.
            rank = (-row.total, as_date(row.last), row.id)
            if member.chat not in best or rank < best[member.chat][0]:
                best[member.chat] = (rank, member)
        return {chat: member for chat, (_, member) in best.items()}

    async def current_season(self) -> SeasonInfo | None:
        row = (
            await self._connection.execute(
                select(season_t.c.name, season_t.c.started_at, season_t.c.first_day)
                .where(season_t.c.ended_at.is_(None))
                .order_by(season_t.c.started_at.desc())
                .limit(1)
            )
        ).first()
        return SeasonInfo(row.name, as_datetime(row.started_at), as_date(row.first_day)) if row else None  # type: ignore[arg-type]

    async def earned_before(self, day: date, at: datetime) -> dict[MemberRef, int]:
        # Only ledger rows of the last two days can be of that local day (timezones differ by under a day).
        rows = await self._connection.execute(
            select(ledger_t.c.delta, ledger_t.c.reason, ledger_t.c.created_at, *MEMBER_COLUMNS)
            .select_from(ledger_t.join(MEMBERSHIPS, membership_t.c.id == ledger_t.c.membership_id))
            .where(ledger_t.c.created_at >= at - timedelta(days=2), ledger_t.c.created_at < at)
        )
        earned: dict[MemberRef, int] = defaultdict(int)
        for row in rows:
            member = member_of(row)
            if counts_as_earned(row.reason) and self._day_of(member, utc(row.created_at)) == day:  # type: ignore[arg-type]
                earned[member] += row.delta
        return {member: points for member, points in earned.items() if points}

    async def _earned_since(self, at: datetime) -> dict[MemberRef, int]:
        """Points stamped at or after ``at`` (a season starting at ``at`` has them, not the one it closes)."""
        rows = await self._connection.execute(
            select(ledger_t.c.delta, ledger_t.c.reason, *MEMBER_COLUMNS)
            .select_from(ledger_t.join(MEMBERSHIPS, membership_t.c.id == ledger_t.c.membership_id))
            .where(ledger_t.c.created_at >= at)
        )
        earned: dict[MemberRef, int] = defaultdict(int)
        for row in rows:
            if counts_as_earned(row.reason):
                earned[member_of(row)] += row.delta
        return earned

    async def start_season(self, name: str, at: datetime, first_day: date) -> int:
        current = (
            await self._connection.execute(
                select(season_t.c.id, season_t.c.first_day, season_t.c.started_at).where(season_t.c.ended_at.is_(None)).limit(1)
            )
        ).first()
        if current is None:
            # Everything before the first season becomes a closed season of its own, so it is archived too.
            since = date(2000, 1, 1)
            season_id = (
                await self._connection.execute(
                    insert(season_t)
                    .values(name=f"before {name}"[:64], started_at=datetime(2000, 1, 1, tzinfo=at.tzinfo), first_day=since)
                    .returning(season_t.c.id)
                )
            ).scalar_one()
        else:
            season_id, since = current.id, as_date(current.first_day)
        # Everything earned until now, today included: the season ends at ``at``, not at a day boundary.
        # Its own first day counts only from its start (the rest of that day belonged to the season before).
        totals = await self.totals_since(since)  # type: ignore[arg-type]
        before_start = await self.earned_before(since, utc(current.started_at)) if current is not None else {}  # type: ignore[arg-type]
        after_end = await self._earned_since(at)
        ids = await self._resolver.ensure([total.member for total in totals])
        by_chat: dict[ChatRef, list[DailyPoints]] = defaultdict(list)
        for total in totals:
            earned = total.earned - before_start.get(total.member, 0) - after_end.get(total.member, 0)
            if earned > 0:
                by_chat[total.member.chat].append(replace(total, earned=earned))
        archived = []
        for standings in by_chat.values():
            standings.sort(key=lambda total: (-total.earned, total.updated_at))
            archived += [
                {"season_id": season_id, "membership_id": ids[total.member], "points": total.earned, "rank": rank}
                for rank, total in enumerate(standings, start=1)
            ]
        if archived:
            await self._connection.execute(insert(standing_t), archived)
        await self._connection.execute(update(season_t).where(season_t.c.id == season_id).values(ended_at=at))
        await self._connection.execute(insert(season_t).values(name=name, started_at=at, first_day=first_day))
        return len(archived)


class SqlBadgeRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert

    async def held(self, members: Sequence[MemberRef]) -> dict[MemberRef, list[tuple[str, str]]]:
        ids = await self._resolver.find_many(members)
        by_id = {membership_id: member for member, membership_id in ids.items()}
        rows = await self._connection.execute(
            select(badge_t.c.membership_id, badge_t.c.badge, badge_t.c.period)
            .where(badge_t.c.membership_id.in_(bindparam("ids", expanding=True)))
            .order_by(badge_t.c.created_at, badge_t.c.id),
            {"ids": list(by_id)},
        )
        held: dict[MemberRef, list[tuple[str, str]]] = defaultdict(list)
        for row in rows:
            held[by_id[row.membership_id]].append((row.badge, row.period))
        return dict(held)

    async def grant_many(self, grants: Sequence[BadgeGrant], at: datetime) -> list[BadgeGrant]:
        if not grants:
            return []
        ids = await self._resolver.ensure(grant.member for grant in grants)
        by_key = {(ids[grant.member], grant.badge, grant.period): grant for grant in grants}
        result = await self._connection.execute(
            self._insert(badge_t)
            .on_conflict_do_nothing(index_elements=["membership_id", "badge", "period"])
            .returning(badge_t.c.membership_id, badge_t.c.badge, badge_t.c.period),
            [
                {
                    "membership_id": membership_id,
                    "badge": badge,
                    "period": period,
                    "granted_by": grant.granted_by.external_id if grant.granted_by else None,
                    "created_at": at,
                }
                for (membership_id, badge, period), grant in by_key.items()
            ],
        )
        return [by_key[(row.membership_id, row.badge, row.period)] for row in result]

    async def revoke(self, member: MemberRef, badge: str) -> bool:
        membership_id = await self._resolver.find(member)
        if membership_id is None:
            return False
        result = await self._connection.execute(
            badge_t.delete().where(badge_t.c.membership_id == membership_id, badge_t.c.badge == badge)
        )
        return result.rowcount > 0


_ORDERS = select(
    order_t.c.id,
    order_t.c.item,
    order_t.c.cost,
    order_t.c.status,
    order_t.c.created_at,
    user_t.c.display_name,
    user_t.c.language,
    *MEMBER_COLUMNS,
).select_from(order_t.join(MEMBERSHIPS, membership_t.c.id == order_t.c.membership_id))


def _order(row: Any) -> Order:
    return Order(
        row.id,
        member_of(row),
        row.item,
        row.cost,
        row.status,
        as_datetime(row.created_at),  # type: ignore[arg-type]
        row.display_name or "",
        row.language,
    )


class SqlShopRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert

    async def take_stock(self, item: str, stock: int | None) -> bool:
        await self._connection.execute(
            self._insert(stock_t).on_conflict_do_nothing(index_elements=["item"]), {"item": item, "sold": 0}
        )
        # One conditional increment: the row lock makes concurrent buyers of the last item queue here,
        # and each re-checks the condition after the one before it commits.
        condition = stock_t.c.item == item
        if stock is not None:
            condition = and_(condition, stock_t.c.sold < stock)
        result = await self._connection.execute(update(stock_t).where(condition).values(sold=stock_t.c.sold + 1))
        return result.rowcount == 1

    async def release_stock(self, item: str) -> None:
        await self._connection.execute(
            update(stock_t).where(stock_t.c.item == item, stock_t.c.sold > 0).values(sold=stock_t.c.sold - 1)
        )

    async def sold(self, items: Sequence[str]) -> dict[str, int]:
        rows = await self._connection.execute(select(stock_t.c.item, stock_t.c.sold).where(stock_t.c.item.in_(list(items))))
        return {row.item: row.sold for row in rows}

    async def orders_of(self, member: MemberRef, item: str) -> int:
        membership_id = await self._resolver.find(member)
        if membership_id is None:
            return 0
        return (
            await self._connection.execute(
                select(func.count()).where(
                    order_t.c.membership_id == membership_id, order_t.c.item == item, order_t.c.status != "cancelled"
                )
            )
        ).scalar_one()

    async def add_order(self, member: MemberRef, item: str, cost: int, key: str, status: str, at: datetime) -> int | None:
        [membership_id] = (await self._resolver.ensure([member])).values()
        result = await self._connection.execute(
            self._insert(order_t)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(order_t.c.id),
            {
                "membership_id": membership_id,
                "item": item,
                "cost": cost,
                "status": status,
                "idempotency_key": key,
                "created_at": at,
                "handled_at": at if status != "pending" else None,
            },
        )
        return result.scalar_one_or_none()

    async def order_by_key(self, key: str) -> Order | None:
        row = (await self._connection.execute(_ORDERS.where(order_t.c.idempotency_key == key))).first()
        return _order(row) if row else None

    async def get(self, order_id: int) -> Order | None:
        row = (await self._connection.execute(_ORDERS.where(order_t.c.id == order_id))).first()
        return _order(row) if row else None

    async def list(self, status: str | None = None, limit: int = 100) -> list[Order]:
        statement = _ORDERS.order_by(order_t.c.id).limit(limit)
        if status is not None:
            statement = statement.where(order_t.c.status == status)
        return [_order(row) for row in await self._connection.execute(statement)]

    async def set_status(self, order_id: int, old: str, new: str, by: str | None, at: datetime) -> bool:
        result = await self._connection.execute(
            update(order_t)
            .where(order_t.c.id == order_id, order_t.c.status == old)
            .values(status=new, handled_by=by, handled_at=at)
        )
        return result.rowcount == 1
