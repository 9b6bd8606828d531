"""Chat preferences (timezone, language), loaded once at start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from bot.core.ports import ChatPreferences
from bot.domain import ChatRef
from models.common import chat_t

if TYPE_CHECKING:
    from models.unit_of_work import SqlDatabase


class SqlChatPreferencesStore:
    def __init__(self, storage: SqlDatabase) -> None:
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
