"""SQL side of content fingerprints: when a chat last saw a piece of content."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, case, select

from bot.domain import ChatRef
from models.common import utc
from models.tables import ContentFingerprint

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver
    from models.unit_of_work import SqlDatabase

content_t = ContentFingerprint.__table__

SEEN_SINCE = select(content_t.c.chat_id, content_t.c.fingerprint, content_t.c.last_seen_at).where(
    content_t.c.chat_id.in_(bindparam("chat_ids", expanding=True)),
    content_t.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
    content_t.c.last_seen_at >= bindparam("since"),
)


class SqlContentRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver, storage: SqlDatabase) -> None:
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
