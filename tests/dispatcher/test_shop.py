"""/shop, /redeem, orders from the admin chat, bought streak freezes; stock and balances under concurrency."""

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot.points.shop import Item
from models.tables import LedgerEntry, Membership, ShopOrder, ShopStock
from tests.dispatcher.conftest import ALICE, BOB, GROUP

OPERATOR = 999
ADMIN_CHAT = -100999


async def scalar(harness, statement):
    async with harness.app.storage.engine.connect() as connection:
        return (await connection.execute(statement)).scalar_one()


async def award(harness, user, points):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    post = await harness.say(GROUP, user, "sharing something")
    await harness.say(GROUP, OPERATOR, f"/award {points} tip", reply_to=post["message"]["message_id"])


def stock_item(harness, item_id="sticker", cost=10, **kwargs):
    harness.app.shop.items[item_id] = Item(item_id, {"zh-CN": "贴纸", "en": "Sticker"}, cost, **kwargs)


async def test_shop_lists_what_the_members_tier_allows_and_marks_what_she_cannot_afford(harness):
    await award(harness, BOB, 250)
    await harness.say(GROUP, BOB, "/shop")
    assert harness.replies(GROUP)[-1] == (
        "🎁 Points shop (you have 250 points):\n"
        "freeze: Streak freeze (covers one missed day), 30 points\n"
        "diapers: Diaper sample pack, 200 points (50 left)\n"
        "Send /redeem ID to exchange, e.g. /redeem freeze."
    )  # the coupon needs tier "Seasoned mum"
    await harness.say(GROUP, ALICE, "/shop")
    assert "纸尿裤试用装，200 积分（剩 50 份） （积分还不够）" in harness.replies(GROUP)[-1]


async def test_redeeming_debits_points_creates_an_order_and_respects_limits(harness):
    await award(harness, BOB, 450)
    await harness.say(GROUP, BOB, "/redeem diapers")
    assert harness.replies(GROUP)[-1] == (
        "Exchanged! Diaper sample pack for 200 points; order #1. An organiser will be in touch. You have 250 points left."
    )
    await harness.say(GROUP, BOB, "/redeem diapers")
    assert harness.replies(GROUP)[-1] == "You've already redeemed this item the most times allowed (1)."
    await harness.say(GROUP, BOB, "/redeem coupon50")
    assert harness.replies(GROUP)[-1] == "This item is for members of tier Seasoned mum and up."
    await harness.say(GROUP, BOB, "/redeem teddy")
    assert harness.replies(GROUP)[-1] == 'There is no item "teddy". Send /shop to see what\'s available.'
    await harness.say(GROUP, ALICE, "/redeem freeze")
    assert harness.replies(GROUP)[-1] == "兑换需要 30 积分，你现在有 0 积分。"
    assert await scalar(harness, select(func.count()).select_from(ShopOrder)) == 1
    ledger_sum = await scalar(harness, select(func.sum(LedgerEntry.delta)))
    assert ledger_sum == await scalar(harness, select(func.sum(Membership.balance))) == 250


async def test_a_redelivered_redeem_command_orders_once(harness):
    await award(harness, BOB, 300)
    update = harness.fake.user_message(GROUP, BOB, "/redeem diapers")
    await harness.feed(update)
    harness.app.seen = type(harness.app.seen)()  # forget it was seen, as after a crash before the flush
    await harness.feed(update)
    assert await scalar(harness, select(func.count()).select_from(ShopOrder)) == 1
    assert await scalar(harness, select(Membership.balance).where(Membership.balance > 0)) == 100


async def test_a_bought_freeze_bridges_missed_days_the_automatic_one_does_not_cover(harness, clock):
    await award(harness, BOB, 30)
    await harness.say(GROUP, BOB, "/redeem freeze")
    assert harness.replies(GROUP)[-1] == (
        "Done! Streak freeze (covers one missed day) for 30 points; it will cover a missed day automatically. "
        "You have 0 points left."
    )
    await harness.say(GROUP, BOB, "/checkin")
    clock.advance(timedelta(days=3))  # two days missed: one forgiven automatically, one by the bought freeze
    await harness.say(GROUP, BOB, "/checkin")
    assert harness.replies(GROUP)[-1] == (
        "Checked in! +10 points. 1 streak freeze(s) covered the missed days, so your streak is 2 days."
    )
    await harness.say(GROUP, BOB, "/me")
    assert "Streak freezes" not in harness.replies(GROUP)[-1]
    assert await scalar(harness, select(ShopOrder.status)) == "fulfilled"  # delivered at once


