"""A member checks in through a real bot process; state survives a SIGTERM restart; redelivery pays once."""

import asyncio
import signal

from sqlalchemy import func, select

from models.tables import Checkin, LedgerEntry, Membership
from tests.e2e.conftest import START_TIMEOUT, BotProcess, query, start_polling_bot, write_config

GROUP = -100777
MAMA = 4242


async def test_checkin_survives_a_restart_and_a_redelivered_update_pays_once(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans")
    config = write_config(tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url)

    bot = await start_polling_bot(fake, config)
    try:
        first = fake.user_message(GROUP, MAMA, "/checkin")
        await fake.wait_for_message(GROUP, contains="打卡成功", timeout=10)
        fake.user_message(GROUP, MAMA, "/checkin")
        await fake.wait_for_message(GROUP, contains="今天已经打过卡啦", timeout=10)
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log()

    # Telegram redelivers an update whose offset was not confirmed; the restarted bot must skip it.
    bot = await start_polling_bot(fake, config)
    try:
        fake.inject(first)
        fake.user_message(GROUP, MAMA, "/me")
        [profile] = await fake.wait_for_message(GROUP, contains="的档案", timeout=10)
        assert "积分：10" in profile["text"] and "连续打卡：1 天" in profile["text"]
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()

    texts = [m.get("text", "") for m in fake.sent_messages(GROUP)]
    assert sum("打卡成功" in text for text in texts) == 1, texts
    assert await query(database_url, select(func.count()).select_from(Checkin)) == 1
    assert await query(database_url, select(func.sum(LedgerEntry.delta))) == 10
    assert await query(database_url, select(Membership.balance)) == 10


async def test_sigterm_finishes_in_flight_work_and_flushes_activity(fake_server, database_url, tmp_path):
    from models.tables import DailyActivity

    fake, server = fake_server
    config = write_config(tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url)
    bot = await start_polling_bot(fake, config)
    try:
        for index in range(20):
            fake.user_message(GROUP, MAMA, f"聊天 {index}")
        fake.user_message(GROUP, MAMA, "/checkin")
        await fake.wait_for_message(GROUP, contains="打卡成功", timeout=10)
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert await query(database_url, select(func.sum(DailyActivity.messages))) == 21


async def test_bot_with_privacy_mode_on_warns_the_admin_chat(database_url, tmp_path):
    from bot.testing.fake_bot_api import FakeTelegram
    from bot.testing.fake_bot_api_server import FakeBotAPIServer

    fake = FakeTelegram(can_read_all_group_messages=False)
    fake.add_chat(-100999, "Admins")
    async with FakeBotAPIServer(fake) as server:
        config = write_config(
            tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url
        )
        config.write_text(config.read_text() + "admin_chat_id = -100999\n", encoding="utf-8")
        bot = await start_polling_bot(fake, config)
        try:
            [warning] = await fake.wait_for_message(-100999, contains="隐私模式", timeout=10)
            assert "/setprivacy" in warning["text"]
            menus = fake.commands({"type": "all_group_chats"}, "zh")
            assert [c["command"] for c in menus] == ["checkin", "points", "me", "top", "shop", "ask", "rules", "report", "help"]
        finally:
            await bot.stop()


async def test_a_wrong_token_stops_with_one_clear_sentence(fake_server, database_url, tmp_path):
    fake, server = fake_server
    config = write_config(tmp_path / "config.toml", token="1:wrong", api_base=server.base_url, database_url=database_url)
    bot = BotProcess(config)
    await bot.start()
    assert bot.process is not None
    out, _ = await asyncio.wait_for(bot.process.communicate(), START_TIMEOUT)
    assert bot.process.returncode == 2
    assert "Telegram rejected the bot token" in out.decode()
    assert "Traceback" not in out.decode()

