"""Moderators' commands through the Dispatcher: who may act, warnings and the ladder, mutes, removals,
/del, the log chat with undo, the bot lacking rights, and /report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiogram.types import ChatPermissions
from sqlalchemy import select

from bot.config import CommunitySettings, LadderStep, ModerationSettings
from bot.domain import ChatRef, UserRef
from bot.platforms.telegram.refs import PLATFORM
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.harness import BotHarness
from models.tables import ModerationAction
from tests.dispatcher.conftest import ALICE, BOB, GROUP, settings_for

ADMIN_CHAT = -100999
LOG_CHAT = -100888
MOD = 201  # a Telegram administrator of GROUP
HELPER = 202  # a moderator by configuration only
OPERATOR = 999
# Every ChatPermissions field, explicitly (a field left out is read by Telegram as false).
MUTED = {name: False for name in ChatPermissions.model_fields}


@pytest.fixture
def mod_bot(database_url, clock, start_bot):
    async def build(*, bot_status: str = "administrator", log_chat: int | None = LOG_CHAT, **moderation: Any) -> BotHarness:
        fake = FakeTelegram(clock=lambda: clock.now().timestamp())
        fake.add_chat(GROUP, "宝妈交流群", bot_status=bot_status)
        fake.add_chat(ADMIN_CHAT, "Organisers")
        fake.add_chat(LOG_CHAT, "Mod log")
        fake.add_user(ALICE, "Alice", language_code="zh-hans", username="alice_mama")
        fake.add_user(BOB, "Bob", language_code="en", username="bob_dad")
        fake.add_user(MOD, "Mod", language_code="en")
        fake.add_user(HELPER, "Helper", language_code="en")
        fake.set_admin(GROUP, MOD)
        moderation.setdefault("moderators", [HELPER])
        settings = settings_for(database_url).model_copy(
            update={
                "community": CommunitySettings(name="Test Mamas", operators=[OPERATOR], admin_chat_id=ADMIN_CHAT),
                "moderation": ModerationSettings(log_chat_id=log_chat, **moderation),
            }
        )
        harness = await start_bot(settings, fake)
        for user, hello in ((ALICE, "大家好"), (BOB, "hi all")):  # seen once, so @username finds them
            await harness.say(GROUP, user, hello)
        await harness.settle()
        return harness

    return build


async def post(bot: BotHarness, user: int, text: str = "大家好") -> int:
    update = await bot.say(GROUP, user, text)
    return update["message"]["message_id"]


async def actions(bot: BotHarness) -> list[tuple[str, str, str | None, str]]:
    async with bot.app.storage.engine.connect() as connection:
        rows = await connection.execute(
            select(ModerationAction.kind, ModerationAction.target_id, ModerationAction.actor_id, ModerationAction.outcome).order_by(ModerationAction.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def calls(bot: BotHarness, method: str) -> list[dict[str, Any]]:
    return [call.params for call in bot.fake.calls(method)]


async def test_warn_by_reply_tells_her_why_in_her_language_and_stores_it(mod_bot, clock):
    bot = await mod_bot()
    message_id = await post(bot, ALICE, "加我微信买奶粉")
    await bot.say(GROUP, MOD, "/warn 广告", reply_to=message_id)
    assert bot.replies(GROUP)[-1] == "⚠️ Alice，这是一次警告（第 1 次，共 3 次）。原因：广告。请遵守群规（/rules）。"
    assert await actions(bot) == [("warn", str(ALICE), str(MOD), "done")]
    async with bot.app.storage.engine.connect() as connection:
        row = (await connection.execute(select(ModerationAction))).one()
    assert row.reason == "广告" and row.source_message_id == str(message_id)
    assert row.until_at.replace(tzinfo=None) == (clock.now() + timedelta(days=30)).replace(tzinfo=None)


async def test_third_warning_mutes_for_a_day_and_the_fifth_removes(mod_bot, clock):
    bot = await mod_bot()
    for number in range(1, 6):
        await bot.say(GROUP, MOD, f"/warn @alice_mama spam {number}")
        if number == 3:
            [restrict] = calls(bot, "restrictChatMember")
            assert restrict["user_id"] == ALICE and restrict["chat_id"] == GROUP
            assert restrict["permissions"] == MUTED
            assert restrict["until_date"] == int((clock.now() + timedelta(days=1)).timestamp())
            assert bot.replies(GROUP)[-1] == "🔇 Alice 已有 3 次有效警告，禁言 1d。"
    # The fourth warning is past the mute step, so it mutes again; the fifth removes.
    assert len(calls(bot, "restrictChatMember")) == 2
    [ban] = calls(bot, "banChatMember")
    [unban] = calls(bot, "unbanChatMember")
    assert ban["user_id"] == ALICE and unban == {"chat_id": GROUP, "user_id": ALICE, "only_if_banned": True}
    assert bot.replies(GROUP)[-1] == "🚫 Alice 已有 5 次有效警告，已被移出本群。"
    kinds = [kind for kind, *_ in await actions(bot)]
    assert kinds == ["warn", "warn", "warn", "mute", "warn", "mute", "warn", "kick"]


async def test_warnings_expire_after_the_configured_days(mod_bot, clock):
    bot = await mod_bot()
    await bot.say(GROUP, MOD, "/warn @alice_mama one")
    await bot.say(GROUP, MOD, "/warn @alice_mama two")
    clock.advance(timedelta(days=31))
    await bot.say(GROUP, MOD, "/warn @alice_mama three")
    assert "第 1 次" in bot.replies(GROUP)[-1]
    assert calls(bot, "restrictChatMember") == []


async def test_unwarn_withdraws_the_latest_and_warns_lists_them(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, BOB, "hello")
    await bot.say(GROUP, MOD, "/warn rude", reply_to=message_id)
    await bot.say(GROUP, MOD, "/warn spam", reply_to=message_id)
    await bot.say(GROUP, MOD, "/warns", reply_to=message_id)
    listing = bot.replies(GROUP)[-1]
    assert listing.startswith("Bob has 2 active warning(s):") and "rude" in listing and "spam" in listing
    await bot.say(GROUP, MOD, "/unwarn", reply_to=message_id)
    assert bot.replies(GROUP)[-1] == "Withdrew Bob's latest warning; 1 active warning(s) left."
    await bot.say(GROUP, MOD, "/unwarn @bob_dad")
    await bot.say(GROUP, MOD, "/unwarn @bob_dad")
    assert bot.replies(GROUP)[-1] == "Nothing to undo: there is no active warning, or it was already undone."
    await bot.say(GROUP, MOD, "/warns @bob_dad")
    assert bot.replies(GROUP)[-1] == "Bob has no active warnings."


async def test_mute_takes_a_duration_and_unmute_gives_the_group_permissions_back(mod_bot, clock):
    bot = await mod_bot()
    message_id = await post(bot, BOB)
    await bot.say(GROUP, MOD, "/mute 2h calm down", reply_to=message_id)
    [restrict] = calls(bot, "restrictChatMember")
    assert restrict["until_date"] == int((clock.now() + timedelta(hours=2)).timestamp())
    assert bot.replies(GROUP)[-1] == "🔇 Bob is muted for 2h. Reason: calm down."
    assert bot.fake.member(GROUP, BOB)["status"] == "restricted"
    await bot.say(GROUP, MOD, "/unmute @bob_dad")
    assert bot.fake.member(GROUP, BOB)["status"] == "member"
    assert bot.replies(GROUP)[-1] == "🔈 Bob can write again."
    await bot.say(GROUP, MOD, "/mute 2x", reply_to=message_id)
    assert bot.replies(GROUP)[-1].startswith("Reply to the member's message with /mute [10m|2h|1d]")


async def test_mute_without_a_duration_uses_the_default(mod_bot, clock):
    bot = await mod_bot(default_mute="30m")
    await bot.say(GROUP, MOD, "/mute @bob_dad")
    assert calls(bot, "restrictChatMember")[0]["until_date"] == int((clock.now() + timedelta(minutes=30)).timestamp())


async def test_kick_ban_and_unban_by_username_or_id(mod_bot):
    bot = await mod_bot()
    await post(bot, BOB)
    await bot.say(GROUP, MOD, "/kick @bob_dad off topic")
    assert bot.fake.member(GROUP, BOB)["status"] == "left"
    assert bot.replies(GROUP)[-1] == "👋 Bob has been removed from the group. Reason: off topic."
    await bot.say(GROUP, MOD, f"/ban {BOB} scam")
    assert bot.fake.member(GROUP, BOB)["status"] == "kicked"
    await bot.say(GROUP, MOD, f"/unban {BOB}")
    assert bot.fake.member(GROUP, BOB)["status"] == "left"
    assert [kind for kind, *_ in await actions(bot)] == ["kick", "ban", "unban"]


async def test_del_deletes_the_replied_message_and_the_command(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, ALICE, "spam spam")
    command = await bot.say(GROUP, MOD, "/del", reply_to=message_id)
    assert bot.fake.get_message(GROUP, message_id) is None
    assert bot.fake.get_message(GROUP, command["message"]["message_id"]) is None
    assert await actions(bot) == [("delete", str(ALICE), str(MOD), "done")]
    await bot.say(GROUP, MOD, "/del")
    assert bot.replies(GROUP)[-1] == "Reply to the message to delete with /del."


async def test_members_are_refused_politely_and_the_attempt_is_stored(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, ALICE)
    await bot.say(GROUP, BOB, "/ban", reply_to=message_id)
    assert bot.replies(GROUP)[-1] == "Sorry, only the group's moderators can do that."
    assert await actions(bot) == [("refused", str(BOB), str(BOB), "done")]
    assert calls(bot, "banChatMember") == []


async def test_configured_moderators_and_operators_may_act(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, ALICE)
    await bot.say(GROUP, HELPER, "/warn one", reply_to=message_id)
    await bot.say(GROUP, OPERATOR, "/warn two", reply_to=message_id)
    assert [actor for _, _, actor, _ in await actions(bot)] == [str(HELPER), str(OPERATOR)]


async def test_a_new_administrator_may_act_once_telegram_says_so(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, ALICE)
    await bot.say(GROUP, BOB, "/warn", reply_to=message_id)  # not an admin yet: the list is cached
    before = bot.fake.member(GROUP, BOB)
    after = bot.fake.set_admin(GROUP, BOB)
    await bot.feed(bot.fake.inject({"chat_member": {
        "chat": {"id": GROUP, "type": "supergroup", "title": "宝妈交流群"}, "from": {"id": MOD, "is_bot": False, "first_name": "Mod"},
        "date": 1, "old_chat_member": before, "new_chat_member": after,
    }}))  # fmt: skip
    await bot.say(GROUP, BOB, "/warn now I can", reply_to=message_id)
    assert [kind for kind, *_ in await actions(bot)] == ["refused", "warn"]


async def test_administrators_cannot_be_warned_or_muted(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, MOD)
    await bot.say(GROUP, HELPER, "/mute 1h", reply_to=message_id)
    assert bot.replies(GROUP)[-1] == "Mod is an administrator of this group, so I can't do that."
    assert calls(bot, "restrictChatMember") == []


async def test_a_bot_without_rights_tells_the_moderator_and_keeps_the_record(mod_bot):
    bot = await mod_bot(bot_status="member")
    message_id = await post(bot, ALICE)
    await bot.say(GROUP, MOD, "/mute 1h", reply_to=message_id)
    assert bot.replies(GROUP)[-1] == (
        "I couldn't mute: I'm not an administrator of this group, or I lack the right to do it "
        "(delete messages / ban users). Please give me those rights."
    )
    await bot.say(GROUP, MOD, "/del", reply_to=message_id)
    assert bot.fake.get_message(GROUP, message_id) is not None
    assert [(kind, outcome) for kind, _, _, outcome in await actions(bot)] == [("mute", "no_rights"), ("delete", "no_rights")]


async def test_unknown_names_get_the_usage(mod_bot):
    bot = await mod_bot()
    await bot.say(GROUP, MOD, "/warn @nobody_here spam")
    assert bot.replies(GROUP)[-1] == "Reply to the member's message with /warn REASON (or /warn @username REASON)."


async def test_every_action_goes_to_the_log_chat_and_undo_lifts_it(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, BOB)
    await bot.say(GROUP, MOD, "/mute 1d shouting", reply_to=message_id)
    [entry] = bot.fake.sent_messages(LOG_CHAT)
    assert entry["text"].startswith("#1 禁言：Bob（id 102），操作人 201，群 -1001，时长 1d。原因：shouting")
    button = entry["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "↩️ 撤销"
    await bot.feed(bot.fake.callback_query(LOG_CHAT, BOB, entry["message_id"], button["callback_data"]))
    assert bot.fake.member(GROUP, BOB)["status"] == "restricted"  # a member may not undo
    await bot.feed(bot.fake.callback_query(LOG_CHAT, MOD, entry["message_id"], button["callback_data"]))
    assert bot.fake.member(GROUP, BOB)["status"] == "member"
    amended = bot.fake.get_message(LOG_CHAT, entry["message_id"])
    assert amended["text"].endswith("↩️ 已由 201 撤销") and "reply_markup" not in amended
    assert [kind for kind, *_ in await actions(bot)] == ["mute", "unmute"]
    await bot.feed(bot.fake.callback_query(LOG_CHAT, MOD, entry["message_id"], button["callback_data"]))
    assert [kind for kind, *_ in await actions(bot)] == ["mute", "unmute"]  # undone once only


async def test_undoing_a_warning_from_the_log_withdraws_it(mod_bot):
    bot = await mod_bot(log_chat=None)  # falls back to the admin chat
    await bot.say(GROUP, MOD, "/warn @alice_mama one")
    [entry] = bot.fake.sent_messages(ADMIN_CHAT)
    data = entry["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await bot.feed(bot.fake.callback_query(ADMIN_CHAT, OPERATOR, entry["message_id"], data))
    assert await bot.app.moderation.warnings(ChatRef(PLATFORM, str(GROUP)), UserRef(PLATFORM, str(ALICE))) == []
    assert [kind for kind, *_ in await actions(bot)] == ["warn", "unwarn"]


async def test_a_custom_ladder_bans_at_two(mod_bot):
    bot = await mod_bot(ladder=[LadderStep(warnings=2, action="ban")])
    await bot.say(GROUP, MOD, "/warn @bob_dad a")
    await bot.say(GROUP, MOD, "/warn @bob_dad b")
    assert bot.fake.member(GROUP, BOB)["status"] == "kicked"


async def test_reports_alert_the_admin_chat_once_and_are_merged(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, BOB, "buy followers cheap")
    await bot.say(GROUP, ALICE, "/report 广告", reply_to=message_id)
    assert bot.replies(GROUP)[-1] == "谢谢，已通知管理员。🙏"
    [alert] = bot.fake.sent_messages(ADMIN_CHAT)
    assert "Bob" in alert["text"] and "（已被举报 1 次）" in alert["text"] and f"https://t.me/c/1/{message_id}" in alert["text"]
    await bot.say(GROUP, ALICE, "/report", reply_to=message_id)
    assert bot.replies(GROUP)[-1] == "你已经举报过这条消息了，管理员已收到。"
    await bot.say(GROUP, MOD, "/report scam", reply_to=message_id)
    assert len(bot.fake.sent_messages(ADMIN_CHAT)) == 1
    alert = bot.fake.get_message(ADMIN_CHAT, alert["message_id"])
    assert "（已被举报 2 次）" in alert["text"] and "最新原因：scam" in alert["text"]
    await bot.say(GROUP, ALICE, "/report")
    assert bot.replies(GROUP)[-1] == "请回复要举报的消息并发送 /report [原因]。"



async def test_a_member_who_left_can_still_be_banned_by_id_and_unbanned_from_the_log(mod_bot):
    bot = await mod_bot()
    await bot.feed(bot.fake.user_leaves(GROUP, BOB))
    await bot.say(GROUP, MOD, f"/ban {BOB} scam links")
    assert bot.fake.member(GROUP, BOB)["status"] == "kicked"
    assert bot.replies(GROUP)[-1] == "🚫 Bob has been banned from the group. Reason: scam links."
    entry = bot.fake.sent_messages(LOG_CHAT)[-1]
    data = entry["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await bot.feed(bot.fake.callback_query(LOG_CHAT, MOD, entry["message_id"], data))
    assert bot.fake.member(GROUP, BOB)["status"] == "left"
    assert [kind for kind, *_ in await actions(bot)] == ["ban", "unban"]


async def test_moderation_commands_in_private_do_nothing_harmful(mod_bot):
    bot = await mod_bot()
    await bot.say(MOD, MOD, "/ban 102")
    assert calls(bot, "banChatMember") == []
    assert await actions(bot) == []
