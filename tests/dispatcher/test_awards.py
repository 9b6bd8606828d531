"""/award: moderators add and deduct points; everyone else is refused; every change records who and why."""

from sqlalchemy import select

from models.tables import LedgerEntry, Membership
from tests.dispatcher.conftest import ALICE, BOB, GROUP

MOD = 301


async def rows(harness, statement):
    async with harness.app.storage.engine.connect() as connection:
        return (await connection.execute(statement)).all()


def make_moderator(harness) -> None:
    harness.fake.add_user(MOD, "Mod Mary", language_code="en")
    harness.fake.set_admin(GROUP, MOD)


async def test_a_moderator_awards_points_by_replying_and_the_ledger_records_who_and_why(harness):
    make_moderator(harness)
    share = await harness.say(GROUP, BOB, "Here is how we got through the first week of solids")
    await harness.say(GROUP, MOD, "/award 20 great share", reply_to=share["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "Bob gets 20 points and now has 20.\nReason: great share"
    [entry] = await rows(harness, select(LedgerEntry.delta, LedgerEntry.reason, LedgerEntry.actor, LedgerEntry.note))
    assert tuple(entry) == (20, "manual", str(MOD), "great share")


async def test_a_moderator_can_name_the_member_by_username(harness):
    make_moderator(harness)
    harness.fake.add_user(BOB, "Bob", language_code="en", username="BobMum")
    await harness.say(GROUP, BOB, "hello")
    await harness.app.buffer.flush()  # the bot learns usernames from the messages it sees
    await harness.say(GROUP, MOD, "/award @bobmum 5")
    assert harness.replies(GROUP)[-1] == "@bobmum gets 5 points and now has 5."


async def test_deductions_cannot_take_a_balance_below_zero(harness):
    make_moderator(harness)
    await harness.say(GROUP, BOB, "/checkin")  # 10 points
    post = await harness.say(GROUP, BOB, "buy cheap stuff here")
    await harness.say(GROUP, MOD, "/award -30 spam", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "This member has only 10 points; you can't deduct more than that."
    await harness.say(GROUP, MOD, "/award -10 spam", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "10 points taken from Bob, who now has 0.\nReason: spam"
    assert [tuple(r) for r in await rows(harness, select(Membership.balance))] == [(0,)]


async def test_members_who_are_not_moderators_are_refused_politely(harness):
    share = await harness.say(GROUP, ALICE, "分享一个辅食做法")
    await harness.say(GROUP, BOB, "/award 100", reply_to=share["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "Sorry, only group admins can change points."
    assert await rows(harness, select(LedgerEntry.id)) == []


async def test_configured_operators_may_award_without_being_group_admins(harness):
    harness.fake.add_user(999, "Olga", language_code="en")  # operator in the test settings
    share = await harness.say(GROUP, BOB, "tip")
    await harness.say(GROUP, 999, "/award 3", reply_to=share["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "Bob gets 3 points and now has 3."


async def test_a_moderator_cannot_award_herself(harness):
    make_moderator(harness)
    own = await harness.say(GROUP, MOD, "my post")
    await harness.say(GROUP, MOD, "/award 50", reply_to=own["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "You can't change your own points."


async def test_wrong_arguments_get_the_usage(harness):
    make_moderator(harness)
    for text in ("/award", "/award lots", "/award 20"):  # the last one names nobody and replies to nothing
        await harness.say(GROUP, MOD, text)
        assert harness.replies(GROUP)[-1].startswith("Usage: reply to a member's message with /award 20 reason")


async def test_an_unknown_username_is_explained(harness):
    make_moderator(harness)
    await harness.say(GROUP, MOD, "/award @nobody_here 5")
    assert harness.replies(GROUP)[-1].startswith("I haven't seen @nobody_here in this group yet.")


async def test_a_redelivered_award_command_pays_once(harness):
    make_moderator(harness)
    share = await harness.say(GROUP, BOB, "tip")
    command = harness.fake.user_message(GROUP, MOD, "/award 7", reply_to=share["message"]["message_id"])
    await harness.feed(command)
    harness.app.seen.forget("telegram", command["update_id"], str(harness.bot.id))  # as after a crash before the id was stored
    await harness.feed(command)
    assert [tuple(r) for r in await rows(harness, select(Membership.balance).where(Membership.balance > 0))] == [(7,)]
    assert harness.replies(GROUP)[-2:] == ["Bob gets 7 points and now has 7.", "Bob gets 7 points and now has 7."]


async def test_the_admin_list_is_fetched_once_per_five_minutes():
    from aiogram import Bot

    from bot.platforms.telegram.moderators import Moderators
    from bot.testing.fake_bot_api import FakeTelegram
    from bot.testing.session import FakeSession

    fake = FakeTelegram()
    fake.add_chat(GROUP, "G")
    fake.set_admin(GROUP, MOD)
    now = [1000.0]
    moderators = Moderators(frozenset(), monotonic=lambda: now[0])
    bot = Bot(fake.token, session=FakeSession(fake))
    assert await moderators.can_moderate(bot, GROUP, MOD)
    assert not await moderators.can_moderate(bot, GROUP, BOB)
    assert len(fake.calls("getChatAdministrators")) == 1
    fake.set_admin(GROUP, BOB)
    now[0] += 301
    assert await moderators.can_moderate(bot, GROUP, BOB)
    assert len(fake.calls("getChatAdministrators")) == 2


async def test_feature_awards_the_author_once_pins_the_post_and_records_the_moderator(harness):
    make_moderator(harness)
    post = await harness.say(GROUP, BOB, "Our sleep routine at 4 months, step by step")
    post_id = post["message"]["message_id"]
    await harness.say(GROUP, MOD, "/feature", reply_to=post_id)
    await harness.say(GROUP, MOD, "/feature", reply_to=post_id)
    assert harness.replies(GROUP)[-2:] == ["🌟 Featured post! Thank you, Bob: +20 points.", "This post is already featured."]
    assert [call.params["message_id"] for call in harness.fake.calls("pinChatMessage")] == [post_id]
    [entry] = await rows(harness, select(LedgerEntry.reason, LedgerEntry.delta, LedgerEntry.actor))
    assert tuple(entry) == ("featured", 20, str(MOD))


async def test_feature_without_pin_rights_still_awards_and_says_why(harness):
    make_moderator(harness)
    harness.fake.add_chat(GROUP, "宝妈交流群", bot_status="member")  # the bot is no admin here
    post = await harness.say(GROUP, BOB, "tip")
    await harness.say(GROUP, MOD, "/feature", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1].startswith("Featured and points awarded, but I may not pin messages here")
    assert [tuple(r) for r in await rows(harness, select(Membership.balance).where(Membership.balance > 0))] == [(20,)]


async def test_feature_needs_a_reply_and_a_moderator(harness):
    make_moderator(harness)
    await harness.say(GROUP, MOD, "/feature")
    assert harness.replies(GROUP)[-1] == "Usage: reply to the post you want to feature with /feature."
    post = await harness.say(GROUP, ALICE, "tip")
    await harness.say(GROUP, BOB, "/feature", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "Sorry, only group admins can change points."
