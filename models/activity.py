"""The write-behind activity store: lands members, daily activity aggregates and processed update ids."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.errors import StorageRejected
from bot.domain import ActivityTally, ChatInfo, ChatRef, MemberRef, UserInfo, UserRef
from bot.members.updates import REMEMBER_FOR  # processed update ids are kept as long as they are remembered
from models.common import chat_t, membership_t, user_t, utc
from models.ranges import to_ranges
from models.resolvers import IdCache
from models.tables import DailyActivity, ProcessedUpdate
from models.unit_of_work import conflicts_are_transient

if TYPE_CHECKING:
    from models.unit_of_work import SqlDatabase

activity_t = DailyActivity.__table__
processed_t = ProcessedUpdate.__table__


class SqlActivityStore:
    """Lands the write-behind activity buffer: members, daily aggregates, processed update ids."""

    # last_active_at is kept to within this: a member chatting all day costs one membership write an hour.
    PRESENCE_PRECISION = timedelta(hours=1)

    def __init__(self, storage: SqlDatabase, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._storage = storage
        self._now = now
        self._pruned_at: datetime | None = None
        # Platform info last written per ref, so an unchanged name is not rewritten every second.
        self._written: dict[ChatRef | UserRef, ChatInfo | UserInfo] = {}
        # Per member: (last_active_at, left_at) as last written.
        self._presence: dict[MemberRef, tuple[datetime, datetime | None]] = {}

    async def record(self, tallies: Sequence[ActivityTally], processed_updates: Sequence[tuple[str, str, int]]) -> None:
        if not tallies and not processed_updates:
            return
        try:
            await self._record(tallies, processed_updates)
        except (DataError, IntegrityError) as exc:
            raise StorageRejected(str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)) from exc

    async def _record(self, tallies: Sequence[ActivityTally], processed_updates: Sequence[tuple[str, str, int]]) -> None:
        new_ids = IdCache()
        chat_infos = self._to_write(_latest(tallies, lambda t: (t.member.chat, t.chat)), self._storage.ids.chats)
        user_infos = self._to_write(_latest(tallies, lambda t: (t.member.user, t.user)), self._storage.ids.users)
        presence = self._presence_to_write(tallies)
        async with conflicts_are_transient(), self._storage.engine.begin() as connection:
            if tallies:
                new_ids.chats = self._storage.ids.chats | await self._upsert_refs(connection, chat_t, chat_infos)
                new_ids.users = self._storage.ids.users | await self._upsert_refs(connection, user_t, user_infos)
                new_ids.members = self._storage.ids.members | await self._upsert_memberships(
                    connection, presence, new_ids.chats, new_ids.users
                )
                await self._add_activity(connection, tallies, new_ids.members)
            if processed_updates:
                await self._add_processed(connection, processed_updates)
        self._storage.ids.merge(new_ids)
        self._written.update((ref, info) for ref, info in (chat_infos | user_infos).items() if info is not None)
        self._presence.update(presence)

    async def recent_updates(self, since: datetime) -> list[tuple[str, str, int, datetime]]:
        async with self._storage.engine.begin() as connection:
            await connection.execute(delete(processed_t).where(processed_t.c.processed_at < since))
            rows = await connection.execute(
                select(
                    processed_t.c.platform, processed_t.c.bot_id, processed_t.c.first_id, processed_t.c.last_id,
                    processed_t.c.processed_at,
                )
            )
            latest: dict[tuple[str, str, int], datetime] = {}
            for row in rows:
                at = utc(row.processed_at)
                for update_id in range(row.first_id, row.last_id + 1):
                    key = (row.platform, row.bot_id, update_id)
                    if key not in latest or latest[key] < at:
                        latest[key] = at
            return sorted((*key, at) for key, at in latest.items())

    def _to_write(self, latest: dict[Any, Any], known_ids: dict[Any, int]) -> dict[Any, Any]:
        """Refs to upsert: unknown ones, and known ones whose platform info changed since we wrote it."""
        return {
            ref: info
            for ref, info in latest.items()
            if ref not in known_ids or (info is not None and self._written.get(ref) != info)
        }

    async def _upsert_refs(self, connection: AsyncConnection, table: Any, infos: dict[Any, Any]) -> dict[Any, int]:
        if not infos:
            return {}
        stmt = self._storage.insert(table)
        columns = [name for name in _info_columns(table, None) if name not in ("platform", "external_id")]
        # Blank info (a count without fresh platform data) never overwrites what is stored.
        stmt = stmt.on_conflict_do_update(
            index_elements=["platform", "external_id"],
            set_={name: func.coalesce(func.nullif(stmt.excluded[name], ""), table.c[name]) for name in columns},
        )
        refs = {(ref.platform, ref.external_id): ref for ref in infos}
        rows = await connection.execute(
            stmt.returning(table.c.id, table.c.platform, table.c.external_id),
            [{"platform": r.platform, "external_id": r.external_id, **_info_columns(table, i)} for r, i in infos.items()],
        )
        return {refs[(row.platform, row.external_id)]: row.id for row in rows}

    def _presence_to_write(self, tallies: Sequence[ActivityTally]) -> dict[MemberRef, tuple[datetime, datetime | None]]:
        """Memberships to write: new ones, a join or leave, or activity newer than the stored precision."""
        latest: dict[MemberRef, ActivityTally] = {}
        for tally in tallies:
            if tally.member not in latest or tally.last_seen_at >= latest[tally.member].last_seen_at:
                latest[tally.member] = tally
        wanted = {}
        for member, tally in latest.items():
            written = self._presence.get(member)
            if (
                member not in self._storage.ids.members
                or written is None
                or written[1] != tally.left_at
                or tally.last_seen_at - written[0] >= self.PRESENCE_PRECISION
            ):
                wanted[member] = (tally.last_seen_at, tally.left_at)
        return wanted

    async def _upsert_memberships(
        self,
        connection: AsyncConnection,
        presence: dict[MemberRef, tuple[datetime, datetime | None]],
        chats: dict[ChatRef, int],
        users: dict[UserRef, int],
    ) -> dict[MemberRef, int]:
        if not presence:
            return {}
        pairs = {(chats[m.chat], users[m.user]): m for m in presence}
        stmt = self._storage.insert(membership_t)
        newer, current = stmt.excluded.last_active_at, membership_t.c.last_active_at
        stmt = stmt.on_conflict_do_update(
            index_elements=["chat_id", "user_id"],
            set_={
                "last_active_at": case((current.is_(None), newer), (newer > current, newer), else_=current),
                "joined_at": func.coalesce(membership_t.c.joined_at, stmt.excluded.joined_at),
                "left_at": stmt.excluded.left_at,
            },
        )
        rows = await connection.execute(
            stmt.returning(membership_t.c.id, membership_t.c.chat_id, membership_t.c.user_id),
            # Sorted, so concurrent transactions lock membership rows in one order.
            [
                {"chat_id": chat_id, "user_id": user_id, "joined_at": seen, "last_active_at": seen, "left_at": left}
                for (chat_id, user_id), (seen, left) in sorted(
                    ((pair, presence[member]) for pair, member in pairs.items()), key=lambda item: item[0]
                )
            ],
        )
        return {pairs[(row.chat_id, row.user_id)]: row.id for row in rows}

    async def _add_activity(
        self, connection: AsyncConnection, tallies: Sequence[ActivityTally], members: dict[MemberRef, int]
    ) -> None:
        counters = ("messages", "media", "links", "checkins")
        stmt = self._storage.insert(activity_t)
        stmt = stmt.on_conflict_do_update(
            index_elements=["membership_id", "local_date"],
            set_={name: activity_t.c[name] + stmt.excluded[name] for name in counters},
        )
        await connection.execute(
            stmt,
            [
                {"membership_id": members[t.member], "local_date": t.day, **{name: getattr(t, name) for name in counters}}
                for t in tallies
            ],
        )

    async def _add_processed(self, connection: AsyncConnection, processed: Sequence[tuple[str, str, int]]) -> None:
        # Update ids arrive nearly consecutive, so a flush stores a few ranges instead of a row per update.
        by_source: dict[tuple[str, str], list[int]] = defaultdict(list)
        for platform, bot, update_id in processed:
            by_source[(platform, bot)].append(update_id)
        now = self._now()
        rows = [
            {"platform": platform, "bot_id": bot, "first_id": first, "last_id": last, "processed_at": now}
            for (platform, bot), ids in by_source.items()
            for first, last in to_ranges(ids)
        ]
        await connection.execute(processed_t.insert(), rows)
        if self._pruned_at is None or now - self._pruned_at >= timedelta(hours=1):
            await connection.execute(delete(processed_t).where(processed_t.c.processed_at < now - REMEMBER_FOR))
            self._pruned_at = now


def _latest(tallies: Iterable[ActivityTally], pick: Any) -> dict[Any, Any]:
    """The most recent non-empty info per ref."""
    latest: dict[Any, tuple[datetime, Any]] = {}
    for tally in tallies:
        ref, info = pick(tally)
        seen = latest.get(ref)
        if seen is None or (info is not None and (seen[1] is None or seen[0] <= tally.last_seen_at)):
            latest[ref] = (tally.last_seen_at, info)
    return {ref: info for ref, (_, info) in latest.items()}


def _info_columns(table: Any, info: ChatInfo | UserInfo | None) -> dict[str, Any]:
    """Platform info as column values, each cut to its column's length (names and titles come from outside)."""
    if table is chat_t:
        chat = info if isinstance(info, ChatInfo) else ChatInfo(title="", kind="")
        values = {"title": chat.title, "kind": chat.kind}
    else:
        user = info if isinstance(info, UserInfo) else UserInfo(display_name="")
        values = {"display_name": user.display_name, "language": user.language or "", "username": (user.username or "").lower()}
    return {name: fit(table.c[name], value) for name, value in values.items()}


def fit(column: Any, value: str) -> str:
    """``value`` cut to what ``column`` (a String(n)) holds."""
    length = getattr(column.type, "length", None)
    return value[:length] if length is not None else value
