"""`cradle season start` beside a running bot: today's standings are archived, and the bot's `/top all`
starts from zero within seconds (it used to archive 0 and keep the same totals)."""

import asyncio
import signal

from sqlalchemy import func, select

from models.tables import SeasonStanding
from tests.e2e.conftest import query, start_polling_bot, write_config
from tests.e2e.test_engagement import GROUP, LILY, MAMA, ask, cradle

PAPA = 6363
EMPTY = "这段时间还没有人得分，发 /checkin 抢第一吧！"


async def test_a_new_season_archives_todays_standings_and_the_running_bot_switches(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans")
    fake.add_user(LILY, "Lily", language_code="zh-hans")
    fake.add_user(PAPA, "豆豆爸爸", language_code="zh-hans")
    config = write_config(tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url)

    bot = await start_polling_bot(fake, config)
    try:
        for member in (MAMA, LILY, PAPA):
            assert (await ask(fake, member, "/checkin")).startswith("打卡成功")
        before = await ask(fake, MAMA, "/top all")
        assert before.startswith("🏆 本赛季积分榜") and before.count("：10") == 3, before

        output = await cradle(config, "season", "start", "2027-spring")
        assert "season '2027-spring' started; 3 standings archived" in output, output

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        board = ""
        while loop.time() < deadline:  # the bot checks for a new season every few seconds
            board = await ask(fake, MAMA, "/top all")
            if EMPTY in board:
                break
            await asyncio.sleep(1)
        assert board == f"🏆 本赛季积分榜 · 2027-spring\n{EMPTY}", board
        assert (await ask(fake, MAMA, "/top")).count("：10") == 3  # the rolling week keeps today's points
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()
    assert await query(database_url, select(func.count()).select_from(SeasonStanding)) == 3
