"""SQL side of moderation: the action log, joins and captchas, reports, and the inactive-member clean-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, or_, select, update

from bot.core.ports import ActionRecord, InactiveMember, JoinRecord, NewAction, ReportOutcome
from bot.domain import ChatRef, MemberRef, UserInfo, UserRef
from models.common import MEMBER_COLUMNS, MEMBERSHIPS, as_date, as_datetime, chat_t, member_of, membership_t, user_t, utc
from models.tables import Checkin, CleanupNotice, MemberJoin, ModerationAction, Report, ReportedMessage

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver
    from models.unit_of_work import SqlDatabase

action_t = ModerationAction.__table__
join_t = MemberJoin.__table__
report_t = Report.__table__
reported_t = ReportedMessage.__table__
notice_t = CleanupNotice.__table__
checkin_t = Checkin.__table__

_ACTIONS = action_t.join(chat_t, chat_t.c.id == action_t.c.chat_id)
_JOINS = join_t.join(chat_t, chat_t.c.id == join_t.c.chat_id)


def _user(platform: str, external_id: str | None) -> UserRef | None:
    return UserRef(platform, external_id) if external_id is not None else None


def _action(row: Any) -> ActionRecord:
    return ActionRecord(
        id=row.id,
        chat=ChatRef(row.platform, row.external_id),
        target=UserRef(row.platform, row.target_id),
        target_name=row.target_name,
        actor=_user(row.platform, row.actor_id),
        kind=row.kind,
        reason=row.reason,
        at=utc(row.created_at),  # type: ignore[arg-type]
        filter=row.filter,
        source_message_id=row.source_message_id,
        until=utc(row.until_at),
        outcome=row.outcome,
        undone_at=utc(row.undone_at),
        undone_by=_user(row.platform, row.undone_by),
        log_message_id=row.log_message_id,
    )


def _join(row: Any) -> JoinRecord:
    return JoinRecord(
        chat=ChatRef(row.platform, row.external_id),
        user=UserRef(row.platform, row.user_id),
        name=row.name,
        joined_at=utc(row.joined_at),  # type: ignore[arg-type]
        status=row.status,
        join_message_id=row.join_message_id,
        welcome_message_id=row.welcome_message_id,
        question=row.question,
        answer=row.answer,
        attempts=row.attempts,
        deadline=utc(row.deadline_at),
    )


_ACTION_COLUMNS = (*action_t.c, chat_t.c.platform, chat_t.c.external_id)
_JOIN_COLUMNS = (*join_t.c, chat_t.c.platform, chat_t.c.external_id)


class SqlModerationRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase) -> None:
        self._connection = connection
        self._resolver = resolver
        self._insert = storage.insert

    # ------------------------------------------------------------ actions

    async def add(self, action: NewAction) -> int | None:
        # ON CONFLICT on (chat, source_key, kind): the second delivery of an update inserts nothing (NULL keys never conflict).
        statement = self._insert(action_t).on_conflict_do_nothing(index_elements=["chat_id", "source_key", "kind"])
        result = await self._connection.execute(
            statement.returning(action_t.c.id),
            {
                "chat_id": await self._resolver.chat_id(action.chat),
                "target_id": action.target.external_id,
                "target_name": action.target_name[:256],
                "actor_id": action.actor.external_id if action.actor else None,
                "kind": action.kind,
                "reason": action.reason[:400],
                "filter": action.filter,
                "source_message_id": action.source_message_id,
                "until_at": action.until,
                "outcome": action.outcome,
                "created_at": action.at,
                "source_key": action.source_key,
            },
        )
        action_id = result.scalar_one_or_none()
        return int(action_id) if action_id is not None else None

    async def by_source(self, chat: ChatRef, source_key: str, kind: str) -> ActionRecord | None:
        row = (
            await self._connection.execute(
                select(*_ACTION_COLUMNS)
                .select_from(_ACTIONS)
                .where(
                    chat_t.c.platform == chat.platform,
                    chat_t.c.external_id == chat.external_id,
                    action_t.c.source_key == source_key,
                    action_t.c.kind == kind,
                )
            )
        ).first()
        return _action(row) if row is not None else None

    async def set_outcome(self, action_id: int, outcome: str) -> None:
        await self._connection.execute(update(action_t).where(action_t.c.id == action_id).values(outcome=outcome))

    async def remove(self, action_id: int) -> None:
        await self._connection.execute(delete(action_t).where(action_t.c.id == action_id))

    async def get(self, action_id: int) -> ActionRecord | None:
        row = (await self._connection.execute(select(*_ACTION_COLUMNS).select_from(_ACTIONS).where(action_t.c.id == action_id))).first()
        return _action(row) if row is not None else None

    async def active_warnings(self, chat: ChatRef, target: UserRef, now: datetime) -> list[ActionRecord]:
        rows = await self._connection.execute(
            select(*_ACTION_COLUMNS)
            .select_from(_ACTIONS)
            .where(
                chat_t.c.platform == chat.platform,
                chat_t.c.external_id == chat.external_id,
                action_t.c.target_id == target.external_id,
                action_t.c.kind == "warn",
                action_t.c.undone_at.is_(None),
                action_t.c.until_at > now,
            )
            .order_by(action_t.c.id)
        )
        return [_action(row) for row in rows]

    async def mark_undone(self, action_id: int, by: UserRef | None, at: datetime) -> bool:
        result = await self._connection.execute(
            update(action_t)
            .where(action_t.c.id == action_id, action_t.c.undone_at.is_(None))
            .values(undone_at=at, undone_by=by.external_id if by else None)
        )
        return result.rowcount == 1

    async def set_log_message(self, action_id: int, message_id: str) -> None:
        await self._connection.execute(update(action_t).where(action_t.c.id == action_id).values(log_message_id=message_id))

    # ------------------------------------------------------------ joins and captchas

    async def save_join(self, join: JoinRecord) -> None:
        values = {
            "chat_id": await self._resolver.chat_id(join.chat),
            "user_id": join.user.external_id,
            "name": join.name[:256],
            "joined_at": join.joined_at,
            "status": join.status,
            "join_message_id": join.join_message_id,
            "welcome_message_id": join.welcome_message_id,
            "question": join.question,
            "answer": join.answer,
            "attempts": join.attempts,
            "deadline_at": join.deadline,
        }
        insert = self._insert(join_t)
        keys = ("chat_id", "user_id")
        await self._connection.execute(
            insert.on_conflict_do_update(index_elements=list(keys), set_={k: v for k, v in values.items() if k not in keys}),
            values,
        )

    async def join(self, chat: ChatRef, user: UserRef) -> JoinRecord | None:
        row = (
            await self._connection.execute(
                select(*_JOIN_COLUMNS)
                .select_from(_JOINS)
                .where(chat_t.c.platform == chat.platform, chat_t.c.external_id == chat.external_id, join_t.c.user_id == user.external_id)
            )
        ).first()
        return _join(row) if row is not None else None

    async def settle_join(self, chat: ChatRef, user: UserRef, status: str) -> bool:
        result = await self._connection.execute(
            update(join_t)
            .where(join_t.c.chat_id == await self._resolver.chat_id(chat), join_t.c.user_id == user.external_id, join_t.c.status == "verifying")
            .values(status=status, deadline_at=None)
        )
        return result.rowcount == 1

    async def add_attempt(self, chat: ChatRef, user: UserRef) -> int:
        chat_id = await self._resolver.chat_id(chat)
        where = (join_t.c.chat_id == chat_id, join_t.c.user_id == user.external_id)
        await self._connection.execute(update(join_t).where(*where).values(attempts=join_t.c.attempts + 1))
        return int((await self._connection.execute(select(join_t.c.attempts).where(*where))).scalar_one_or_none() or 0)

    async def due_captchas(self, now: datetime) -> list[JoinRecord]:
        rows = await self._connection.execute(
            select(*_JOIN_COLUMNS).select_from(_JOINS).where(join_t.c.status == "verifying", join_t.c.deadline_at <= now)
        )
        return [_join(row) for row in rows]

    async def joins_since(self, since: datetime) -> list[JoinRecord]:
        rows = await self._connection.execute(select(*_JOIN_COLUMNS).select_from(_JOINS).where(join_t.c.joined_at >= since))
        return [_join(row) for row in rows]

    # ------------------------------------------------------------ reports

    async def add_report(
        self, chat: ChatRef, message_id: str, target: UserRef | None, reporter: UserRef, reason: str, at: datetime
    ) -> ReportOutcome:
        chat_id = await self._resolver.chat_id(chat)
        await self._connection.execute(
            self._insert(reported_t).on_conflict_do_nothing(index_elements=["chat_id", "message_id"]),
            {"chat_id": chat_id, "message_id": message_id, "target_id": target.external_id if target else None, "created_at": at},
        )
        added = await self._connection.execute(
            self._insert(report_t).on_conflict_do_nothing(index_elements=["chat_id", "message_id", "reporter_id"]),
            {"chat_id": chat_id, "message_id": message_id, "reporter_id": reporter.external_id, "reason": reason[:400], "created_at": at},
        )
        where = (report_t.c.chat_id == chat_id, report_t.c.message_id == message_id)
        count = (await self._connection.execute(select(func.count()).select_from(report_t).where(*where))).scalar_one()
        alert = (
            await self._connection.execute(
                select(reported_t.c.alert_message_id).where(reported_t.c.chat_id == chat_id, reported_t.c.message_id == message_id)
            )
        ).scalar_one_or_none()
        return ReportOutcome(new=added.rowcount == 1, reports=int(count), alert_message_id=alert)

    async def set_report_alert(self, chat: ChatRef, message_id: str, alert_message_id: str) -> None:
        await self._connection.execute(
            update(reported_t)
            .where(reported_t.c.chat_id == await self._resolver.chat_id(chat), reported_t.c.message_id == message_id)
            .values(alert_message_id=alert_message_id)
        )

    # ------------------------------------------------------------ inactive members

    async def inactive(self, chat: ChatRef | None, idle_since: datetime, checkin_since: date) -> list[InactiveMember]:
        last_checkin = (
            select(func.max(checkin_t.c.local_date))
            .where(checkin_t.c.membership_id == membership_t.c.id)
            .correlate(membership_t)
            .scalar_subquery()
        )
        last_seen = func.coalesce(membership_t.c.last_active_at, membership_t.c.joined_at)
        query = (
            select(
                *MEMBER_COLUMNS,
                user_t.c.display_name,
                user_t.c.username,
                user_t.c.language,
                last_seen.label("last_seen"),
                last_checkin.label("last_checkin"),
                notice_t.c.noticed_at,
            )
            .select_from(
                MEMBERSHIPS.outerjoin(
                    notice_t,
                    and_(
                        notice_t.c.chat_id == membership_t.c.chat_id,
                        notice_t.c.user_id == user_t.c.external_id,
                        notice_t.c.removed_at.is_(None),
                    ),
                )
            )
            .where(
                membership_t.c.left_at.is_(None),
                chat_t.c.kind.in_(("group", "supergroup")),
                or_(last_seen.is_(None), last_seen < idle_since),
                or_(last_checkin.is_(None), last_checkin < checkin_since),
            )
            .order_by(chat_t.c.id, last_seen)
        )
        if chat is not None:
            query = query.where(chat_t.c.platform == chat.platform, chat_t.c.external_id == chat.external_id)
        return [
            InactiveMember(
                member=member_of(row),
                info=UserInfo(row.display_name, row.language or None, row.username or None),
                last_seen=as_datetime(row.last_seen),
                last_checkin=as_date(row.last_checkin),
                noticed_at=utc(row.noticed_at),
            )
            for row in await self._connection.execute(query)
        ]

    async def notice(self, members: Sequence[MemberRef], at: datetime) -> None:
        if not members:
            return
        chat_ids = await self._resolver.chat_ids({member.chat for member in members})
        rows = [{"chat_id": chat_ids[m.chat], "user_id": m.user.external_id, "noticed_at": at, "removed_at": None} for m in members]
        insert = self._insert(notice_t)
        await self._connection.execute(
            insert.on_conflict_do_update(
                index_elements=["chat_id", "user_id"], set_={"noticed_at": insert.excluded.noticed_at, "removed_at": None}
            ),
            rows,
        )

    async def mark_removed(self, member: MemberRef, at: datetime) -> None:
        await self._connection.execute(
            update(notice_t)
            .where(notice_t.c.chat_id == await self._resolver.chat_id(member.chat), notice_t.c.user_id == member.user.external_id)
            .values(removed_at=at)
        )
