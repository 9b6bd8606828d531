"""The last stop for button presses: data no handler took (forged, malformed, from an older version)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery

logger = logging.getLogger(__name__)


def make_router() -> Router:
    router = Router(name="buttons")

    @router.callback_query()
    async def on_unknown_click(query: CallbackQuery) -> None:
        """Answered without a word (otherwise the button spins), and nothing is looked up."""
        logger.info("unhandled button data from user %s (%d bytes)", query.from_user.id, len((query.data or "").encode()))
        await query.answer()

    return router
