"""SQL side of scheduled content: fire records (exactly once), pauses, bank rotation, polls and votes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, func, select, update

from bot.core.ports import RETRY, FireClaim, FireKey, PollRecord
from bot.domain import ChatRef, MemberRef, Profile, UserInfo, UserRef
from models.common import MEMBER_COLUMNS, MEMBERSHIPS, as_date, chat_t, member_of, membership_t, user_t, utc
from models.tables import Checkin, ContentUse, MemberProfile, PollVote, ScheduledPoll, ScheduleFire, SchedulePause

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver
    from models.unit_of_work import SqlDatabase

fire_t = ScheduleFire.__table__
pause_t = SchedulePause.__table__
use_t = ContentUse.__table__
poll_t = ScheduledPoll.__table__
vote_t = PollVote.__table__
checkin_t = Checkin.__table__
profile_t = MemberProfile.__table__

GROUP_KINDS = ("group", "supergroup")
_PRESENT = membership_t.c.left_at.is_(None)


def _poll(row: Any) -> PollRecord:
    return PollRecord(
        id=row.id,
        chat=ChatRef(row.platform, row.chat_external_id),
        entry_id=row.entry_id,
        external_id=row.external_id,
        message_id=row.message_id,
        kind=row.kind,
        question=row.question,
        options=tuple(json.loads(row.options)),
        correct=row.correct_option,
        closes_at=utc(row.closes_at),  # type: ignore[arg-type]
        closed_at=utc(row.closed_at),
    )


_POLL_COLUMNS = (*poll_t.c, chat_t.c.platform, chat_t.c.external_id.label("chat_external_id"))
_POLLS = poll_t.join(chat_t, chat_t.c.id == poll_t.c.chat_id)


class SqlScheduleRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert

    async def groups(self) -> list[ChatRef]:
        rows = await self._connection.execute(
            select(chat_t.c.platform, chat_t.c.external_id)
            .where(chat_t.c.active.is_(True), chat_t.c.kind.in_(GROUP_KINDS))
            .order_by(chat_t.c.id)
        )
        return [ChatRef(row.platform, row.external_id) for row in rows]

    async def set_active(self, chat: ChatRef, active: bool) -> None:
        await self._connection.execute(
            update(chat_t).where(chat_t.c.platform == chat.platform, chat_t.c.external_id == chat.external_id).values(active=active)
        )

    async def fired_since(self, since: datetime) -> set[FireKey]:
        rows = await self._connection.execute(
            select(fire_t.c.entry_id, fire_t.c.scheduled_at, chat_t.c.platform, chat_t.c.external_id)
            .join(chat_t, chat_t.c.id == fire_t.c.chat_id)
            # A fire that failed for a passing reason is not done: a restarted bot tries it again.
            .where(fire_t.c.scheduled_at >= since, fire_t.c.status != RETRY)
        )
        return {(row.entry_id, ChatRef(row.platform, row.external_id), utc(row.scheduled_at)) for row in rows}  # type: ignore[misc]

    async def claim(self, claims: Sequence[FireClaim], at: datetime) -> dict[FireKey, int]:
        if not claims:
            return {}
        chat_ids = await self._resolver.chat_ids({claim.chat for claim in claims})
        refs = {chat_id: chat for chat, chat_id in chat_ids.items()}
        statement = (
            self._insert(fire_t)
            .on_conflict_do_nothing(index_elements=["entry_id", "chat_id", "scheduled_at"])
            .returning(fire_t.c.id, fire_t.c.entry_id, fire_t.c.chat_id, fire_t.c.scheduled_at)
        )
        # One executemany: SQLAlchemy batches it into multi-row inserts and gathers what each returned.
        rows = await self._connection.execute(
            statement,
            [
                {
                    "entry_id": claim.entry_id,
                    "chat_id": chat_ids[claim.chat],
                    "scheduled_at": claim.scheduled_at,
                    "status": claim.status,
                    "created_at": at,
                }
                for claim in claims
            ],
        )
        claimed = {(row.entry_id, refs[row.chat_id], utc(row.scheduled_at)): row.id for row in rows}  # type: ignore[misc]
        if len(claimed) < len(claims):
            missing = [claim for claim in claims if (claim.entry_id, claim.chat, claim.scheduled_at) not in claimed]
            claimed.update(await self._reclaim(missing, chat_ids, refs, at))
        return claimed

    async def _reclaim(
        self, claims: Sequence[FireClaim], chat_ids: dict[ChatRef, int], refs: dict[int, ChatRef], at: datetime
    ) -> dict[FireKey, int]:
        """Fires recorded before that failed for a passing reason (status retry) are claimed again, once:
        the UPDATE only matches while the status is still retry, so one instance wins each."""
        wanted = {(claim.entry_id, chat_ids[claim.chat], claim.scheduled_at): claim.status for claim in claims}
        earliest = min(claim.scheduled_at for claim in claims)
        rows = await self._connection.execute(
            select(fire_t.c.id, fire_t.c.entry_id, fire_t.c.chat_id, fire_t.c.scheduled_at).where(
                fire_t.c.status == RETRY,
                fire_t.c.scheduled_at >= earliest,
                fire_t.c.entry_id.in_({claim.entry_id for claim in claims}),
            )
        )
        reclaimed: dict[FireKey, int] = {}
        for row in rows.all():
            status = wanted.get((row.entry_id, row.chat_id, utc(row.scheduled_at)))
            if status is None:
                continue
            changed = await self._connection.execute(
                update(fire_t).where(fire_t.c.id == row.id, fire_t.c.status == RETRY).values(status=status, updated_at=at)
            )
            if changed.rowcount == 1:
                reclaimed[(row.entry_id, refs[row.chat_id], utc(row.scheduled_at))] = row.id  # type: ignore[index]
        return reclaimed

    async def finish(self, outcomes: Sequence[tuple[int, str, str | None]], at: datetime) -> None:
        if outcomes:
            await self._connection.execute(
                update(fire_t)
                .where(fire_t.c.id == bindparam("fire_id"))
                .values(status=bindparam("new_status"), message_id=bindparam("new_message_id"), updated_at=at),
                [{"fire_id": fire_id, "new_status": status, "new_message_id": message_id} for fire_id, status, message_id in outcomes],
            )

    async def expire_retries(self, before: datetime, at: datetime) -> int:
        result = await self._connection.execute(
            update(fire_t).where(fire_t.c.status == RETRY, fire_t.c.scheduled_at < before).values(status="missed", updated_at=at)
        )
        return result.rowcount

    async def paused(self) -> set[str]:
        return set((await self._connection.execute(select(pause_t.c.entry_id))).scalars())

    async def set_paused(self, entry_id: str, paused: bool, by: str, at: datetime) -> bool:
        if paused:
            statement = self._insert(pause_t).values(entry_id=entry_id, paused_by=by, paused_at=at)
            result = await self._connection.execute(statement.on_conflict_do_nothing(index_elements=["entry_id"]))
        else:
            result = await self._connection.execute(delete(pause_t).where(pause_t.c.entry_id == entry_id))
        return bool(result.rowcount)

    async def used_items(self, chats: Sequence[ChatRef], bank: str) -> dict[ChatRef, set[str]]:
        chat_ids = await self._resolver.chat_ids(chats)
        refs = {chat_id: chat for chat, chat_id in chat_ids.items()}
        used: dict[ChatRef, set[str]] = {chat: set() for chat in chats}
        rows = await self._connection.execute(
            select(use_t.c.chat_id, use_t.c.item_id).where(use_t.c.bank == bank, use_t.c.chat_id.in_(list(refs)))
        )
        for row in rows:
            used[refs[row.chat_id]].add(row.item_id)
        return used

    async def use_items(self, bank: str, uses: Sequence[tuple[ChatRef, str, bool]], at: datetime) -> None:
        if not uses:
            return
        chat_ids = await self._resolver.chat_ids({chat for chat, _, _ in uses})
        restarted = [chat_ids[chat] for chat, _, new_round in uses if new_round]
        if restarted:
            await self._connection.execute(delete(use_t).where(use_t.c.bank == bank, use_t.c.chat_id.in_(restarted)))
        await self._connection.execute(
            self._insert(use_t).on_conflict_do_nothing(index_elements=["chat_id", "bank", "item_id"]),
            [{"chat_id": chat_ids[chat], "bank": bank, "item_id": item_id, "used_at": at} for chat, item_id, _ in uses],
        )

    async def add_poll(self, fire_id: int | None, poll: PollRecord, at: datetime) -> int:
        chat_id = await self._resolver.chat_id(poll.chat)
        result = await self._connection.execute(
            poll_t.insert()
            .values(
                fire_id=fire_id,
                chat_id=chat_id,
                entry_id=poll.entry_id,
                external_id=poll.external_id,
                message_id=poll.message_id,
                kind=poll.kind,
                question=poll.question[:400],
                options=json.dumps(list(poll.options), ensure_ascii=False),
                correct_option=poll.correct,
                closes_at=poll.closes_at,
                created_at=at,
            )
            .returning(poll_t.c.id)
        )
        return int(result.scalar_one())

    async def poll(self, external_id: str) -> PollRecord | None:
        row = (await self._connection.execute(select(*_POLL_COLUMNS).select_from(_POLLS).where(poll_t.c.external_id == external_id))).first()
        return _poll(row) if row else None

    async def add_vote(self, poll_id: int, user: UserRef, options: Sequence[int], at: datetime) -> bool:
        [user_id] = (await self._resolver.user_ids([user])).values()
        statement = self._insert(vote_t).values(
            poll_id=poll_id, user_id=user_id, options=",".join(str(option) for option in options), answered_at=at
        )
        result = await self._connection.execute(statement.on_conflict_do_nothing(index_elements=["poll_id", "user_id"]))
        return bool(result.rowcount)

    async def votes(self, poll_id: int) -> list[tuple[int, ...]]:
        rows = await self._connection.execute(select(vote_t.c.options).where(vote_t.c.poll_id == poll_id))
        return [tuple(int(option) for option in text.split(",") if option) for text in rows.scalars()]

    async def due_polls(self, now: datetime) -> list[PollRecord]:
        rows = await self._connection.execute(
            select(*_POLL_COLUMNS).select_from(_POLLS).where(poll_t.c.closed_at.is_(None), poll_t.c.closes_at <= now)
        )
        return [_poll(row) for row in rows]

    async def close_poll(self, poll_id: int, at: datetime) -> bool:
        result = await self._connection.execute(
            update(poll_t).where(poll_t.c.id == poll_id, poll_t.c.closed_at.is_(None)).values(closed_at=at)
        )
        return result.rowcount == 1

    async def checkin_counts(self, chat: ChatRef, first_day: date, last_day: date) -> dict[MemberRef, int]:
        chat_id = await self._resolver.chat_id(chat)
        rows = await self._connection.execute(
            select(func.count().label("checkins"), *MEMBER_COLUMNS)
            .select_from(checkin_t.join(MEMBERSHIPS, membership_t.c.id == checkin_t.c.membership_id))
            .where(
                membership_t.c.chat_id == chat_id,
                _PRESENT,
                checkin_t.c.local_date >= first_day,
                checkin_t.c.local_date <= last_day,
            )
            .group_by(*MEMBER_COLUMNS)
        )
        return {member_of(row): row.checkins for row in rows}

    async def profiles(self, chat: ChatRef) -> list[tuple[MemberRef, Profile, UserInfo]]:
        chat_id = await self._resolver.chat_id(chat)
        rows = await self._connection.execute(
            select(
                profile_t.c.trying_to_conceive,
                profile_t.c.due_date,
                profile_t.c.birth_date,
                profile_t.c.language,
                profile_t.c.milestones,
                user_t.c.display_name,
                user_t.c.username,
                user_t.c.language.label("platform_language"),
                *MEMBER_COLUMNS,
            )
            .select_from(MEMBERSHIPS.join(profile_t, profile_t.c.user_id == membership_t.c.user_id))
            .where(and_(membership_t.c.chat_id == chat_id, _PRESENT))
            .order_by(membership_t.c.id)
        )
        return [
            (
                member_of(row),
                Profile(
                    row.trying_to_conceive, as_date(row.due_date), as_date(row.birth_date), row.language, None, row.milestones
                ),
                UserInfo(row.display_name, row.platform_language or None, row.username or None),
            )
            for row in rows
        ]
