"""The activity flush: a bad field from Telegram lands cut to size, and stopping never crashes on a flush."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.testing.harness import BotHarness
from models.tables import DailyActivity, UserAccount
from tests.dispatcher.conftest import BOB, GROUP, settings_for

ODD = 303


async def test_a_language_code_longer_than_its_column_does_not_poison_the_flush(harness):
    # On PostgreSQL a 17-character language_code (the column holds 16) made every flush fail.
    harness.fake.add_user(ODD, "Odd" * 200, language_code="x-private-use-170")  # 17 characters
    await harness.say(GROUP, ODD, "hello")
    await harness.say(GROUP, BOB, "hi")
    await harness.app.buffer.flush()
    assert harness.app.buffer.pending == 0
    async with harness.app.storage.engine.connect() as connection:
        users = (await connection.execute(select(UserAccount.language, UserAccount.display_name))).all()
        days = (await connection.execute(select(DailyActivity.messages))).all()
    assert sorted(user.language for user in users) == ["en", "x-private-use-17"]
    assert max(len(user.display_name) for user in users) == 256
    assert len(days) == 2


async def test_stopping_with_the_database_gone_still_stops_cleanly(database_url, clock, caplog):
    harness = BotHarness(settings_for(database_url), clock=clock)
    harness.fake.add_chat(GROUP, "宝妈交流群")
    harness.fake.add_user(BOB, "Bob", language_code="en")
    await harness.__aenter__()
    await harness.say(GROUP, BOB, "hello")

    async def down(*args, **kwargs):
        raise ConnectionRefusedError("database unreachable")

    harness.app.activity_store.record = down  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        await harness.__aexit__(None, None, None)  # app.stop(): must not raise
    assert "final activity flush failed" in caplog.text
