"""Scheduled content through a real bot process: /postnow from the admin chat posts a quiz whose correct
answer pays, and a broken schedule sent by SIGHUP is refused (reported to the admin chat) while the old
one keeps running."""

import signal

from sqlalchemy import func, select

from models.tables import LedgerEntry
from models.tables import Chat
from tests.e2e.conftest import query, start_polling_bot, write_config

GROUP = -100556
ADMIN_CHAT = -100557
MAMA = 6363
OPERATOR = 6464

SCHEDULE = """
[[entry]]
id = "quiz"
kind = "quiz"
weekly = "wed 20:00"
question = { zh-CN = "宝宝几个月开始加辅食？", en = "When do solids start?" }
options = { zh-CN = ["4 个月前", "6 个月左右", "1 岁后"], en = ["Before 4 months", "Around 6 months", "After 1 year"] }
answer = 2
explanation = { zh-CN = "6 个月左右开始添加。", en = "Around 6 months." }
close_after = "12h"
"""


async def test_postnow_quiz_pays_a_correct_answer_and_a_bad_reload_keeps_the_old_schedule(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_chat(ADMIN_CHAT, "Organisers")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans")
    fake.add_user(OPERATOR, "Olga", language_code="en")
    schedule = tmp_path / "schedule.toml"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    config = write_config(tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url)
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'admin_chat_id = {ADMIN_CHAT}\noperators = [{OPERATOR}]\n[schedule]\nfile = "{schedule}"\nreload_check_seconds = 3600\n',
        encoding="utf-8",
    )
    quiz_points = select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.reason == "quiz")

    bot = await start_polling_bot(fake, config)
    try:
        fake.user_message(GROUP, MAMA, "大家好")  # the bot learns its group from traffic
        await wait_for_chat(database_url, GROUP)
        fake.user_message(ADMIN_CHAT, OPERATOR, "/postnow quiz")
        await fake.wait_until(lambda: fake.sent_messages(ADMIN_CHAT), timeout=10)
        assert fake.sent_messages(ADMIN_CHAT)[-1]["text"] == "Posted quiz now in 1 groups."  # not in the admin chat
        [quiz] = [message for message in fake.sent_messages(GROUP) if "poll" in message]
        assert quiz["poll"]["type"] == "quiz" and quiz["poll"]["correct_option_ids"] == [1]

        fake.poll_answer(quiz["poll"]["id"], MAMA, [1])
        await fake.wait_until(lambda: not fake.pending_updates, timeout=10)

        schedule.write_text(SCHEDULE.replace('weekly = "wed 20:00"', 'cron = "99 20 * * 3"'), encoding="utf-8")
        bot.process.send_signal(signal.SIGHUP)
        await fake.wait_until(lambda: any("⚠️" in m.get("text", "") for m in fake.sent_messages(ADMIN_CHAT)), timeout=10)
        report = fake.sent_messages(ADMIN_CHAT)[-1]["text"]
        assert "entry 'quiz': cron: invalid cron expression '99 20 * * 3'" in report
        fake.user_message(ADMIN_CHAT, OPERATOR, "/schedule")
        await fake.wait_until(lambda: "quiz" in fake.sent_messages(ADMIN_CHAT)[-1].get("text", "").split("\n")[-1], timeout=10)
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()
    assert await query(database_url, quiz_points) == 5


async def wait_for_chat(database_url, chat_id, timeout=10.0):
    """The activity buffer writes new chats within a second or so."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    statement = select(func.count()).select_from(Chat).where(Chat.external_id == str(chat_id))
    while not await query(database_url, statement):
        assert asyncio.get_running_loop().time() < deadline, f"chat {chat_id} never recorded"
        await asyncio.sleep(0.1)
