"""A start that cannot connect (a wrong token) uses up nothing: the post due meanwhile goes out when the
bot is started correctly, inside the grace period (it used to be claimed, marked failed and lost)."""

import asyncio
import signal
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from models.tables import ScheduleFire
from tests.e2e.conftest import BotProcess, query, start_polling_bot, write_config
from tests.e2e.test_engagement import GROUP, MAMA, ask

SHANGHAI = ZoneInfo("Asia/Shanghai")


def schedule(due: datetime) -> str:
    return f"""
quiet_hours = ""
[[entry]]
id = "hello"
kind = "announcement"
at = {due.strftime("%Y-%m-%dT%H:%M:00")}
text = {{ zh-CN = "早安，妈妈们", en = "Good morning" }}
"""


async def test_a_failed_start_claims_nothing_and_the_next_start_posts(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans")
    extra = f'[schedule]\nfile = "{tmp_path / "schedule.toml"}"\n'

    def config(token: str):
        return write_config(tmp_path / "config.toml", token=token, api_base=server.base_url, database_url=database_url, extra=extra)

    # First the bot learns its group from traffic (nothing scheduled yet).
    (tmp_path / "schedule.toml").write_text("", encoding="utf-8")
    bot = await start_polling_bot(fake, config(fake.token))
    try:
        assert (await ask(fake, MAMA, "/checkin")).startswith("打卡成功")
    finally:
        assert await bot.stop(signal.SIGTERM) == 0, bot.log()
    # Due a minute ago (community time): inside the 15-minute grace.
    (tmp_path / "schedule.toml").write_text(schedule(datetime.now(SHANGHAI) - timedelta(minutes=1)), encoding="utf-8")

    wrong = BotProcess(config("123:wrong-token"))
    await wrong.start()
    assert wrong.process is not None
    out, _ = await asyncio.wait_for(wrong.process.communicate(), 30)  # it gives up by itself
    assert wrong.process.returncode != 0 and "rejected the bot token" in out.decode(), out.decode()
    assert await query(database_url, select(ScheduleFire.status)) is None  # nothing claimed, nothing used up

    bot = await start_polling_bot(fake, config(fake.token))
    try:
        posted = await fake.wait_until(
            lambda: next((m for m in fake.sent_messages(GROUP) if "早安，妈妈们" in m.get("text", "")), None), timeout=20
        )
        assert posted is not None
    finally:
        assert await bot.stop(signal.SIGTERM) == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()
    assert await query(database_url, select(ScheduleFire.status)) == "sent"
