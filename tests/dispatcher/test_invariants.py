"""Points invariants under concurrency and random event sequences, on the real database."""

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.points.shop import Item
from models.tables import Checkin, LedgerEntry, Membership, PointsDaily, ShopOrder, ShopStock
from tests.dispatcher.conftest import ALICE, BOB, GROUP

MOD = 301


async def scalar(harness, statement):
    async with harness.app.storage.engine.connect() as connection:
        return (await connection.execute(statement)).scalar()


async def balances_match_ledger(harness) -> None:
    """Every membership's stored balance equals the sum of its ledger entries."""
    async with harness.app.storage.engine.connect() as connection:
        sums = select(LedgerEntry.membership_id, func.sum(LedgerEntry.delta)).group_by(LedgerEntry.membership_id)
        ledger_sums = dict((await connection.execute(sums)).all())
        balances = dict((await connection.execute(select(Membership.id, Membership.balance))).all())
    assert balances == {membership_id: ledger_sums.get(membership_id, 0) for membership_id in balances}
    async with harness.app.storage.engine.connect() as connection:
        # The earned-points aggregate (tiers, leaderboards) agrees with the ledger, spending excluded.
        earned = select(LedgerEntry.membership_id, func.sum(LedgerEntry.delta)).where(
            LedgerEntry.reason.not_in(["redeem", "refund"])
        )
        earned_sums = dict((await connection.execute(earned.group_by(LedgerEntry.membership_id))).all())
        daily = select(PointsDaily.membership_id, func.sum(PointsDaily.earned)).group_by(PointsDaily.membership_id)
        daily_sums = dict((await connection.execute(daily)).all())
    assert {key: value for key, value in daily_sums.items() if value} == {
        key: value for key, value in earned_sums.items() if value
    }


async def test_fifty_simultaneous_checkins_from_one_member_store_one(harness):
    updates = [harness.fake.user_message(GROUP, BOB, "/checkin") for _ in range(50)]
    await asyncio.gather(*(harness.feed(update) for update in updates))
    assert await scalar(harness, select(func.count()).select_from(Checkin)) == 1
    assert await scalar(harness, select(func.sum(LedgerEntry.delta))) == 10
    replies = harness.replies(GROUP)
    assert len(replies) == 50
    assert sum(reply.startswith("Checked in!") for reply in replies) == 1
    await balances_match_ledger(harness)


async def test_simultaneous_checkins_thanks_and_shares_from_many_members_all_land(harness):
    harness.fake.add_user(MOD, "Mod", language_code="en")
    members = list(range(500, 540))
    tips = [await harness.say(GROUP, member, f"tip number {member}") for member in members]
    updates = []
    for member, tip in zip(members, tips, strict=True):
        updates.append(harness.fake.user_message(GROUP, member, "/checkin"))
        updates.append(harness.fake.user_message(GROUP, ALICE if member % 2 else BOB, "谢谢", reply_to=tip["message"]["message_id"]))
        updates.append(harness.fake.user_message(GROUP, member, photo=True, caption=f"meal {member}"))
    await asyncio.gather(*(harness.feed(update) for update in updates))
    # 40 check-ins (10) + 40 shares (5) + thanks capped at 5 per giver per day (2 givers x 5 x 2 points).
    assert await scalar(harness, select(func.sum(LedgerEntry.delta))) == 40 * 10 + 40 * 5 + 2 * 5 * 2
    await balances_match_ledger(harness)


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["checkin", "thanks", "share", "award", "deduct", "redeem", "cancel", "redeliver"]),
        st.integers(min_value=0, max_value=3),  # which member
        st.integers(min_value=0, max_value=2),  # days to move the clock first
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
async def test_random_event_sequences_keep_every_balance_equal_to_its_ledger_sum(harness, clock, events):
    from datetime import timedelta

    harness.fake.add_user(MOD, "Mod", language_code="en")
    harness.fake.set_admin(GROUP, MOD)
    harness.app.shop.items["sticker"] = Item("sticker", {"zh-CN": "贴纸", "en": "Sticker"}, 8, stock=3)
    people = [ALICE, BOB, 601, 602]
    last_update = None
    for kind, who, days in events:
        clock.advance(timedelta(days=days, minutes=1))
        member = people[who]
        if kind == "checkin":
            last_update = harness.fake.user_message(GROUP, member, "/checkin")
        elif kind == "thanks":
            tip = await harness.say(GROUP, people[(who + 1) % 4], "a tip")
            last_update = harness.fake.user_message(GROUP, member, "thanks!", reply_to=tip["message"]["message_id"])
        elif kind == "share":
            last_update = harness.fake.user_message(GROUP, member, photo=True, caption=f"photo {clock.now()}")
        elif kind in ("award", "deduct"):
            post = await harness.say(GROUP, member, "post")
            amount = "7" if kind == "award" else "-5"
            last_update = harness.fake.user_message(GROUP, MOD, f"/award {amount} test", reply_to=post["message"]["message_id"])
        elif kind == "redeem":
            last_update = harness.fake.user_message(GROUP, member, "/redeem sticker")
        elif kind == "cancel":
            pending = await scalar(harness, select(func.max(ShopOrder.id)).where(ShopOrder.status == "pending"))
            if pending is not None:
                await harness.app.shop.cancel(pending, "test")
            continue
        elif last_update is not None:  # redeliver: the same update again after a forgotten id
            harness.app.seen.forget("telegram", last_update["update_id"], str(harness.bot.id))
        if last_update is not None:
            await harness.feed(last_update)
    await balances_match_ledger(harness)
    assert await scalar(harness, select(func.count()).select_from(Membership).where(Membership.balance < 0)) == 0
    # Stock taken equals the orders not cancelled, and never exceeds the stock.
    open_orders = await scalar(harness, select(func.count()).select_from(ShopOrder).where(ShopOrder.status != "cancelled"))
    assert (await scalar(harness, select(ShopStock.sold)) or 0) == open_orders <= 3
