"""Messages sent on behalf of a chat: a channel (``from`` @Channel_Bot) or an anonymous group
administrator (``from`` @GroupAnonymousBot, ``sender_chat`` the group itself). Never an exception:
an anonymous administrator moderates as the group; a chat has no points, so /checkin is declined."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.testing.harness import BotHarness
from models.tables import Checkin, ModerationAction
from tests.dispatcher.conftest import ALICE, GROUP
from tests.dispatcher.test_moderation import actions, mod_bot  # noqa: F401 - mod_bot is a fixture

CHANNEL_BOT = 136817688  # @Channel_Bot: "from" of messages posted as a channel
ANONYMOUS_ADMIN = 1087968824  # @GroupAnonymousBot: "from" of an anonymous administrator's messages
CHANNEL = {"id": -1009000, "type": "channel", "title": "Mama Channel"}
APOLOGY = ("出了点问题", "something went wrong")


def as_chat(bot: BotHarness, sender: int, sender_chat: dict[str, Any], text: str) -> dict[str, Any]:
    bot.fake.add_user(sender, "Channel" if sender == CHANNEL_BOT else "Group", language_code=None, is_bot=True)
    update = bot.fake.user_message(GROUP, sender, text)
    update["message"]["sender_chat"] = sender_chat
    return update


def group_chat(bot: BotHarness) -> dict[str, Any]:
    return {"id": GROUP, "type": "supergroup", "title": "宝妈交流群"}


def no_apology(bot: BotHarness) -> bool:
    return not any(word in text for text in bot.replies(GROUP) for word in APOLOGY)


async def checkins(bot: BotHarness) -> int:
    async with bot.app.storage.engine.connect() as connection:
        return len((await connection.execute(select(Checkin.id))).all())


async def test_checkin_posted_as_a_channel_is_declined_politely(mod_bot):  # noqa: F811
    bot = await mod_bot()
    before = len(bot.replies(GROUP))
    await bot.feed(as_chat(bot, CHANNEL_BOT, CHANNEL, "/checkin"))
    replies = bot.replies(GROUP)[before:]
    assert replies == ["打卡积分只记在以个人身份发言的成员名下，这条消息是以「Mama Channel」的身份发出的。请用自己的账号发送 /checkin（管理员可以暂时关闭“匿名发言”）。"]
    assert await checkins(bot) == 0 and no_apology(bot)


async def test_checkin_by_an_anonymous_admin_is_declined_politely(mod_bot):  # noqa: F811
    bot = await mod_bot()
    await bot.feed(as_chat(bot, ANONYMOUS_ADMIN, group_chat(bot), "/checkin"))
    assert "以「宝妈交流群」的身份发出" in bot.replies(GROUP)[-1]
    assert await checkins(bot) == 0 and no_apology(bot)


async def test_member_commands_from_a_channel_are_ignored_without_error(mod_bot):  # noqa: F811
    bot = await mod_bot()
    before = len(bot.replies(GROUP))
    for command in ("/points", "/me", "/top", "/shop", "/redeem freeze", "/report spam", "/award 5", "/warn @alice_mama"):
        await bot.feed(as_chat(bot, CHANNEL_BOT, CHANNEL, command))
    assert bot.replies(GROUP)[before:] == []
    assert await actions(bot) == []  # not even a refused attempt: a channel is nobody


async def test_an_anonymous_admin_warns_as_the_group(mod_bot):  # noqa: F811
    bot = await mod_bot()
    await bot.feed(as_chat(bot, ANONYMOUS_ADMIN, group_chat(bot), "/warn @alice_mama 广告"))
    assert bot.replies(GROUP)[-1] == "⚠️ Alice，这是一次警告（第 1 次，共 3 次）。原因：广告。请遵守群规（/rules）。"
    assert await actions(bot) == [("warn", str(ALICE), str(GROUP), "done")]
    async with bot.app.storage.engine.connect() as connection:
        assert (await connection.execute(select(ModerationAction.source_key))).scalar_one() is not None
    assert no_apology(bot)


async def test_an_anonymous_admin_mutes_and_deletes(mod_bot):  # noqa: F811
    bot = await mod_bot()
    ad = (await bot.say(GROUP, ALICE, "hello"))["message"]["message_id"]
    await bot.feed(as_chat(bot, ANONYMOUS_ADMIN, group_chat(bot), "/mute @alice_mama 2h"))
    update = as_chat(bot, ANONYMOUS_ADMIN, group_chat(bot), "/del")
    update["message"]["reply_to_message"] = {k: v for k, v in bot.fake.get_message(GROUP, ad).items() if k != "reply_to_message"}
    await bot.feed(update)
    assert [(kind, actor) for kind, _, actor, _ in await actions(bot)] == [("mute", str(GROUP)), ("delete", str(GROUP))]
    assert bot.fake.get_message(GROUP, ad) is None and no_apology(bot)


async def test_a_linked_channels_automatic_forward_earns_and_counts_for_nobody(harness):
    # Telegram's 777000 account posts these; it is not flagged as a bot, so only sender_chat tells.
    from models.tables import LedgerEntry, UserAccount
    from tests.dispatcher.test_shares import LONG_POST

    harness.fake.add_user(777000, "Telegram", language_code=None)
    update = harness.fake.user_message(GROUP, 777000, LONG_POST)
    update["message"]["sender_chat"] = CHANNEL
    update["message"]["is_automatic_forward"] = True
    await harness.feed(update)
    await harness.app.buffer.flush()
    async with harness.app.storage.engine.connect() as connection:
        assert (await connection.execute(select(LedgerEntry.id))).all() == []
        accounts = (await connection.execute(select(UserAccount.external_id))).scalars().all()
    assert "777000" not in accounts
    assert harness.replies(GROUP) == []


async def test_a_linked_channels_automatic_forward_of_an_ad_is_not_filtered(mod_bot):  # noqa: F811
    # The channel's own post: no member wrote it, so no filter deletes, warns or mutes anyone for it.
    bot = await mod_bot()
    before = len(bot.replies(GROUP))
    bot.fake.add_user(777000, "Telegram", language_code=None)
    update = bot.fake.user_message(GROUP, 777000, "代购日韩奶粉，需要的加V：mama8888 私聊")
    update["message"]["sender_chat"] = CHANNEL
    update["message"]["is_automatic_forward"] = True
    await bot.feed(update)
    assert bot.fake.get_message(GROUP, update["message"]["message_id"]) is not None
    assert await actions(bot) == [] and bot.replies(GROUP)[before:] == []
