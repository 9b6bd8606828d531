"""The automatic filters, the welcome check for new members, and the inactive-member clean-up, through the Dispatcher."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import (
    AdFilterSettings,
    BannedWordsSettings,
    CleanupSettings,
    CommunitySettings,
    CrosspostFilterSettings,
    FiltersSettings,
    FloodFilterSettings,
    ModerationSettings,
    WelcomeSettings,
)
from bot.domain import ChatRef
from bot.platforms.telegram.refs import PLATFORM
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.harness import BotHarness
from bot.testing.images import plain_photo, qr_photo
from models.tables import MemberJoin, ModerationAction
from tests.dispatcher.conftest import ALICE, BOB, GROUP, OTHER_GROUP, settings_for
from tests.dispatcher.test_moderation import ADMIN_CHAT, LOG_CHAT, MOD, MUTED, OPERATOR, actions, calls
from tests.dispatcher.test_moderation_redelivery import fail_once

CAROL = 103  # joins during the tests
TEXT_ONLY = {**MUTED, "can_send_messages": True}


@pytest.fixture
def guard_bot(database_url, clock, start_bot):
    async def build(**moderation: Any) -> BotHarness:
        fake = FakeTelegram(clock=lambda: clock.now().timestamp())
        fake.add_chat(GROUP, "宝妈交流群")
        fake.add_chat(OTHER_GROUP, "English mums")
        fake.add_chat(ADMIN_CHAT, "Organisers")
        fake.add_chat(LOG_CHAT, "Mod log")
        fake.add_user(ALICE, "Alice", language_code="zh-hans")
        fake.add_user(BOB, "Bob", language_code="en")
        fake.add_user(CAROL, "Carol", language_code="zh-hans")
        fake.add_user(MOD, "Mod", language_code="en")
        fake.set_admin(GROUP, MOD)
        moderation.setdefault("welcome", WelcomeSettings(enabled=False))
        settings = settings_for(database_url).model_copy(
            update={
                "community": CommunitySettings(name="Test Mamas", operators=[OPERATOR], admin_chat_id=ADMIN_CHAT),
                "moderation": ModerationSettings(log_chat_id=LOG_CHAT, **moderation),
            }
        )
        harness = await start_bot(settings, fake)
        return harness

    return build


async def feed(bot: BotHarness, update: dict[str, Any]) -> int:
    await bot.feed(update)
    return update["message"]["message_id"]


async def say(bot: BotHarness, chat: int, user: int, text: str) -> int:
    update = await bot.say(chat, user, text)
    return update["message"]["message_id"]


# ---------------------------------------------------------------- ads, QR codes, banned words


async def test_an_ad_is_deleted_and_its_author_warned_in_her_language(guard_bot):
    bot = await guard_bot()
    message_id = await say(bot, GROUP, ALICE, "代购日韩奶粉，需要的加V：mama8888 私聊")
    assert bot.fake.get_message(GROUP, message_id) is None
    assert bot.replies(GROUP)[-1] == "⚠️ Alice，你的消息已被移除：广告。这是第 1 次警告（共 3 次），请遵守群规（/rules）。"
    assert [kind for kind, *_ in await actions(bot)] == ["delete", "warn"]
    log = [message["text"] for message in bot.fake.sent_messages(LOG_CHAT)]
    assert len(log) == 2 and "（过滤规则：广告）" in log[0]


async def test_genuine_messages_with_shop_links_and_clinic_numbers_stay(guard_bot):
    bot = await guard_bot()
    for text in (
        "这款奶瓶我在京东买的 https://item.jd.com/100012345.html 还不错",
        "儿童医院的预约电话是020-38076000，早上八点开始放号",
        "姐妹我们加个微信吧，宝宝同一个月出生的",
    ):
        message_id = await say(bot, GROUP, ALICE, text)
        assert bot.fake.get_message(GROUP, message_id) is not None, text
    assert await actions(bot) == []


async def test_administrators_and_exempt_users_are_not_filtered(guard_bot):
    bot = await guard_bot(exempt=[BOB])
    for user in (MOD, BOB):
        message_id = await say(bot, GROUP, user, "兼职刷单日赚300，加V：earn9999")
        assert bot.fake.get_message(GROUP, message_id) is not None
    assert await actions(bot) == []


async def test_report_only_action_alerts_the_admin_chat_and_keeps_the_message(guard_bot):
    bot = await guard_bot(filters=FiltersSettings(ads=AdFilterSettings(action="report")))
    message_id = await say(bot, GROUP, ALICE, "兼职刷单日赚300，加V：earn9999")
    assert bot.fake.get_message(GROUP, message_id) is not None
    [alert] = bot.fake.sent_messages(ADMIN_CHAT)
    assert alert["text"].startswith("🚩 过滤规则「ads」标记了 Alice 在 宝妈交流群 的一条消息") and f"/{message_id}" in alert["text"]
    assert await actions(bot) == []


async def test_one_group_can_override_a_filter(guard_bot):
    bot = await guard_bot(groups={str(OTHER_GROUP): {"ads": {"enabled": False}}})
    kept = await say(bot, OTHER_GROUP, BOB, "Earn $500 a day from home, DM me on telegram @cashking")
    removed = await say(bot, GROUP, BOB, "Earn $500 a day from home, DM me on telegram @cashking")
    assert bot.fake.get_message(OTHER_GROUP, kept) is not None
    assert bot.fake.get_message(GROUP, removed) is None


async def test_delete_and_mute_action(guard_bot, clock):
    bot = await guard_bot(filters=FiltersSettings(ads=AdFilterSettings(action="delete_mute", mute="2h")))
    await say(bot, GROUP, BOB, "兼职刷单日赚300，加V：earn9999")
    [restrict] = calls(bot, "restrictChatMember")
    assert restrict["permissions"] == MUTED and restrict["until_date"] == int((clock.now() + timedelta(hours=2)).timestamp())
    assert bot.replies(GROUP)[-1] == "🔇 Bob, I removed your messages (advertising) and muted you for 2h."


async def test_a_qr_code_photo_is_deleted_and_a_plain_photo_stays(guard_bot):
    bot = await guard_bot()
    plain = await feed(bot, bot.fake.user_message(GROUP, ALICE, photo_bytes=plain_photo(), caption="宝宝今天会翻身了"))
    assert bot.fake.get_message(GROUP, plain) is not None
    ad = await feed(bot, bot.fake.user_message(GROUP, ALICE, photo_bytes=qr_photo("https://u.wechat.com/EAbCdEfGhIjK")))
    assert bot.fake.get_message(GROUP, ad) is None
    assert bot.replies(GROUP)[-1].startswith("⚠️ Alice，你的消息已被移除：图片中含二维码。")


async def test_banned_words_match_regardless_of_width_and_case(guard_bot):
    bot = await guard_bot(filters=FiltersSettings(banned_words=BannedWordsSettings(enabled=True, words=["傻瓜", "idiot"])))
    first = await say(bot, GROUP, ALICE, "你这个傻瓜")
    second = await say(bot, GROUP, BOB, "what an ＩＤＩＯＴ")
    kept = await say(bot, GROUP, BOB, "what an idea")
    assert bot.fake.get_message(GROUP, first) is None and bot.fake.get_message(GROUP, second) is None
    assert bot.fake.get_message(GROUP, kept) is not None


async def test_an_ad_whose_warning_was_cut_off_after_the_delete_is_warned_when_redelivered(guard_bot, monkeypatch):
    bot = await guard_bot()
    fail_once(monkeypatch, bot.app.moderation, "warn")  # the delete is stored, then the connection is cut
    update = bot.fake.user_message(GROUP, ALICE, "代购日韩奶粉，需要的加V：mama8888 私聊")
    with pytest.raises(ConnectionError):
        await bot.feed(update)
    await bot.feed(update)  # Telegram delivers it again
    assert len(calls(bot, "deleteMessage")) == 1
    assert [kind for kind, *_ in await actions(bot)] == ["delete", "warn"]
    assert bot.replies(GROUP) == ["⚠️ Alice，你的消息已被移除：广告。这是第 1 次警告（共 3 次），请遵守群规（/rules）。"]


async def test_an_ad_whose_mute_was_cut_off_after_the_delete_is_muted_when_redelivered(guard_bot, monkeypatch):
    bot = await guard_bot(filters=FiltersSettings(ads=AdFilterSettings(action="delete_mute", mute="2h")))
    fail_once(monkeypatch, bot.app.controls.get(PLATFORM), "restrict")
    update = bot.fake.user_message(GROUP, BOB, "兼职刷单日赚300，加V：earn9999")
    with pytest.raises(ConnectionError):
        await bot.feed(update)
    await bot.feed(update)
    assert len(calls(bot, "deleteMessage")) == 1 and len(calls(bot, "restrictChatMember")) == 1
    assert [kind for kind, *_ in await actions(bot)] == ["delete", "mute"]
    assert bot.replies(GROUP) == ["🔇 Bob, I removed your messages (advertising) and muted you for 2h."]


# ---------------------------------------------------------------- flood and cross-posts


async def test_a_flood_is_deleted_and_its_author_muted(guard_bot, clock):
    bot = await guard_bot(filters=FiltersSettings(flood=FloodFilterSettings(messages=5, seconds=10)))
    ids = [await say(bot, GROUP, BOB, f"hi {n}") for n in range(5)]
    assert all(bot.fake.get_message(GROUP, i) is not None for i in ids)
    ids.append(await say(bot, GROUP, BOB, "hi 5"))
    assert all(bot.fake.get_message(GROUP, i) is None for i in ids)
    [restrict] = calls(bot, "restrictChatMember")
    assert restrict["until_date"] == int((clock.now() + timedelta(hours=1)).timestamp())
    assert [kind for kind, *_ in await actions(bot)] == ["delete"] * 6 + ["mute"]
    assert len(bot.fake.sent_messages(LOG_CHAT)) == 2  # one entry for the flood, one for the mute


async def test_messages_spread_out_are_not_a_flood(guard_bot, clock):
    bot = await guard_bot(filters=FiltersSettings(flood=FloodFilterSettings(messages=5, seconds=10)))
    for n in range(12):
        await say(bot, GROUP, BOB, f"chatting {n}")
        clock.advance(timedelta(seconds=3))
    assert await actions(bot) == []


async def test_the_same_text_in_two_groups_is_removed_from_both(guard_bot, clock):
    bot = await guard_bot(filters=FiltersSettings(crosspost=CrosspostFilterSettings(groups=2, minutes=10)))
    text = "Hello mums, check my profile for a special offer today"
    first = await say(bot, GROUP, BOB, text)
    clock.advance(timedelta(minutes=3))
    second = await say(bot, OTHER_GROUP, BOB, text)
    assert bot.fake.get_message(GROUP, first) is None and bot.fake.get_message(OTHER_GROUP, second) is None
    assert [kind for kind, *_ in await actions(bot)] == ["delete", "delete", "warn"]


async def test_the_same_text_far_apart_or_short_is_not_a_crosspost(guard_bot, clock):
    bot = await guard_bot()
    text = "Good morning everyone, how did the babies sleep?"
    await say(bot, GROUP, BOB, text)
    clock.advance(timedelta(minutes=11))
    await say(bot, OTHER_GROUP, BOB, text)
    await say(bot, GROUP, ALICE, "谢谢姐妹")
    await say(bot, OTHER_GROUP, ALICE, "谢谢姐妹")
    assert await actions(bot) == []


# ---------------------------------------------------------------- new members


async def join(bot: BotHarness, user: int = CAROL, chat: int = GROUP) -> int:
    update = bot.fake.user_joins(chat, user)
    await bot.feed(update)
    return update["message"]["message_id"]


async def test_a_new_member_is_greeted_with_the_rules_and_a_button_and_muted_until_she_taps_it(guard_bot, clock):
    bot = await guard_bot(welcome=WelcomeSettings())
    await join(bot)
    [restrict] = calls(bot, "restrictChatMember")
    assert restrict["user_id"] == CAROL and restrict["permissions"] == MUTED and "until_date" not in restrict
    greeting = bot.fake.sent_messages(GROUP)[-1]
    assert greeting["text"].startswith("欢迎 Carol 加入本群！🌸 请先看看我们的群规：\n1. 友善交流")
    button = greeting["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "🙋 我是家长，不是机器人"
    await bot.feed(bot.fake.callback_query(GROUP, ALICE, greeting["message_id"], button["callback_data"]))
    assert len(calls(bot, "restrictChatMember")) == 1  # someone else's tap does nothing
    clock.advance(timedelta(minutes=2))
    await bot.feed(bot.fake.callback_query(GROUP, CAROL, greeting["message_id"], button["callback_data"]))
    released = calls(bot, "restrictChatMember")[-1]
    assert released["permissions"] == TEXT_ONLY
    assert released["until_date"] == int((clock.now() - timedelta(minutes=2) + timedelta(hours=24)).timestamp())
    assert bot.fake.get_message(GROUP, greeting["message_id"])["text"] == "欢迎 Carol！🌸 和大家打个招呼，说说宝宝多大啦。"


async def test_no_answer_in_time_keeps_her_muted_and_deletes_the_join_and_the_greeting(guard_bot, clock):
    bot = await guard_bot(welcome=WelcomeSettings(timeout="5m"))
    join_id = await join(bot)
    greeting = bot.fake.sent_messages(GROUP)[-1]
    clock.advance(timedelta(minutes=4))
    assert await bot.app.welcome.expire() == []
    clock.advance(timedelta(minutes=2))
    [expired] = await bot.app.welcome.expire()
    assert expired.user.external_id == str(CAROL)
    assert bot.fake.get_message(GROUP, join_id) is None and bot.fake.get_message(GROUP, greeting["message_id"]) is None
    assert bot.fake.member(GROUP, CAROL)["status"] == "restricted"
    assert calls(bot, "banChatMember") == []
    [entry] = bot.fake.sent_messages(LOG_CHAT)
    assert "未完成入群验证" in entry["text"]
    # A moderator lets her in from the log.
    data = entry["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await bot.feed(bot.fake.callback_query(LOG_CHAT, MOD, entry["message_id"], data))
    assert bot.fake.member(GROUP, CAROL)["status"] == "member"
    assert await bot.app.welcome.expire() == []


async def test_no_answer_in_time_removes_her_when_so_configured(guard_bot, clock):
    bot = await guard_bot(welcome=WelcomeSettings(on_timeout="remove"))
    await join(bot)
    clock.advance(timedelta(minutes=6))
    await bot.app.welcome.expire()
    assert calls(bot, "banChatMember")[0]["user_id"] == CAROL
    assert calls(bot, "unbanChatMember")[0] == {"chat_id": GROUP, "user_id": CAROL, "only_if_banned": True}
    assert bot.fake.member(GROUP, CAROL)["status"] == "left"


async def test_the_question_captcha_allows_two_wrong_answers(guard_bot):
    bot = await guard_bot(welcome=WelcomeSettings(captcha="question"))
    await join(bot)
    greeting = bot.fake.sent_messages(GROUP)[-1]
    assert "为了确认你是家长而不是机器人" in greeting["text"]
    buttons = [row[0] for row in greeting["reply_markup"]["inline_keyboard"]]
    answers = {"6个月左右", "14到17小时", "安全座椅里"}
    wrong = [b for b in buttons if b["text"] not in answers]
    [right] = [b for b in buttons if b["text"] in answers]
    for button in wrong[:2]:
        await bot.feed(bot.fake.callback_query(GROUP, CAROL, greeting["message_id"], button["callback_data"]))
    assert bot.fake.member(GROUP, CAROL)["status"] == "restricted"
    await bot.feed(bot.fake.callback_query(GROUP, CAROL, greeting["message_id"], right["callback_data"]))
    assert bot.fake.member(GROUP, CAROL)["can_send_messages"] is True
    assert calls(bot, "restrictChatMember")[-1]["permissions"] == TEXT_ONLY


async def test_a_third_wrong_answer_fails_at_once(guard_bot):
    bot = await guard_bot(welcome=WelcomeSettings(captcha="question"))
    join_id = await join(bot)
    greeting = bot.fake.sent_messages(GROUP)[-1]
    answers = {"6个月左右", "14到17小时", "安全座椅里"}
    wrong = next(row[0] for row in greeting["reply_markup"]["inline_keyboard"] if row[0]["text"] not in answers)
    for _ in range(3):
        await bot.feed(bot.fake.callback_query(GROUP, CAROL, greeting["message_id"], wrong["callback_data"]))
    assert bot.fake.get_message(GROUP, join_id) is None
    async with bot.app.storage.engine.connect() as connection:
        assert (await connection.execute(select(MemberJoin.status))).scalar_one() == "failed"


async def test_someone_a_moderator_adds_needs_no_check(guard_bot):
    bot = await guard_bot(welcome=WelcomeSettings())
    update = bot.fake.user_joins(GROUP, CAROL)
    update["message"]["from"] = {"id": MOD, "is_bot": False, "first_name": "Mod"}
    await bot.feed(update)
    assert calls(bot, "restrictChatMember") == []
    assert "reply_markup" not in bot.fake.sent_messages(GROUP)[-1]


async def test_newcomers_may_not_post_links_or_media_on_their_first_day(guard_bot, clock):
    bot = await guard_bot(welcome=WelcomeSettings(captcha="off"))
    await join(bot)
    [restrict] = calls(bot, "restrictChatMember")
    assert restrict["permissions"] == TEXT_ONLY
    link = await say(bot, GROUP, CAROL, "看看这个 https://www.zhihu.com/question/1")
    assert bot.fake.get_message(GROUP, link) is None
    assert bot.replies(GROUP)[-1].startswith("欢迎 Carol！新成员入群第一天只能发文字")
    assert [kind for kind, *_ in await actions(bot)] == ["delete"]
    clock.advance(timedelta(hours=25))
    later = await say(bot, GROUP, CAROL, "看看这个 https://www.zhihu.com/question/2")
    assert bot.fake.get_message(GROUP, later) is not None


# ---------------------------------------------------------------- inactive members


async def test_inactive_members_are_listed_reminded_then_removed(guard_bot, clock):
    bot = await guard_bot(cleanup=CleanupSettings(enabled=True, dry_run=False, inactive_days=60, notice_days=7))
    await say(bot, GROUP, ALICE, "早上好")
    await say(bot, GROUP, BOB, "morning")
    await say(bot, GROUP, MOD, "hello")
    await bot.settle()
    clock.advance(timedelta(days=50))
    await say(bot, GROUP, BOB, "still here")
    await bot.settle()
    clock.advance(timedelta(days=15))
    found = await bot.app.cleanup.inactive(ChatRef(PLATFORM, str(GROUP)), 60)
    assert {c.member.user.external_id for c in found} == {str(ALICE), str(MOD)}
    dry = await bot.app.cleanup.run(dry_run=True)
    assert [c.member.user.external_id for c in dry.warned] == [str(ALICE)] and len(dry.kept_admins) == 1
    assert bot.fake.sent_messages(ADMIN_CHAT)[-1]["text"].startswith("不活跃成员清理（演练模式")
    assert calls(bot, "banChatMember") == []
    report = await bot.app.cleanup.run()
    assert [c.member.user.external_id for c in report.warned] == [str(ALICE)] and report.removed == []
    assert "好久没见到你们啦" in bot.replies(GROUP)[-1]  # she never started the bot: one group mention
    clock.advance(timedelta(days=3))
    assert (await bot.app.cleanup.run()).removed == []  # not yet: seven days' notice
    clock.advance(timedelta(days=5))
    report = await bot.app.cleanup.run()
    assert [c.member.user.external_id for c in report.removed] == [str(ALICE)]
    assert bot.fake.member(GROUP, ALICE)["status"] == "left"
    assert calls(bot, "unbanChatMember")[-1] == {"chat_id": GROUP, "user_id": ALICE, "only_if_banned": True}


async def test_a_member_who_speaks_after_the_reminder_stays(guard_bot, clock):
    bot = await guard_bot(cleanup=CleanupSettings(enabled=True, dry_run=False))
    await say(bot, GROUP, ALICE, "早上好")
    await bot.settle()
    clock.advance(timedelta(days=61))
    await bot.app.cleanup.run()
    clock.advance(timedelta(days=2))
    await say(bot, GROUP, ALICE, "我还在呢")
    await bot.settle()
    clock.advance(timedelta(days=6))
    report = await bot.app.cleanup.run()
    assert report.removed == [] and report.warned == []
    assert bot.fake.member(GROUP, ALICE)["status"] != "left"


async def test_a_recent_check_in_keeps_a_quiet_member(guard_bot, clock):
    bot = await guard_bot(cleanup=CleanupSettings(enabled=True, dry_run=False, inactive_days=30, checkin_days=60))
    await say(bot, GROUP, ALICE, "/checkin")
    await bot.settle()
    clock.advance(timedelta(days=40))
    assert await bot.app.cleanup.inactive(None, 30, 60) == []


async def test_an_ad_edited_into_a_message_is_caught(guard_bot):
    bot = await guard_bot()
    message_id = await say(bot, GROUP, ALICE, "大家好，我是新来的")
    await bot.feed(bot.fake.edit_message(GROUP, message_id, "大家好，代购日韩奶粉，加V：mama8888 私聊"))
    assert bot.fake.get_message(GROUP, message_id) is None
    assert [kind for kind, *_ in await actions(bot)] == ["delete", "warn"]


async def test_a_member_who_started_the_bot_is_reminded_in_private(guard_bot, clock):
    bot = await guard_bot(cleanup=CleanupSettings(enabled=True, dry_run=False))
    bot.fake.add_chat(ALICE, "Alice", "private")  # she has started the bot
    await say(bot, GROUP, ALICE, "早上好")
    await bot.settle()
    clock.advance(timedelta(days=61))
    report = await bot.app.cleanup.run()
    assert [c.member.user.external_id for c in report.warned] == [str(ALICE)]
    assert bot.replies(ALICE)[-1].startswith("你好！你已经 60 天没有在妈妈群里出现了。")
    assert not any("好久没见到你们啦" in text for text in bot.replies(GROUP))
    assert bot.fake.sent_messages(ADMIN_CHAT)[-1]["text"].startswith("不活跃成员清理：已提醒 Alice (-1001)")
