"""The whole bot (app, Dispatcher, services, storage) talking to an in-process FakeTelegram.

Used by Dispatcher-level tests and the ingress benchmark: updates go through exactly the
pipeline production uses; only the network is replaced.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.types import Update

from bot.app import build_app, build_dispatcher
from bot.config import Settings
from bot.core.ports import Clock
from bot.platforms.telegram.runner import attach
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.session import FakeSession


class BotHarness:
    def __init__(self, settings: Settings, *, fake: FakeTelegram | None = None, clock: Clock | None = None) -> None:
        self.fake = fake or FakeTelegram()
        self.app = build_app(settings, clock=clock)
        self.dispatcher = build_dispatcher(self.app)
        self.bot = Bot(self.fake.token, session=FakeSession(self.fake))
        attach(self.bot, self.app)
        self.app.background_achievements = False  # deterministic: tests call settle()
        self.app.background_content = False  # and posts.tick() at the times they set

    async def __aenter__(self) -> BotHarness:
        await self.app.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.stop()

    async def feed(self, update: dict[str, Any]) -> None:
        await self.dispatcher.feed_update(self.bot, Update.model_validate(update, context={"bot": self.bot}))

    async def say(self, chat_id: int, user_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        """A user writes ``text`` in a chat; returns the update after the bot handled it."""
        update = self.fake.user_message(chat_id, user_id, text, **kwargs)
        await self.feed(update)
        return update

    async def settle(self) -> None:
        """Let background work (activity flush, promotions, badges) finish."""
        await self.app.settle()

    def replies(self, chat_id: int) -> list[str]:
        return [message.get("text", "") for message in self.fake.sent_messages(chat_id)]
