"""Parenting questions through the Dispatcher: /ask, private questions, quiet answers in groups with a
cooldown, emergencies (with the admin-chat alert), and questions kept for operators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.config import CommunitySettings, FaqSettings
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.harness import BotHarness
from models.tables import FaqQuestion
from tests.dispatcher.conftest import ALICE, BOB, GROUP, settings_for

ADMIN_CHAT = -100999
OPERATOR = 999


@pytest.fixture
async def faq_bot(database_url, clock):
    async def build(**faq: object) -> BotHarness:
        fake = FakeTelegram(clock=lambda: clock.now().timestamp())
        fake.add_chat(GROUP, "宝妈交流群")
        fake.add_chat(ADMIN_CHAT, "Organisers")
        fake.add_user(ALICE, "Alice", language_code="zh-hans")
        fake.add_user(BOB, "Bob", language_code="en")
        settings = settings_for(database_url).model_copy(
            update={
                "community": CommunitySettings(name="Test Mamas", operators=[OPERATOR], admin_chat_id=ADMIN_CHAT),
                "faq": FaqSettings(**faq),
            }
        )
        harness = BotHarness(settings, fake=fake, clock=clock)
        await harness.__aenter__()
        built.append(harness)
        return harness

    built: list[BotHarness] = []
    yield build
    for harness in built:
        await harness.__aexit__(None, None, None)


def texts(bot: BotHarness, chat_id: int) -> list[str]:
    return bot.replies(chat_id)


async def test_ask_answers_with_heading_source_disclaimer_and_did_you_mean(faq_bot):
    bot = await faq_bot()
    await bot.say(GROUP, ALICE, "/ask 宝宝几个月可以加辅食")
    [message] = bot.fake.sent_messages(GROUP)
    assert message["text"].startswith("📖 什么时候添加辅食")
    assert "参考：" in message["text"]
    assert message["text"].endswith("（以上是一般育儿知识，不能代替医生的诊断；宝宝或自己不舒服，请及时就医。）")
    buttons = [row[0] for row in message.get("reply_markup", {}).get("inline_keyboard", [])]
    assert 1 <= len(buttons) <= 2
    await bot.feed(bot.fake.callback_query(GROUP, ALICE, message["message_id"], buttons[0]["callback_data"]))
    assert texts(bot, GROUP)[-1].startswith("📖 ")
    assert texts(bot, GROUP)[-1] != message["text"]


async def test_ask_without_a_question_shows_usage_in_her_language(faq_bot):
    bot = await faq_bot()
    await bot.say(GROUP, BOB, "/ask")
    assert texts(bot, GROUP)[-1] == "Usage: /ask your question, e.g. /ask when can my baby start solids"


async def test_a_question_in_private_is_answered_in_her_language(faq_bot):
    bot = await faq_bot()
    await bot.say(BOB, BOB, "when can my baby start solids")
    assert texts(bot, BOB)[-1].startswith("📖 When to start solid foods")
    await bot.say(BOB, BOB, "is it normal that my baby shakes his head a lot?")  # not confident: kept as a gap
    await bot.settle()
    [(_, text, _, _)] = await bot.app.faq.unanswered()
    assert text.startswith("is it normal")
    async with bot.app.storage.unit_of_work(read_only=True) as uow:
        assert await uow.schedule.groups() == []  # the private chat was not recorded as a group


async def test_groups_hear_answers_to_clear_questions_only_and_not_twice_in_ten_minutes(faq_bot, clock):
    bot = await faq_bot()
    await bot.say(GROUP, ALICE, "早上好呀姐妹们")
    await bot.say(GROUP, BOB, "哈哈哈哈 今天天气真好")
    assert texts(bot, GROUP) == []
    await bot.say(GROUP, ALICE, "宝宝几个月可以加辅食？")
    [answer] = bot.fake.sent_messages(GROUP)
    assert answer["text"].startswith("📖 什么时候添加辅食")
    clock.advance(timedelta(minutes=5))
    await bot.say(GROUP, ALICE, "请问娃几个月能吃辅食呀")
    assert texts(bot, GROUP)[-1] == f"关于“什么时候添加辅食”，刚刚回答过，请看这里 👇\nhttps://t.me/c/1/{answer['message_id']}"
    clock.advance(timedelta(minutes=6))
    await bot.say(GROUP, ALICE, "宝宝几个月加辅食比较好？")
    assert texts(bot, GROUP)[-1].startswith("📖 什么时候添加辅食")


async def test_passive_mode_off_answers_only_ask_but_still_catches_emergencies(faq_bot):
    bot = await faq_bot(passive=False)
    await bot.say(GROUP, ALICE, "宝宝几个月可以加辅食？")
    assert texts(bot, GROUP) == []
    await bot.say(GROUP, ALICE, "宝宝突然抽搐了怎么办")
    assert texts(bot, GROUP)[-1].startswith("🚨 这听起来可能很紧急！请马上拨打 120")


async def test_an_emergency_gets_the_reply_at_once_and_the_moderators_an_alert(faq_bot):
    bot = await faq_bot(emergency_number="999")
    # Even as a reply that says thank you (which would otherwise only pay thanks points).
    first = await bot.say(GROUP, BOB, "hello")
    await bot.say(GROUP, ALICE, "谢谢 我家宝宝才两个月 现在发烧38.5", reply_to=first["message"]["message_id"])
    reply = texts(bot, GROUP)[-1]
    assert reply.startswith("🚨 这听起来可能很紧急！请马上拨打 999")
    assert "3 个月以下的宝宝体温达到 38 ℃ 或以上" in reply
    alert = texts(bot, ADMIN_CHAT)[-1]
    assert alert.startswith("🚨 紧急情况提醒：宝妈交流群 里 Alice 发了：")
    assert "https://t.me/c/1/" in alert


async def test_unconfident_questions_are_kept_for_operators(faq_bot):
    bot = await faq_bot()
    await bot.say(GROUP, ALICE, "宝宝总是摇头是怎么回事？")  # a parenting question the knowledge base does not cover
    await bot.say(GROUP, BOB, "今晚吃什么好呢？")  # not about parenting: not kept
    assert texts(bot, GROUP) == []
    await bot.settle()  # gaps are written once a minute, not per message
    async with bot.app.storage.engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(FaqQuestion))).scalar_one() == 1
    [(_, text, _, _)] = await bot.app.faq.unanswered()
    assert text == "宝宝总是摇头是怎么回事？"


async def test_points_and_rules_are_answered_from_the_live_configuration(faq_bot):
    bot = await faq_bot()
    await bot.say(GROUP, ALICE, "/ask 积分怎么获得")
    answer = texts(bot, GROUP)[-1]
    assert "每日打卡 /checkin：+10 分" in answer  # settings_for: checkin = 10
    assert "连续 3 天 +2" in answer
    await bot.say(GROUP, BOB, "/ask what are the group rules")
    assert "No ads, reselling" in texts(bot, GROUP)[-1]


async def test_rules_shows_the_configured_rules_in_her_language(faq_bot):
    bot = await faq_bot()
    await bot.say(GROUP, ALICE, "/rules")
    assert texts(bot, GROUP)[-1].startswith("📖 群规\n\n1. 友善交流")
    await bot.say(GROUP, BOB, "/rules")
    assert "2. No ads, reselling, QR codes or invitation links." in texts(bot, GROUP)[-1]
