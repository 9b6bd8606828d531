"""SQL implementations of the core's storage ports. All SQL of the bot lives in ``models/``.

Statements are written set-based and run as executemany or with expanding IN lists, so a
batch of any size costs a handful of round trips and reuses one compiled statement.
"""

from __future__ import annotations

from collections import defaultdict
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain import (
    ActivityTally,
    ChatInfo,
    ChatRef,
    CheckinRecord,
    MemberRef,
    MemberStanding,
    Profile,
    UserInfo,
    UserRef,
)
from bot.services.errors import InsufficientBalance, StorageConflict, StorageRejected
from bot.services.ledger import counts_as_earned
from bot.services.ports import ChatPreferences, LedgerEntry, NewCheckin, PointsMoved
from bot.services.updates import REMEMBER_FOR  # processed update ids are kept as long as they are remembered
from models.common import MEMBERSHIPS, as_date, utc
from models.engagement import SqlBadgeRepository, SqlShopRepository, SqlStandingsRepository
from models.faq import SqlFaqRepository
from models.moderation import SqlModerationRepository
from models.schedule import SqlScheduleRepository
from models.engine import make_engine, make_read_engine
from models.ranges import to_ranges
from models.tables import (
    Chat,
    Checkin,
    ContentFingerprint,
    DailyActivity,
    MemberBadge,
    MemberProfile,
    Membership,
    PointsDaily,
    ProcessedUpdate,
    ShopOrder,
    UserAccount,
)
from models.tables import LedgerEntry as LedgerRow

chat_t = Chat.__table__
user_t = UserAccount.__table__
membership_t = Membership.__table__
checkin_t = Checkin.__table__
ledger_t = LedgerRow.__table__
activity_t = DailyActivity.__table__
processed_t = ProcessedUpdate.__table__
content_t = ContentFingerprint.__table__
profile_t = MemberProfile.__table__
daily_t = PointsDaily.__table__
badge_t = MemberBadge.__table__
order_t = ShopOrder.__table__

logger = logging.getLogger(__name__)


class IdCache:
    """Database ids of chats, users and memberships, shared by all units of work.

    Ids enter only after the transaction that created them commits, so a rolled-back
    insert never leaves a dangling id behind.
    """

    def __init__(self) -> None:
        self.chats: dict[ChatRef, int] = {}
        self.users: dict[UserRef, int] = {}
        self.members: dict[MemberRef, int] = {}

    def forget_user(self, user: UserRef) -> None:
        self.users.pop(user, None)
        for member in [member for member in self.members if member.user == user]:
            del self.members[member]

    def merge(self, other: IdCache) -> None:
        self.chats.update(other.chats)
        self.users.update(other.users)
        self.members.update(other.members)


class SqlStorage:
    """Entry point to storage: builds units of work over a write engine and an optional read engine."""

    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.ids = IdCache()
        self.insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # The chat's local day of a points movement (the app sets the community's rule).
        self.day_of: Callable[[MemberRef, datetime], date] = lambda member, at: at.astimezone(UTC).date()
        upsert = self.insert(daily_t)
        self.add_daily_points = upsert.on_conflict_do_update(
            index_elements=["membership_id", "local_date"],
            set_={"earned": daily_t.c.earned + upsert.excluded.earned, "updated_at": upsert.excluded.updated_at},
        )
        # Told about every committed points movement (leaderboards, tiers, badges); must not block.
        self.points_observers: list[Callable[[Sequence[PointsMoved]], None]] = []

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> SqlStorage:
        return cls(make_engine(url, echo=echo), make_read_engine(url, echo=echo))

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self, read_only=read_only)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


