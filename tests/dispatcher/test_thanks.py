"""A reply that says thanks pays the person thanked, silently, within daily caps."""

from datetime import timedelta

from sqlalchemy import select

from models.tables import LedgerEntry, Membership, UserAccount
from tests.dispatcher.conftest import ALICE, BOB, GROUP, OTHER_GROUP


async def balances(harness) -> dict[str, int]:
    async with harness.app.storage.engine.connect() as connection:
        rows = await connection.execute(
            select(UserAccount.external_id, Membership.balance).join(Membership, Membership.user_id == UserAccount.id)
        )
        return {row.external_id: row.balance for row in rows if row.balance}


async def tip_from(harness, user_id: int, chat_id: int = GROUP) -> int:
    update = await harness.say(chat_id, user_id, "宝宝辅食可以先从高铁米粉开始")
    return update["message"]["message_id"]


async def test_a_thanks_reply_pays_the_author_of_the_helpful_message_without_a_bot_message(harness):
    tip = await tip_from(harness, ALICE)
    await harness.say(GROUP, BOB, "谢谢姐妹！", reply_to=tip)
    assert await balances(harness) == {str(ALICE): 2}
    assert harness.replies(GROUP) == []
    async with harness.app.storage.engine.connect() as connection:
        [entry] = (await connection.execute(select(LedgerEntry.reason, LedgerEntry.actor))).all()
    assert tuple(entry) == ("thanks", str(BOB))


async def test_english_thanks_in_any_case_count(harness):
    tip = await tip_from(harness, ALICE)
    await harness.say(GROUP, BOB, "THANKS! super helpful", reply_to=tip)
    assert await balances(harness) == {str(ALICE): 2}


async def test_a_reply_without_thanks_pays_nothing(harness):
    tip = await tip_from(harness, ALICE)
    await harness.say(GROUP, BOB, "我家也是这样", reply_to=tip)
    await harness.say(GROUP, BOB, "谢谢大家")  # thanks, but not a reply to anyone
    assert await balances(harness) == {}


async def test_thanking_yourself_or_the_bot_pays_nothing(harness):
    own = await tip_from(harness, BOB)
    await harness.say(GROUP, BOB, "谢谢自己", reply_to=own)
    await harness.say(GROUP, BOB, "/checkin")
    bot_reply = harness.fake.sent_messages(GROUP)[-1]["message_id"]
    await harness.say(GROUP, BOB, "谢谢机器人", reply_to=bot_reply)
    assert await balances(harness) == {str(BOB): 10}  # only the check-in


async def test_one_pair_pays_once_a_day(harness, clock):
    first, second = await tip_from(harness, ALICE), await tip_from(harness, ALICE)
    await harness.say(GROUP, BOB, "谢谢", reply_to=first)
    await harness.say(GROUP, BOB, "也谢谢这个", reply_to=second)
    assert await balances(harness) == {str(ALICE): 2}
    clock.advance(timedelta(days=1))
    third = await tip_from(harness, ALICE)
    await harness.say(GROUP, BOB, "谢谢", reply_to=third)
    assert await balances(harness) == {str(ALICE): 4}


async def test_a_giver_pays_at_most_five_thanks_a_day(harness):
    helpers = range(401, 408)
    for helper in helpers:
        tip = await tip_from(harness, helper)
        await harness.say(GROUP, BOB, "感谢！", reply_to=tip)
    paid = await balances(harness)
    assert sorted(paid.values()) == [2, 2, 2, 2, 2] and len(paid) == 5


async def test_caps_are_per_group(harness):
    for chat in (GROUP, OTHER_GROUP):
        tip = await tip_from(harness, ALICE, chat)
        await harness.say(chat, BOB, "谢谢", reply_to=tip)
    async with harness.app.storage.engine.connect() as connection:
        rows = (await connection.execute(select(Membership.balance).where(Membership.balance > 0))).all()
    assert sorted(row.balance for row in rows) == [2, 2]


async def test_a_redelivered_thanks_pays_once(harness):
    tip = await tip_from(harness, ALICE)
    update = harness.fake.user_message(GROUP, BOB, "谢谢", reply_to=tip)
    await harness.feed(update)
    harness.app.seen.forget("telegram", update["update_id"], str(harness.bot.id))  # as after a crash before the id was stored
    await harness.feed(update)
    assert await balances(harness) == {str(ALICE): 2}


async def test_a_thanks_reaction_pays_like_a_thanks_reply_and_only_once_per_reactor(harness):
    tip = await tip_from(harness, ALICE)
    await harness.feed(harness.fake.reaction(GROUP, BOB, tip, "👍"))
    await harness.feed(harness.fake.reaction(GROUP, BOB, tip, None))  # removed
    await harness.feed(harness.fake.reaction(GROUP, BOB, tip, "🙏"))  # and another one added
    assert await balances(harness) == {str(ALICE): 2}
    assert harness.replies(GROUP) == []


async def test_other_reactions_and_reactions_to_unknown_messages_pay_nothing(harness):
    tip = await tip_from(harness, ALICE)
    await harness.feed(harness.fake.reaction(GROUP, BOB, tip, "😢"))
    assert await balances(harness) == {}
    harness.fake.user_message(GROUP, ALICE, "sent while the bot was down")  # never fed: the bot never saw it
    await harness.feed(harness.fake.reaction(GROUP, BOB, tip + 1, "👍"))
    assert await balances(harness) == {}


async def test_a_thanks_reply_and_a_reaction_from_the_same_person_count_as_one_pair(harness):
    tip = await tip_from(harness, ALICE)
    await harness.say(GROUP, BOB, "谢谢", reply_to=tip)
    await harness.feed(harness.fake.reaction(GROUP, BOB, tip, "❤"))
    assert await balances(harness) == {str(ALICE): 2}
