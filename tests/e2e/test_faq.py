"""The FAQ in a group, through a real bot process: a question is answered, small talk is not, and an
emergency gets the emergency reply at once and an alert in the admin chat."""

import signal

from tests.e2e.conftest import start_polling_bot, write_config

GROUP = -100558
ADMIN_CHAT = -100559
MAMA = 6565


async def test_a_question_is_answered_small_talk_is_not_and_an_emergency_alerts_the_admins(fake_server, database_url, tmp_path):
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_chat(ADMIN_CHAT, "Organisers")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans")
    config = write_config(tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url)
    config.write_text(config.read_text(encoding="utf-8") + f"admin_chat_id = {ADMIN_CHAT}\n", encoding="utf-8")

    def replies_to(message_id):
        return [m["text"] for m in fake.sent_messages(GROUP) if (m.get("reply_to_message") or {}).get("message_id") == message_id]

    bot = await start_polling_bot(fake, config)
    try:
        small_talk = fake.user_message(GROUP, MAMA, "早上好呀姐妹们 今天天气真好")["message"]["message_id"]
        question = fake.user_message(GROUP, MAMA, "宝宝几个月可以加辅食？")["message"]["message_id"]
        answer = await fake.wait_until(lambda: replies_to(question), timeout=10)
        assert answer[0].startswith("📖 什么时候添加辅食")
        assert replies_to(small_talk) == []

        urgent = fake.user_message(GROUP, MAMA, "救命 宝宝突然抽搐了 眼睛往上翻")["message"]["message_id"]
        [reply] = await fake.wait_until(lambda: replies_to(urgent), timeout=10)
        assert reply.startswith("🚨 这听起来可能很紧急！请马上拨打 120")
        alerts = await fake.wait_until(lambda: fake.sent_messages(ADMIN_CHAT), timeout=10)
        assert alerts[-1]["text"].startswith("🚨 紧急情况提醒：宝妈交流群 里 小雨妈妈 发了：")
        await fake.wait_until(lambda: not fake.pending_updates, timeout=10)
        assert replies_to(small_talk) == []
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()