class SqlUnitOfWork:
    """One transaction on one connection; ``commit`` must be called, leaving rolls back."""

    def __init__(self, storage: SqlStorage, *, read_only: bool = False) -> None:
        self._storage = storage
        self._engine = storage.read_engine if read_only else storage.engine
        self._connection: AsyncConnection | None = None
        self._new_ids = IdCache()
        self.moved: list[PointsMoved] = []

    async def __aenter__(self) -> SqlUnitOfWork:
        self._connection = await self._engine.connect()
        await self._connection.begin()
        resolver = MemberResolver(self._connection, self._storage, self._new_ids)
        self.members = SqlMemberRepository(self._connection, resolver)
        self.checkins = SqlCheckinRepository(self._connection, resolver, self._storage)
        self.ledger = SqlLedgerRepository(self._connection, resolver, self._storage, self.moved)
        self.content = SqlContentRepository(self._connection, resolver, self._storage)
        self.privacy = SqlPrivacyRepository(self._connection)
        self.profiles = SqlProfileRepository(self._connection, resolver, self._storage)
        self.standings = SqlStandingsRepository(self._connection, resolver, self._storage)
        self.badges = SqlBadgeRepository(self._connection, resolver, self._storage)
        self.shop = SqlShopRepository(self._connection, resolver, self._storage)
        self.schedule = SqlScheduleRepository(self._connection, resolver, self._storage)
        self.faq = SqlFaqRepository(self._connection, resolver)
        self.moderation = SqlModerationRepository(self._connection, resolver, self._storage)
        return self

    async def commit(self) -> None:
        assert self._connection is not None
        await self._connection.commit()
        self._storage.ids.merge(self._new_ids)
        if self.moved:
            moved, self.moved = self.moved, []
            for observer in self._storage.points_observers:
                try:
                    observer(moved)
                except Exception:  # an observer's bug must not undo or hide a committed award
                    logger.exception("points observer %r failed", observer)

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        assert self._connection is not None
        try:
            if self._connection.in_transaction():
                await self._connection.rollback()
        finally:
            await self._connection.close()
        if is_transient(exc):
            raise StorageConflict() from exc


# PostgreSQL's deadlock_detected and serialization_failure: the transaction may simply be run again.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


@asynccontextmanager
async def _conflicts_are_transient() -> AsyncIterator[None]:
    try:
        yield
    except DBAPIError as exc:
        if is_transient(exc):
            raise StorageConflict() from exc
        raise


def is_transient(exc: BaseException | None) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return sqlstate in TRANSIENT_SQLSTATES


# Built once: constructing a statement per call costs more than running it on this hot path.
_MEMBERSHIPS = MEMBERSHIPS
_IN_CHAT = (chat_t.c.platform == bindparam("chat_platform"), chat_t.c.external_id == bindparam("chat_external_id"))
FIND_MEMBERSHIP = (
    select(membership_t.c.id)
    .select_from(_MEMBERSHIPS)
    .where(
        *_IN_CHAT,
        user_t.c.platform == bindparam("user_platform"),
        user_t.c.external_id == bindparam("user_external_id"),
    )
)
FIND_MEMBERSHIPS = select(membership_t.c.id, membership_t.c.chat_id, membership_t.c.user_id).where(
    membership_t.c.chat_id.in_(bindparam("chat_ids", expanding=True)),
    membership_t.c.user_id.in_(bindparam("user_ids", expanding=True)),
)
FIND_BY_USERNAME = (
    select(user_t.c.platform, user_t.c.external_id)
    .select_from(_MEMBERSHIPS)
    .where(*_IN_CHAT, user_t.c.username == bindparam("username"))
)


