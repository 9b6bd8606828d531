"""``FakeTelegram``: the method groups combined, and its lifecycle (webhook delivery, shutdown)."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.testing.fake_bot_api.commands import CommandsMixin
from bot.testing.fake_bot_api.dispatch import DispatchMixin
from bot.testing.fake_bot_api.files import FilesMixin
from bot.testing.fake_bot_api.inspection import InspectionMixin
from bot.testing.fake_bot_api.members import MembersMixin
from bot.testing.fake_bot_api.messages import MessagesMixin
from bot.testing.fake_bot_api.polls import PollsMixin
from bot.testing.fake_bot_api.scenario import ScenarioMixin
from bot.testing.fake_bot_api.updates import UpdatesMixin


class FakeTelegram(
    ScenarioMixin,
    InspectionMixin,
    DispatchMixin,
    UpdatesMixin,
    MessagesMixin,
    PollsMixin,
    FilesMixin,
    MembersMixin,
    CommandsMixin,
):
    """In-memory Telegram Bot API: state, method handlers, update queue, recorder."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start webhook delivery (no-op when already running)."""
        self._closing = False
        if self._delivery is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            self._delivery = asyncio.create_task(self._deliver_webhooks(), name="fake-telegram-webhook")

    async def close(self) -> None:
        """Stop webhook delivery, end pending long polls and release the HTTP client."""
        self._closing = True  # lets a server shut down without waiting out getUpdates timeouts
        self._signal.fire()
        if self._delivery is not None:
            self._delivery.cancel()
            try:
                await self._delivery
            except asyncio.CancelledError:
                pass
            self._delivery = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
