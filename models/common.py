"""Small pieces the SQL repositories share: the membership join, ref rows and SQLite's type quirks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.domain import ChatRef, MemberRef, UserRef
from models.tables import Chat, Membership, UserAccount

chat_t = Chat.__table__
user_t = UserAccount.__table__
membership_t = Membership.__table__

MEMBERSHIPS = membership_t.join(chat_t, chat_t.c.id == membership_t.c.chat_id).join(
    user_t, user_t.c.id == membership_t.c.user_id
)
# Columns naming a member, to select beside anything joined to MEMBERSHIPS.
MEMBER_COLUMNS = (
    chat_t.c.platform.label("chat_platform"),
    chat_t.c.external_id.label("chat_external_id"),
    user_t.c.platform.label("user_platform"),
    user_t.c.external_id.label("user_external_id"),
)


def member_of(row: Any) -> MemberRef:
    return MemberRef(ChatRef(row.chat_platform, row.chat_external_id), UserRef(row.user_platform, row.user_external_id))


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def as_date(value: date | str | None) -> date | None:
    # A scalar subquery or aggregate loses the column type on SQLite, which then returns the ISO string.
    return date.fromisoformat(value) if isinstance(value, str) else value


def as_datetime(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return utc(value)