class MemberResolver:
    """Maps refs to row ids, creating chat, user and membership rows on first sight."""

    def __init__(self, connection: AsyncConnection, storage: SqlStorage, new_ids: IdCache) -> None:
        self._connection = connection
        self._storage = storage
        self._new = new_ids

    def known(self, member: MemberRef) -> int | None:
        return self._storage.ids.members.get(member) or self._new.members.get(member)

    async def find(self, member: MemberRef) -> int | None:
        """The membership id without creating anything."""
        known = self.known(member)
        if known is not None:
            return known
        params = {
            "chat_platform": member.chat.platform,
            "chat_external_id": member.chat.external_id,
            "user_platform": member.user.platform,
            "user_external_id": member.user.external_id,
        }
        return (await self._connection.execute(FIND_MEMBERSHIP, params)).scalar_one_or_none()

    async def find_many(self, members: Iterable[MemberRef]) -> dict[MemberRef, int]:
        """Membership ids of the members that exist, creating nothing (safe on a read-only unit of work)."""
        ids, missing = self._split_known(members)
        if missing:
            # Chats and users by their unique (platform, external id) index, then memberships by
            # (chat_id, user_id): row-value IN lists are not index-friendly on SQLite.
            chats = await _ids_of(self._connection, chat_t, list({m.chat for m in missing}))
            users = await _ids_of(self._connection, user_t, list({m.user for m in missing}))
            pairs = {(chats[m.chat], users[m.user]): m for m in missing if m.chat in chats and m.user in users}
            ids.update(await self._membership_ids(pairs))
        return ids

    def _split_known(self, members: Iterable[MemberRef]) -> tuple[dict[MemberRef, int], list[MemberRef]]:
        """({member: id} for the cached ones, the others), each member once."""
        ids: dict[MemberRef, int] = {}
        missing: list[MemberRef] = []
        for member in dict.fromkeys(members):
            known = self.known(member)
            if known is None:
                missing.append(member)
            else:
                ids[member] = known
        return ids, missing

    async def _membership_ids(self, pairs: dict[tuple[int, int], MemberRef]) -> dict[MemberRef, int]:
        """Ids of the memberships at (chat_id, user_id): two plain IN lists, then keep the wanted pairs."""
        if not pairs:
            return {}
        rows = await self._connection.execute(
            FIND_MEMBERSHIPS, {"chat_ids": sorted({c for c, _ in pairs}), "user_ids": sorted({u for _, u in pairs})}
        )
        return {pairs[(row.chat_id, row.user_id)]: row.id for row in rows if (row.chat_id, row.user_id) in pairs}

    async def ensure(self, members: Iterable[MemberRef]) -> dict[MemberRef, int]:
        """Membership ids for all ``members``, creating the missing rows."""
        ids, missing = self._split_known(members)
        if not missing:
            return ids
        chats = await self._ref_ids(chat_t, {m.chat for m in missing}, self._storage.ids.chats, self._new.chats)
        users = await self._ref_ids(user_t, {m.user for m in missing}, self._storage.ids.users, self._new.users)
        now = datetime.now(UTC)
        pairs = {(chats[m.chat], users[m.user]): m for m in missing}
        await self._connection.execute(
            self._storage.insert(membership_t).on_conflict_do_nothing(index_elements=["chat_id", "user_id"]),
            [{"chat_id": chat_id, "user_id": user_id, "joined_at": now} for chat_id, user_id in sorted(pairs)],
        )
        created = await self._membership_ids(pairs)
        self._new.members.update(created)
        ids.update(created)
        return ids

    async def chat_ids(self, chats: Iterable[ChatRef]) -> dict[ChatRef, int]:
        """Row ids of the chats, creating the missing rows."""
        return await self._ref_ids(chat_t, set(chats), self._storage.ids.chats, self._new.chats)

    async def chat_id(self, chat: ChatRef) -> int:
        """The row id of one chat, creating the row if missing."""
        [chat_id] = (await self.chat_ids([chat])).values()
        return chat_id

    async def user_ids(self, users: Iterable[UserRef]) -> dict[UserRef, int]:
        """Row ids of the users, creating the missing rows."""
        return await self._ref_ids(user_t, set(users), self._storage.ids.users, self._new.users)

    async def _ref_ids(self, table: Any, refs: set[Any], cache: dict[Any, int], new: dict[Any, int]) -> dict[Any, int]:
        ids = {ref: cache.get(ref) or new.get(ref) for ref in refs}
        missing = [ref for ref, known in ids.items() if known is None]
        if missing:
            await self._connection.execute(
                self._storage.insert(table).on_conflict_do_nothing(index_elements=["platform", "external_id"]),
                [{"platform": ref.platform, "external_id": ref.external_id} for ref in missing],
            )
            for ref, row_id in (await _ids_of(self._connection, table, missing)).items():
                ids[ref] = new[ref] = row_id
        return ids  # type: ignore[return-value]


async def _ids_of(connection: AsyncConnection, table: Any, refs: Sequence[Any]) -> dict[Any, int]:
    by_platform: dict[str, dict[str, Any]] = defaultdict(dict)
    for ref in refs:
        by_platform[ref.platform][ref.external_id] = ref
    ids: dict[Any, int] = {}
    for platform, wanted in by_platform.items():
        rows = await connection.execute(
            select(table.c.id, table.c.external_id).where(
                table.c.platform == platform, table.c.external_id.in_(bindparam("external_ids", expanding=True))
            ),
            {"external_ids": list(wanted)},
        )
        for row in rows:
            ids[wanted[row.external_id]] = row.id
    return ids


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


class SqlCheckinRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlStorage) -> None:
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


class SqlLedgerRepository:
    def __init__(
        self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlStorage, moved: list[PointsMoved]
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
    .select_from(ledger_t.join(_MEMBERSHIPS, membership_t.c.id == ledger_t.c.membership_id))
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
SEEN_SINCE = select(content_t.c.chat_id, content_t.c.fingerprint, content_t.c.last_seen_at).where(
    content_t.c.chat_id.in_(bindparam("chat_ids", expanding=True)),
    content_t.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
    content_t.c.last_seen_at >= bindparam("since"),
)


class SqlContentRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlStorage) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert

    async def seen_since(
        self, items: Sequence[tuple[ChatRef, str]], since: datetime
    ) -> dict[tuple[ChatRef, str], datetime]:
        if not items:
            return {}
        chat_ids = await self._resolver.chat_ids(chat for chat, _ in items)
        chats = {row_id: chat for chat, row_id in chat_ids.items()}
        rows = await self._connection.execute(
            SEEN_SINCE,
            {"chat_ids": sorted(chats), "fingerprints": sorted({fp for _, fp in items}), "since": since},
        )
        return {(chats[row.chat_id], row.fingerprint): utc(row.last_seen_at) for row in rows}  # type: ignore[misc]

    async def remember(self, items: Sequence[tuple[ChatRef, str, datetime]]) -> None:
        if not items:
            return
        chat_ids = await self._resolver.chat_ids(chat for chat, _, _ in items)
        latest: dict[tuple[int, str], datetime] = {}
        for chat, fingerprint, at in items:
            key = (chat_ids[chat], fingerprint)
            latest[key] = max(latest.get(key, at), at)
        stmt = self._insert(content_t)
        newer, current = stmt.excluded.last_seen_at, content_t.c.last_seen_at
        stmt = stmt.on_conflict_do_update(
            index_elements=["chat_id", "fingerprint"],
            set_={"last_seen_at": case((newer > current, newer), else_=current)},
        )
        await self._connection.execute(
            stmt,
            [
                {"chat_id": chat_id, "fingerprint": fingerprint, "last_seen_at": at}
                for (chat_id, fingerprint), at in sorted(latest.items())
            ],
        )


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
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlStorage) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert

    async def get(self, user: UserRef) -> Profile | None:
        user_id = await _user_id(self._connection, user)
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
        user_id = await _user_id(self._connection, user)
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


class SqlPrivacyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def export(self, user: UserRef) -> dict[str, Any] | None:
        user_id = await _user_id(self._connection, user)
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
        user_id = await _user_id(self._connection, user)
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


async def _user_id(connection: AsyncConnection, user: UserRef) -> int | None:
    found = select(user_t.c.id).where(user_t.c.platform == user.platform, user_t.c.external_id == user.external_id)
    return (await connection.execute(found)).scalar_one_or_none()


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class SqlActivityStore:
    """Lands the write-behind activity buffer: members, daily aggregates, processed update ids."""

    # last_active_at is kept to within this: a member chatting all day costs one membership write an hour.
    PRESENCE_PRECISION = timedelta(hours=1)

    def __init__(self, storage: SqlStorage, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
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
        async with _conflicts_are_transient(), self._storage.engine.begin() as connection:
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


class SqlChatPreferencesStore:
    def __init__(self, storage: SqlStorage) -> None:
        self._storage = storage

    async def load_all(self) -> dict[ChatRef, ChatPreferences]:
        async with self._storage.engine.connect() as connection:
            rows = await connection.execute(
                select(chat_t.c.platform, chat_t.c.external_id, chat_t.c.timezone, chat_t.c.language).where(
                    or_(chat_t.c.timezone.is_not(None), chat_t.c.language.is_not(None))
                )
            )
            return {
                ChatRef(row.platform, row.external_id): ChatPreferences(timezone=row.timezone, language=row.language)
                for row in rows
            }


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
