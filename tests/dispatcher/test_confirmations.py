"""A confirmation that Telegram still refuses after the sender's retries, for something already stored,
is logged, never turned into an error reply or a redelivery."""

from __future__ import annotations

import logging

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
