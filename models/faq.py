"""SQL side of the FAQ: questions without a confident answer, kept for a limited time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from bot.core.ports import Gap
from models.common import utc
from models.tables import FaqQuestion

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.resolvers import MemberResolver

question_t = FaqQuestion.__table__


class SqlFaqRepository:
    def __init__(self, connection: AsyncConnection, resolver: MemberResolver) -> None:
        self._connection = connection
        self._resolver = resolver

    async def add_unanswered(self, gaps: Sequence[Gap], *, forget_before: datetime) -> None:
        chat_ids = await self._resolver.chat_ids({gap.chat for gap in gaps if gap.chat is not None})
        await self._connection.execute(delete(question_t).where(question_t.c.created_at < forget_before))
        await self._connection.execute(
            question_t.insert(),
            [
                {
                    "chat_id": chat_ids.get(gap.chat) if gap.chat is not None else None,
                    "language": gap.language,
                    "text": gap.text[:400],
                    "best_topic": gap.best_topic,
                    "score": gap.score,
                    "created_at": gap.at,
                }
                for gap in gaps
            ],
        )

    async def unanswered(self, since: datetime, limit: int) -> list[tuple[datetime, str, str | None, float]]:
        rows = await self._connection.execute(
            select(question_t.c.created_at, question_t.c.text, question_t.c.best_topic, question_t.c.score)
            .where(question_t.c.created_at >= since)
            .order_by(question_t.c.created_at.desc())
            .limit(limit)
        )
        return [(utc(row.created_at), row.text, row.best_topic, row.score) for row in rows]  # type: ignore[misc]