async def test_operators_fulfil_and_cancel_orders_from_the_admin_chat_and_cancel_refunds(harness):
    harness.dispatcher["admin_chat_id"] = ADMIN_CHAT
    harness.fake.add_chat(ADMIN_CHAT, "Organisers")
    await award(harness, BOB, 450)
    await harness.say(BOB, BOB, "/start")  # Bob has a private chat with the bot
    await harness.say(GROUP, BOB, "/redeem diapers")
    stock_item(harness, "mug", 100)
    await harness.say(GROUP, BOB, "/redeem mug")
    await harness.settle()
    await harness.say(ADMIN_CHAT, OPERATOR, "/orders")
    assert harness.replies(ADMIN_CHAT)[-1] == (  # in the operator's language
        "#1 Diaper sample pack (200 points) for Bob, 2026-11-23: waiting\n#2 Sticker (100 points) for Bob, 2026-11-23: waiting"
    )
    await harness.say(ADMIN_CHAT, OPERATOR, "/cancel 1")
    assert harness.replies(ADMIN_CHAT)[-1].endswith("cancelled, points refunded")
    assert harness.replies(BOB)[-1] == (
        "Your order #1 (Diaper sample pack) was cancelled; the 200 points are back in your balance."
    )
    await harness.say(ADMIN_CHAT, OPERATOR, "/fulfil 2")
    assert harness.replies(BOB)[-1] == "Your order #2 (Sticker) has been sent. Enjoy!"
    await harness.say(ADMIN_CHAT, OPERATOR, "/cancel 2")
    assert harness.replies(ADMIN_CHAT)[-1] == "Order #2 is already fulfilled."
    await harness.say(ADMIN_CHAT, BOB, "/orders")  # not an operator
    assert not harness.replies(ADMIN_CHAT)[-1].startswith("#")
    await harness.say(GROUP, BOB, "/points")
    assert harness.replies(GROUP)[-1] == "Bob, you have 350 points in this group, rank 1 of 2."
    assert await scalar(harness, select(ShopStock.sold).where(ShopStock.item == "diapers")) == 0  # back in stock


async def test_twenty_concurrent_redemptions_of_the_last_item_sell_exactly_one(harness):
    members = [2000 + n for n in range(20)]
    for user in members:
        harness.fake.add_user(user, f"Mama {user}", language_code="en")
        await harness.say(GROUP, user, "/checkin")  # 10 points each
    stock_item(harness, cost=10, stock=1)
    updates = [harness.fake.user_message(GROUP, user, "/redeem sticker") for user in members]
    await asyncio.gather(*(harness.feed(update) for update in updates))
    replies = harness.replies(GROUP)[-20:]
    assert sum(text.startswith("Exchanged!") for text in replies) == 1
    assert sum(text == "Sorry, that item is sold out." for text in replies) == 19
    assert await scalar(harness, select(func.count()).select_from(ShopOrder)) == 1
    assert await scalar(harness, select(ShopStock.sold)) == 1
    assert await scalar(harness, select(func.sum(Membership.balance))) == 190
    assert await scalar(harness, select(func.sum(LedgerEntry.delta))) == 190


async def test_concurrent_spending_never_takes_a_balance_below_zero(harness):
    await harness.say(GROUP, BOB, "/checkin")  # 10 points
    for n in range(5):
        stock_item(harness, f"item{n}", cost=10)
    updates = [harness.fake.user_message(GROUP, BOB, f"/redeem item{n}") for n in range(5)]
    await asyncio.gather(*(harness.feed(update) for update in updates))
    assert await scalar(harness, select(func.count()).select_from(ShopOrder)) == 1
    assert await scalar(harness, select(Membership.balance)) == 0
    refusals = [text for text in harness.replies(GROUP) if "enough points" in text or "you have 0" in text]
    assert len(refusals) == 4
