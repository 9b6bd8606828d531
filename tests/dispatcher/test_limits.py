"""Telegram's limits through the Dispatcher: mute durations, newcomers' limits from a late join, texts
longer than a message, replies as reply_parameters, complete permissions, and forged button data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiogram.types import ChatPermissions
from sqlalchemy import func, select

from bot.config import WelcomeSettings
from bot.domain import ChatRef, UserRef
from bot.moderation.moderation import Person
from bot.testing.harness import BotHarness
from models.tables import LedgerEntry, MemberJoin, ModerationAction
from tests.dispatcher.conftest import ALICE, BOB, GROUP
from tests.dispatcher.test_guard import CAROL, TEXT_ONLY, guard_bot, join  # noqa: F401 - fixtures
from tests.dispatcher.test_moderation import ADMIN_CHAT, LOG_CHAT, MOD, MUTED, calls, mod_bot, post  # noqa: F401

EVERY_PERMISSION = set(ChatPermissions.model_fields)


def en(bot: BotHarness, key: str, **params: Any) -> str:
    return bot.app.i18n.translators["en"](key, **params)


async def stored(bot: BotHarness, table: Any) -> int:
    async with bot.app.storage.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


def no_apology(bot: BotHarness, chat: int = GROUP) -> bool:
    """No "something went wrong" in either language: it would invite the moderator to act again."""
    apologies = {translate("errors.generic") for translate in bot.app.i18n.translators.values()}
    return not any(text in apologies for text in bot.replies(chat))


def fail_sends_to(bot: BotHarness, chat_id: int) -> None:
    """The fake answers 400 to every sendMessage into ``chat_id`` (a greeting Telegram refuses)."""
    call = bot.fake.call

    async def refusing(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == "sendMessage" and params.get("chat_id") == chat_id:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: refused by the test"}
        return await call(method, params)

    bot.fake.call = refusing  # type: ignore[method-assign]


# ---------------------------------------------------------------- 1. mute durations


@pytest.mark.parametrize("duration", ["10s", "29s", "400d", "367d", "999999w", "999999w999999w999999d"])
async def test_a_mute_telegram_would_make_permanent_is_refused_with_the_range(mod_bot, duration):
    bot = await mod_bot()
    message_id = await post(bot, BOB)
    before = await stored(bot, ModerationAction)
    await bot.say(GROUP, MOD, f"/mute {duration} shouting", reply_to=message_id)
    assert bot.replies(GROUP)[-1] == en(bot, "moderation.mute_range", min="30s", max="366d")
    assert calls(bot, "restrictChatMember") == []
    assert bot.fake.member(GROUP, BOB)["status"] == "member"
    assert await stored(bot, ModerationAction) == before


async def test_the_range_is_told_in_the_moderators_language(mod_bot):
    bot = await mod_bot(moderators=[ALICE])  # Alice speaks Chinese
    await bot.say(GROUP, ALICE, "/mute @bob_dad 400d")
    assert bot.replies(GROUP)[-1] == "禁言时长需在 30s 到 366d 之间（更短或更长的时长会被 Telegram 当作永久禁言），例如 /mute 2h。"


async def test_mutes_at_the_edges_of_the_range_end_inside_telegrams_window(mod_bot, clock):
    bot = await mod_bot()
    await bot.say(GROUP, MOD, "/mute @bob_dad 30s")
    await bot.say(GROUP, MOD, "/mute @alice_mama 366d")
    assert "366d" in bot.replies(GROUP)[-1]  # kept a few seconds inside Telegram's window, shown as asked
    short, long = calls(bot, "restrictChatMember")
    now = clock.now().timestamp()
    assert 30 < short["until_date"] - now < 60
    assert 365 * 86400 < long["until_date"] - now < 366 * 86400
    assert bot.fake.member(GROUP, BOB)["until_date"] == short["until_date"]  # not "forever" (0)
    assert bot.fake.member(GROUP, ALICE)["until_date"] == long["until_date"]


# ---------------------------------------------------------------- 2. newcomers from a late join


async def test_a_late_join_limits_her_only_for_what_is_left_of_her_first_day(guard_bot, clock):
    bot = await guard_bot(welcome=WelcomeSettings(captcha="off"))
    update = bot.fake.user_joins(GROUP, CAROL, date=int((clock.now() - timedelta(hours=20)).timestamp()))
    await bot.feed(update)
    [restrict] = calls(bot, "restrictChatMember")
    assert restrict["until_date"] == int((clock.now() + timedelta(hours=4)).timestamp())
    assert bot.fake.member(GROUP, CAROL)["until_date"] == restrict["until_date"]


@pytest.mark.parametrize("ago", [timedelta(hours=23, minutes=59, seconds=50), timedelta(hours=30)])
async def test_a_join_delivered_after_her_first_day_is_not_restricted(guard_bot, clock, ago):
    bot = await guard_bot(welcome=WelcomeSettings(captcha="off"))
    await bot.feed(bot.fake.user_joins(GROUP, CAROL, date=int((clock.now() - ago).timestamp())))
    assert calls(bot, "restrictChatMember") == []
    assert bot.fake.member(GROUP, CAROL)["status"] == "member"


@pytest.mark.parametrize("ago", [timedelta(hours=23, minutes=59, seconds=45), timedelta(hours=25)])
async def test_passing_the_captcha_at_the_end_of_her_first_day_lifts_everything(guard_bot, clock, ago):
    bot = await guard_bot(welcome=WelcomeSettings())
    await bot.feed(bot.fake.user_joins(GROUP, CAROL, date=int((clock.now() - ago).timestamp())))
    greeting = bot.fake.sent_messages(GROUP)[-1]
    button = greeting["reply_markup"]["inline_keyboard"][0][0]
    await bot.feed(bot.fake.callback_query(GROUP, CAROL, greeting["message_id"], button["callback_data"]))
    released = calls(bot, "restrictChatMember")[-1]
    assert "until_date" not in released and all(released["permissions"].values())
    assert bot.fake.member(GROUP, CAROL)["status"] == "member"


# ---------------------------------------------------------------- 3. long texts


async def test_a_report_with_a_5000_character_reason_reaches_the_admin_chat(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, BOB, "buy followers cheap")
    await bot.say(GROUP, ALICE, "/report " + "这是广告。" * 1000, reply_to=message_id)
    [alert] = bot.fake.sent_messages(ADMIN_CHAT)
    assert "Bob" in alert["text"] and len(alert["text"]) <= 4096
    assert bot.replies(GROUP)[-1] == "谢谢，已通知管理员。🙏"


async def test_a_long_warning_reason_warns_once_and_is_answered_normally(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, BOB)
    await bot.say(GROUP, MOD, "/warn " + "Please stop. " * 400, reply_to=message_id)
    assert [kind for kind, *_ in await _actions(bot)] == ["warn"]
    reply = bot.replies(GROUP)[-1]
    assert reply.startswith("⚠️ Bob") and "Please stop. Please stop." in reply and "…" in reply
    assert no_apology(bot)
    async with bot.app.storage.engine.connect() as connection:
        reason = (await connection.execute(select(ModerationAction.reason))).scalar_one()
    assert len(reason) <= 400 and reason.endswith("…")


async def _actions(bot: BotHarness) -> list[tuple[Any, ...]]:
    async with bot.app.storage.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(select(ModerationAction.kind).order_by(ModerationAction.id))]


async def test_long_rules_still_greet_her_with_the_button(guard_bot):
    bot = await guard_bot(welcome=WelcomeSettings())
    bot.dispatcher["rules"] = {"zh-CN": "请友善交流，互相尊重。\n" * 600, "en": "Be kind.\n" * 800}  # [community].rules
    await join(bot)
    greeting = bot.fake.sent_messages(GROUP)[-1]
    assert len(greeting["text"]) <= 4096 and "…" in greeting["text"]
    assert greeting["text"].endswith(bot.app.i18n.translators["zh-CN"]("welcome.captcha_button", minutes=5))
    assert greeting["reply_markup"]["inline_keyboard"][0][0]["text"] == "🙋 我是家长，不是机器人"
    assert bot.fake.member(GROUP, CAROL)["status"] == "restricted"


async def test_a_greeting_telegram_refuses_lifts_her_mute_and_the_captcha_never_expires_on_her(guard_bot, clock):
    bot = await guard_bot(welcome=WelcomeSettings())
    fail_sends_to(bot, GROUP)
    await join(bot)
    # Muted at the join; the greeting with her button failed, so the mute became the first day's limits.
    assert [call["permissions"] for call in calls(bot, "restrictChatMember")] == [MUTED, TEXT_ONLY]
    assert bot.fake.restriction_end(GROUP, CAROL) == int((clock.now() + timedelta(hours=24)).timestamp())
    assert bot.fake.member(GROUP, CAROL)["can_send_messages"] is True
    clock.advance(timedelta(minutes=10))
    assert await bot.app.welcome.expire() == []
    assert bot.fake.member(GROUP, CAROL)["can_send_messages"] is True
    async with bot.app.storage.engine.connect() as connection:
        assert (await connection.execute(select(MemberJoin.status))).scalar_one() == "none"


async def test_a_greeting_telegram_refuses_releases_her_when_there_are_no_first_day_limits(guard_bot):
    bot = await guard_bot(welcome=WelcomeSettings(), newcomer_hours=0)
    fail_sends_to(bot, GROUP)
    await join(bot)
    muted, released = calls(bot, "restrictChatMember")
    assert muted["permissions"] == MUTED and all(released["permissions"].values())
    assert bot.fake.member(GROUP, CAROL)["status"] == "member"


def on_call(bot: BotHarness, method: str, before: Any) -> None:
    """Run ``before(params)`` when the bot calls ``method``, before the fake answers it."""
    call = bot.fake.call

    async def hooked(name: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if name == method:
            await before(params)
        return await call(name, params)

    bot.fake.call = hooked  # type: ignore[method-assign]


async def test_the_captcha_mute_is_in_place_before_her_greeting_goes_out(guard_bot):
    """Restricting is not paced like messages: in a raid, every account is muted at once."""
    bot = await guard_bot(welcome=WelcomeSettings())
    while_greeting: list[Any] = []

    async def greeting(params: dict[str, Any]) -> None:
        if params.get("chat_id") == GROUP:
            while_greeting.append(bot.fake.member(GROUP, CAROL).get("can_send_messages"))

    on_call(bot, "sendMessage", greeting)
    await join(bot)
    assert while_greeting == [False]
    methods = [call.method for call in bot.fake.requests if call.method in ("sendMessage", "restrictChatMember")]
    assert methods == ["restrictChatMember", "sendMessage"]
    assert bot.fake.member(GROUP, CAROL)["can_send_messages"] is False


async def test_her_time_to_answer_starts_when_a_waiting_greeting_is_sent(guard_bot, clock):
    bot = await guard_bot(welcome=WelcomeSettings(timeout="5m"))
    during_wait: list[Any] = []

    async def paced(params: dict[str, Any]) -> None:  # the greeting waits its turn past her deadline
        if params.get("chat_id") == GROUP:
            clock.advance(timedelta(minutes=10))
            during_wait.append(await bot.app.welcome.expire())

    on_call(bot, "sendMessage", paced)
    await join(bot)
    assert during_wait == [[]]
    assert bot.fake.member(GROUP, CAROL)["can_send_messages"] is False
    clock.advance(timedelta(minutes=4))
    assert await bot.app.welcome.expire() == []
    clock.advance(timedelta(minutes=2))
    [expired] = await bot.app.welcome.expire()
    assert expired.user.external_id == str(CAROL)


async def test_a_greeting_never_sent_has_her_mute_lifted_at_her_deadline(guard_bot, clock):
    """The process stopped between her mute and her greeting: the expiry pass lets her out."""
    bot = await guard_bot(welcome=WelcomeSettings(timeout="5m"))
    welcome = bot.app.welcome
    joined = await welcome.joined(ChatRef("telegram", str(GROUP)), Person(UserRef("telegram", str(CAROL)), "Carol"), None, clock.now())
    welcome.unsent(joined.join)
    assert bot.fake.member(GROUP, CAROL)["can_send_messages"] is False
    clock.advance(timedelta(minutes=6))
    assert len(await welcome.expire()) == 1
    assert calls(bot, "restrictChatMember")[-1]["permissions"] == TEXT_ONLY
    assert bot.fake.member(GROUP, CAROL)["can_send_messages"] is True
    async with bot.app.storage.engine.connect() as connection:
        assert (await connection.execute(select(MemberJoin.status))).scalar_one() == "none"


async def test_an_answer_released_before_her_captcha_mute_landed_does_not_leave_her_muted(guard_bot):
    bot = await guard_bot(welcome=WelcomeSettings())
    carol = UserRef("telegram", str(CAROL))
    answered: list[str] = []

    async def answer_first(params: dict[str, Any]) -> None:  # her answer is handled while the mute is on its way
        if params.get("permissions") == MUTED and not answered:
            answered.append((await bot.app.welcome.answer(ChatRef("telegram", str(GROUP)), carol, carol, 0)).result)

    on_call(bot, "restrictChatMember", answer_first)
    await join(bot)
    assert answered == ["passed"]
    assert calls(bot, "restrictChatMember")[-1]["permissions"] == TEXT_ONLY
    assert bot.fake.member(GROUP, CAROL)["can_send_messages"] is True


async def test_an_award_with_a_6000_character_note_is_made_once_and_confirmed(mod_bot):
    bot = await mod_bot()
    await bot.say(GROUP, MOD, "/award @bob_dad +5 " + "thanks for the great tips! " * 230)
    assert await stored(bot, LedgerEntry) == 1
    reply = bot.replies(GROUP)[-1]
    assert reply.startswith("@bob_dad gets 5 points and now has 5.\nReason: thanks for the great tips!") and reply.endswith("…")
    assert no_apology(bot)


async def test_a_5000_character_redeem_gets_the_usage(mod_bot):
    bot = await mod_bot()
    await bot.say(GROUP, BOB, "/redeem " + "x" * 5000)
    assert bot.replies(GROUP)[-1] == en(bot, "shop.usage")


# ---------------------------------------------------------------- 4. replies


async def test_replies_go_out_as_reply_parameters_that_survive_a_deleted_message(mod_bot):
    bot = await mod_bot()
    message_id = await post(bot, BOB)
    await bot.say(GROUP, MOD, "/warn spam", reply_to=message_id)
    sent = [call.params for call in bot.fake.calls("sendMessage") if call.params["chat_id"] == GROUP]
    assert sent and all("reply_to_message_id" not in params for params in sent)
    reply = sent[-1]["reply_parameters"]
    assert reply["message_id"] == message_id and reply["allow_sending_without_reply"] is True
    await bot.bot.send_message(GROUP, "hello", reply_to_message_id=999_999)  # legacy form, message gone
    last = bot.fake.calls("sendMessage")[-1].params
    assert "reply_to_message_id" not in last
    assert last["reply_parameters"] == {"message_id": 999_999, "allow_sending_without_reply": True}


# ---------------------------------------------------------------- 5. complete permissions


async def test_unmute_lifts_every_restriction_even_where_the_groups_defaults_are_not_all_true(mod_bot):
    # Sending the group's defaults back would leave her "restricted" with a frozen copy of them.
    bot = await mod_bot()
    bot.fake.set_chat_permissions(GROUP, can_send_polls=False, can_invite_users=False, can_pin_messages=False)
    await bot.say(GROUP, MOD, "/mute @bob_dad 1h")
    assert bot.fake.restriction_end(GROUP, BOB) is not None
    await bot.say(GROUP, MOD, "/unmute @bob_dad")
    muted, released = calls(bot, "restrictChatMember")
    assert set(muted["permissions"]) == EVERY_PERMISSION and not any(muted["permissions"].values())
    assert set(released["permissions"]) == EVERY_PERMISSION and all(released["permissions"].values())
    assert released["use_independent_chat_permissions"] is True
    assert bot.fake.restriction_end(GROUP, BOB) is None


async def test_passing_the_captcha_lifts_every_restriction(guard_bot):
    bot = await guard_bot(welcome=WelcomeSettings(), newcomer_hours=0)
    bot.fake.set_chat_permissions(GROUP, can_send_polls=False)
    await join(bot)
    assert bot.fake.restriction_end(GROUP, CAROL) is not None
    greeting = bot.fake.sent_messages(GROUP)[-1]
    button = greeting["reply_markup"]["inline_keyboard"][0][0]
    await bot.feed(bot.fake.callback_query(GROUP, CAROL, greeting["message_id"], button["callback_data"]))
    released = calls(bot, "restrictChatMember")[-1]
    assert set(released["permissions"]) == EVERY_PERMISSION and all(released["permissions"].values())
    assert bot.fake.restriction_end(GROUP, CAROL) is None


# ---------------------------------------------------------------- 7. forged button data


@pytest.mark.parametrize("data", ["modundo:9223372036854775808", "modundo:" + "9" * 40, "modundo:-1", "modundo:abc", "modundo:"])
async def test_a_forged_undo_button_is_answered_not_found_without_asking_the_database(mod_bot, monkeypatch, data):
    bot = await mod_bot()
    await bot.say(GROUP, MOD, "/warn @bob_dad spam")
    [entry] = bot.fake.sent_messages(LOG_CHAT)
    looked_up: list[int] = []
    action = bot.app.moderation.action

    async def spy(action_id: int) -> Any:
        looked_up.append(action_id)
        return await action(action_id)

    monkeypatch.setattr(bot.app.moderation, "action", spy)
    update = bot.fake.callback_query(LOG_CHAT, MOD, entry["message_id"], data)
    await bot.feed(update)
    answer = bot.fake.callback_answers[update["callback_query"]["id"]]
    assert answer["text"] == "That action was not found."
    assert [id for id in looked_up if id >= 2**63 or id < 1] == []


async def test_an_undo_of_an_unknown_action_says_not_found(mod_bot):
    bot = await mod_bot()
    await bot.say(GROUP, MOD, "/warn @bob_dad spam")
    [entry] = bot.fake.sent_messages(LOG_CHAT)
    update = bot.fake.callback_query(LOG_CHAT, MOD, entry["message_id"], "modundo:424242")
    await bot.feed(update)
    assert bot.fake.callback_answers[update["callback_query"]["id"]]["text"] == "That action was not found."


@pytest.mark.parametrize("data", [f"captcha:{CAROL}:99", f"captcha:{2**64}:0", "captcha:x:0"])
async def test_forged_captcha_data_is_answered_and_does_nothing(guard_bot, data):
    bot = await guard_bot(welcome=WelcomeSettings())
    await join(bot)
    greeting = bot.fake.sent_messages(GROUP)[-1]
    update = bot.fake.callback_query(GROUP, CAROL, greeting["message_id"], data)
    await bot.feed(update)
    assert update["callback_query"]["id"] in bot.fake.callback_answers
    assert bot.fake.member(GROUP, CAROL)["status"] == "restricted"


async def test_any_text_longer_than_telegram_takes_is_cut_rather_than_refused(mod_bot):
    bot = await mod_bot()
    sent = await bot.bot.send_message(GROUP, "一二三四五六七八九十\n" * 500)
    text = bot.fake.get_message(GROUP, sent.message_id)["text"]
    assert len(text) <= 4096 and text.endswith("一二三四五六七八九十…")
    await bot.bot.edit_message_text("👶" * 3000, chat_id=GROUP, message_id=sent.message_id)
    assert len(bot.fake.get_message(GROUP, sent.message_id)["text"].encode("utf-16-le")) // 2 <= 4096
    update = bot.fake.callback_query(GROUP, BOB, sent.message_id, "faq:feeding.water")
    await bot.bot.answer_callback_query(update["callback_query"]["id"], text="z" * 300)
    assert len(bot.fake.callback_answers[update["callback_query"]["id"]]["text"]) == 200


@pytest.mark.parametrize("data", ["forget:maybe", "faq:" + "x" * 61, "nobody-knows-this"])
async def test_button_data_no_handler_takes_is_still_answered(mod_bot, data):
    bot = await mod_bot()
    await bot.say(GROUP, MOD, "/warn @bob_dad spam")
    [entry] = bot.fake.sent_messages(LOG_CHAT)
    update = bot.fake.callback_query(LOG_CHAT, MOD, entry["message_id"], data)
    await bot.feed(update)
    assert update["callback_query"]["id"] in bot.fake.callback_answers
