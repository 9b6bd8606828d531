"""Crashes and outages during a burst lose nothing and pay nothing twice.

A real bot process polls (or takes webhooks from) the fake Bot API while a burst of check-ins and
thank-you replies arrives; the process is SIGKILLed, or its database connection cut, in the middle.
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from sqlalchemy import distinct, func, select

from bot.engagement.thanks import REASON as THANKS_REASON
from bot.testing.fake_bot_api import FakeTelegram
from models.tables import Checkin, LedgerEntry, Membership
from tests.e2e.conftest import (
    FAST_SENDS,
    START_TIMEOUT,
    DatabaseProxy,
    DrainedBotProcess,
    query,
    start_polling_bot,
    wait_for_query,
    write_config,
)
from tests.e2e.test_webhook import free_port

GROUP = -100555
APOLOGY = "抱歉，刚才出了点小问题"
CHECKED_IN = "打卡成功"
OUTAGE_SECONDS = 3.0
CHECKIN_REASON = "checkin"


def burst(fake: FakeTelegram, checkers: int, thankers: int) -> tuple[list[int], list[int]]:
    """``checkers`` members send /checkin; after every other one, one of ``thankers`` others thanks the
    member before in a reply (so thanks are in every stretch of the burst).

    Returns the message ids of the check-ins and of the thank-you replies."""
    assert thankers <= checkers // 2
    first = 10_000
    for index in range(checkers + thankers):
        fake.add_user(first + index, f"妈妈{index}", language_code="zh-hans")
    checkins: list[int] = []
    thanks: list[int] = []
    for index in range(checkers):
        checkins.append(fake.user_message(GROUP, first + index, "/checkin")["message"]["message_id"])
        if index % 2 == 1 and len(thanks) < thankers:
            giver = first + checkers + len(thanks)
            reply = fake.user_message(GROUP, giver, "谢谢分享，很有用", reply_to=checkins[index - 1])
            thanks.append(reply["message"]["message_id"])
    return checkins, thanks


async def assert_paid_exactly_once(database_url: str, checkers: int, thankers: int) -> None:
    """Every check-in stored once, every thanks paid once, every balance the sum of its ledger."""
    assert await query(database_url, select(func.count()).select_from(Checkin)) == checkers
    assert await query(database_url, select(func.count(distinct(Checkin.membership_id)))) == checkers
    checkin_rows = select(func.count()).where(LedgerEntry.reason == CHECKIN_REASON)
    assert await query(database_url, checkin_rows) == checkers
    thanks_rows = select(func.count()).where(LedgerEntry.reason == THANKS_REASON)
    assert await query(database_url, thanks_rows) == thankers
    receivers = select(func.count(distinct(LedgerEntry.membership_id))).where(LedgerEntry.reason == THANKS_REASON)
    assert await query(database_url, receivers) == thankers
    ledger_sum = (
        select(func.coalesce(func.sum(LedgerEntry.delta), 0))
        .where(LedgerEntry.membership_id == Membership.id)
        .scalar_subquery()
    )
    wrong_balances = select(func.count()).select_from(Membership).where(Membership.balance != ledger_sum)
    assert await query(database_url, wrong_balances) == 0


async def wait_until_all_landed(database_url: str, checkers: int, thankers: int, timeout: float) -> None:
    await wait_for_query(database_url, select(func.count()).select_from(Checkin), lambda n: n >= checkers, timeout)
    thanks_rows = select(func.count()).where(LedgerEntry.reason == THANKS_REASON)
    await wait_for_query(database_url, thanks_rows, lambda n: n >= thankers, timeout)


def apologies_to(fake: FakeTelegram, message_ids: list[int]) -> list[dict]:
    wanted = set(message_ids)
    return [
        message for message in fake.sent_messages(GROUP)
        if APOLOGY in message.get("text", "") and (message.get("reply_to_message") or {}).get("message_id") in wanted
    ]


async def test_sigkill_in_a_burst_loses_no_update_and_pays_nothing_twice(fake_server, database_url, tmp_path):
    checkers, thankers = 300, 150
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    config = write_config(
        tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=database_url,
        extra=FAST_SENDS,
    )
    bot = await start_polling_bot(fake, config, DrainedBotProcess(config))
    try:
        burst(fake, checkers, thankers)
        # Kill it once some of the burst was handled, but not all of it.
        await fake.wait_for_message(GROUP, contains=CHECKED_IN, count=40, timeout=30)
    finally:
        await bot.stop(signal.SIGKILL)
        print(bot.log())  # shown when the test fails
    handled_before = await query(database_url, select(func.count()).select_from(Checkin))
    assert 0 < handled_before < checkers, handled_before

    bot = await start_polling_bot(fake, config, DrainedBotProcess(config))
    try:
        await wait_until_all_landed(database_url, checkers, thankers, timeout=60)
        await fake.wait_until(lambda: not fake.pending_updates, timeout=30)
    finally:
        code = await bot.stop(signal.SIGTERM)
        print(bot.log())
    assert code == 0
    assert "Traceback" not in bot.log()
    await assert_paid_exactly_once(database_url, checkers, thankers)
    replied = {m["reply_to_message"]["message_id"] for m in fake.sent_messages(GROUP) if m.get("reply_to_message")}
    assert len(replied) >= checkers  # every check-in was answered (after a redelivery perhaps twice)


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("cutting the database connection needs a database server")
    return database_url


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_database_outage_in_a_burst_loses_no_update_and_pays_nothing_twice(
    fake_server, postgres_url, tmp_path, mode
):
    checkers, thankers = 200, 100
    fake, server = fake_server
    fake.add_chat(GROUP, "宝妈交流群")
    proxy = DatabaseProxy(postgres_url)
    await proxy.start()
    extra = FAST_SENDS
    if mode == "webhook":
        port = free_port()
        extra = (
            f'mode = "webhook"\n{FAST_SENDS}[telegram.webhook]\n'
            f'url = "http://127.0.0.1:{port}/telegram/webhook"\nsecret = "e2e-secret"\n'
            f'listen_host = "127.0.0.1"\nlisten_port = {port}\n'
        )
    config = write_config(
        tmp_path / "config.toml", token=fake.token, api_base=server.base_url, database_url=proxy.url, extra=extra
    )
    if mode == "polling":
        bot = await start_polling_bot(fake, config, DrainedBotProcess(config))
    else:
        bot = DrainedBotProcess(config)
        await bot.start()
        try:
            await fake.wait_until(lambda: fake.webhook_url, timeout=START_TIMEOUT)
        except TimeoutError:
            await bot.stop()
            raise AssertionError(f"bot did not set its webhook:\n{bot.log()}") from None
    try:
        _, thanks = burst(fake, checkers, thankers)
        await fake.wait_for_message(GROUP, contains=CHECKED_IN, count=30, timeout=30)
        await proxy.cut()
        cut_at = time.monotonic()
        handled_before = await query(postgres_url, select(func.count()).select_from(Checkin))
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))  # the outage itself, not a sync
        await proxy.restore()
        assert handled_before < checkers, "the burst was over before the outage"
        await wait_until_all_landed(postgres_url, checkers, thankers, timeout=90)
        await fake.wait_until(lambda: not fake.pending_updates, timeout=30)
    finally:
        code = await bot.stop(signal.SIGTERM)
        await proxy.close()
        print(bot.log())  # shown when the test fails
    assert code == 0
    await assert_paid_exactly_once(postgres_url, checkers, thankers)
    assert apologies_to(fake, thanks) == [], "apologised for a silent thanks"
