"""Moderation through a real bot process and the fake Bot API over HTTP: three warnings mute for a day,
and a new member who does not pass the welcome check in time is removed (the exact calls are checked)."""

import signal
import time

from tests.dispatcher.test_moderation import MUTED
from tests.e2e.conftest import start_polling_bot, write_config

GROUP = -100661
ADMIN_CHAT = -100662
MOD = 6601
MAMA = 6602
NEWCOMER = 6603


def setup(fake, server, database_url, tmp_path, moderation: str = ""):
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_chat(ADMIN_CHAT, "Organisers")
    fake.add_user(MOD, "Mod", language_code="en")
    fake.add_user(MAMA, "小雨妈妈", language_code="zh-hans", username="xiaoyu_mama")
    fake.add_user(NEWCOMER, "New Mum", language_code="en")
    fake.set_admin(GROUP, MOD)
    config = write_config(tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url)
    config.write_text(config.read_text(encoding="utf-8") + f"admin_chat_id = {ADMIN_CHAT}\n\n{moderation}", encoding="utf-8")
    return config


async def test_three_warnings_mute_her_for_a_day(fake_server, database_url, tmp_path):
    fake, server = fake_server
    config = setup(fake, server, database_url, tmp_path)
    bot = await start_polling_bot(fake, config)
    try:
        message_id = fake.user_message(GROUP, MAMA, "有需要奶粉的可以找我")["message"]["message_id"]
        for number in range(1, 4):
            before = time.time()
            fake.user_message(GROUP, MOD, f"/warn 广告 {number}", reply_to=message_id)
            await fake.wait_until(lambda: len([m for m in fake.sent_messages(GROUP) if "警告" in m.get("text", "")]) >= number, timeout=10)
        [call] = await fake.wait_until(lambda: fake.calls("restrictChatMember"), timeout=10)
        assert call.params["chat_id"] == GROUP and call.params["user_id"] == MAMA
        assert call.params["permissions"] == MUTED
        assert abs(call.params["until_date"] - (before + 86400)) <= 5
        assert fake.member(GROUP, MAMA)["status"] == "restricted"
        await fake.wait_until(lambda: any("禁言 1d" in m.get("text", "") for m in fake.sent_messages(GROUP)), timeout=10)
        log = await fake.wait_until(lambda: len(fake.sent_messages(ADMIN_CHAT)) >= 4 and fake.sent_messages(ADMIN_CHAT), timeout=10)
        assert [m["text"].split("：")[0].split(" ")[1] for m in log] == ["警告", "警告", "警告", "禁言"]
        assert fake.calls("banChatMember") == []
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()


async def test_a_newcomer_who_does_not_tap_the_button_is_removed(fake_server, database_url, tmp_path):
    fake, server = fake_server
    config = setup(fake, server, database_url, tmp_path, '[moderation.welcome]\ntimeout = "3s"\non_timeout = "remove"\n')
    bot = await start_polling_bot(fake, config)
    try:
        join_id = fake.user_joins(GROUP, NEWCOMER)["message"]["message_id"]
        [restrict] = await fake.wait_until(lambda: fake.calls("restrictChatMember"), timeout=10)
        assert restrict.params == {"chat_id": GROUP, "user_id": NEWCOMER, "permissions": MUTED, "use_independent_chat_permissions": True}
        greeting = await fake.wait_until(lambda: [m for m in fake.sent_messages(GROUP) if m.get("reply_markup")], timeout=10)
        assert greeting[0]["text"].startswith("Welcome to the group, New Mum!")
        [ban] = await fake.wait_until(lambda: fake.calls("banChatMember"), timeout=20)
        assert ban.params == {"chat_id": GROUP, "user_id": NEWCOMER}
        [unban] = await fake.wait_until(lambda: fake.calls("unbanChatMember"), timeout=10)
        assert unban.params == {"chat_id": GROUP, "user_id": NEWCOMER, "only_if_banned": True}
        assert fake.member(GROUP, NEWCOMER)["status"] == "left"
        await fake.wait_until(lambda: fake.get_message(GROUP, join_id) is None, timeout=10)
        assert fake.get_message(GROUP, greeting[0]["message_id"]) is None
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log()
    assert "Traceback" not in bot.log(), bot.log()
