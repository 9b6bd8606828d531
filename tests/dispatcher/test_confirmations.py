"""A confirmation that Telegram still refuses after the sender's retries, for something already stored,
is logged, never turned into an error reply or a redelivery."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMessage

from sqlalchemy import select

from bot.platforms.telegram.sender import Limits, Sender
from bot.testing.fake_bot_api import FakeTelegram
from models.tables import Checkin
from tests.dispatcher.conftest import ALICE, BOB, GROUP, settings_for


async def test_a_checkin_whose_confirmation_is_refused_is_kept_without_an_apology(database_url, clock, start_bot, caplog):
    # Telegram (stricter than we assume) allows one message a minute in the group and asks for 60 s;
    # the sender would wait at most 30: the second confirmation fails after the check-in committed.
    fake = FakeTelegram(clock=lambda: clock.now().timestamp(), enforce_limits=True, per_group_per_minute=1)
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(ALICE, "Alice", language_code="zh-hans")
    fake.add_user(BOB, "Bob", language_code="en")
    bot = await start_bot(settings_for(database_url), fake)
    bot.bot.session.middleware(Sender(Limits(retry_for=30)))
    await bot.say(GROUP, ALICE, "/checkin")
    with caplog.at_level(logging.WARNING):
        await bot.say(GROUP, BOB, "/checkin")  # does not raise: the update counts as handled
    assert len(bot.replies(GROUP)) == 1  # Alice's confirmation; nothing else, no apology
    assert fake.rejected_429 >= 1
    async with bot.app.storage.engine.connect() as connection:
        assert len((await connection.execute(select(Checkin.id))).all()) == 2
    assert "check-in in chat -1001 is stored, but its confirmation could not be sent" in caplog.text


class RefuseReplies(BaseRequestMiddleware):
    """Telegram refuses every message from now on (400: the bot may no longer write in the group)."""

    async def __call__(self, make_request: Any, bot: Any, method: Any) -> Any:
        if isinstance(method, SendMessage):
            raise TelegramBadRequest(method, "Bad Request: not enough rights to send text messages to the chat")
        return await make_request(bot, method)


async def test_a_checkin_whose_confirmation_is_refused_outright_is_kept_and_not_redelivered(database_url, clock, start_bot, caplog):
    fake = FakeTelegram(clock=lambda: clock.now().timestamp())
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(ALICE, "Alice", language_code="zh-hans")
    bot = await start_bot(settings_for(database_url), fake)
    bot.bot.session.middleware(RefuseReplies())
    with caplog.at_level(logging.WARNING):
        await bot.say(GROUP, ALICE, "/checkin")  # does not raise: the check-in happened, so the update is handled
    async with bot.app.storage.engine.connect() as connection:
        assert len((await connection.execute(select(Checkin.id))).all()) == 1
    assert "check-in in chat -1001 is stored, but its confirmation could not be sent: TelegramBadRequest" in caplog.text
