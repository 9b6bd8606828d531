"""Scheduled posts survive a start that could not connect, passing send failures and slow fan-outs:
nothing is claimed before the platform can post, a post that failed for a passing reason is tried
again within grace, and a long fan-out does not hold up the next minute's posts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiogram.exceptions import TelegramForbiddenError, TelegramServerError

from bot.app import build_app
from bot.platforms.telegram.notifier import TelegramNotifier
from bot.platforms.telegram.refs import PLATFORM
from scheduler.content import TICK_INSTANCES
from tests.dispatcher.conftest import GROUP
from tests.dispatcher.test_schedule import AT_1030_SHANGHAI, at, groups_known, status_of, tip, world  # noqa: F401 - world is a fixture


def fail_group_posts(bot, error, *, times: int | None = None) -> None:
    """Make every sendMessage to GROUP raise ``error(method)`` (only the first ``times``, if given)."""
    left = {"times": times}

    async def failing(make_request, client, method):
        if method.__api_method__ == "sendMessage" and getattr(method, "chat_id", None) == GROUP and left["times"] != 0:
            if left["times"] is not None:
                left["times"] -= 1
            raise error(method)
        return await make_request(client, method)

    bot.bot.session.middleware(failing)


async def test_a_start_that_cannot_connect_claims_nothing_and_the_next_start_posts(world):  # noqa: F811
    world.write(tip(extra='tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)
    await world.stop(bot)
    # 10:30: a start with a wrong token: the app runs, but no platform ever connects (no notifier).
    world.clock.set(AT_1030_SHANGHAI)
    unconnected = build_app(bot.app.settings, clock=world.clock)
    unconnected.background_content = False
    await unconnected.start()
    await unconnected.posts.tick()
    await unconnected.stop()
    assert await status_of(bot, "tip", AT_1030_SHANGHAI) is None  # not claimed, so not used up
    # 30 s later, inside the grace period, a correct start posts it.
    world.clock.set(AT_1030_SHANGHAI + timedelta(seconds=30))
    again = await world.bot()
    await again.app.posts.tick()
    assert [m["text"] for m in world.posts(GROUP)] == ["📢 早安，tip"]
    assert await status_of(again, "tip", AT_1030_SHANGHAI) == "sent"


async def test_the_catch_up_tick_waits_for_the_platform_to_connect(world):  # noqa: F811
    world.write(tip())
    bot = await world.bot()
    app = build_app(bot.app.settings, clock=world.clock)  # background jobs on, as in production
    await app.start()
    try:
        assert app.scheduler.get_job("content.catch_up") is None
        app.notifiers.register(PLATFORM, TelegramNotifier(bot.bot))  # what runner.prepare does once connected
        assert app.scheduler.get_job("content.catch_up") is not None
        tick = app.scheduler.get_job("content.tick")
        assert tick.max_instances == TICK_INSTANCES > 1 and tick.coalesce and tick.misfire_grace_time >= 60
    finally:
        await app.stop()


async def test_a_post_that_failed_for_a_passing_reason_is_retried_on_the_next_tick(world):  # noqa: F811
    world.write(tip(extra='tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)
    fail_group_posts(bot, lambda method: TelegramServerError(method=method, message="Bad Gateway"), times=1)
    await at(world, bot, AT_1030_SHANGHAI)
    assert world.posts(GROUP) == []
    assert await status_of(bot, "tip", AT_1030_SHANGHAI) == "retry"
    await at(world, bot, AT_1030_SHANGHAI + timedelta(minutes=1))
    assert [m["text"] for m in world.posts(GROUP)] == ["📢 早安，tip"]
    assert await status_of(bot, "tip", AT_1030_SHANGHAI) == "sent"
    await at(world, bot, AT_1030_SHANGHAI + timedelta(minutes=2))
    assert len(world.posts(GROUP)) == 1


async def test_a_retry_is_taken_by_a_restarted_bot_and_dropped_after_grace(world):  # noqa: F811
    world.write(tip(extra='tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)

    fail_group_posts(bot, lambda method: TelegramServerError(method=method, message="Service Unavailable"))
    await at(world, bot, AT_1030_SHANGHAI)
    await world.stop(bot)
    again = await world.bot()  # a new process: its memory of fires comes from the database
    await at(world, again, AT_1030_SHANGHAI + timedelta(minutes=16))  # past the 15-minute grace
    assert world.posts(GROUP) == []
    assert await status_of(again, "tip", AT_1030_SHANGHAI) == "missed"


async def test_a_refusal_is_final(world):  # noqa: F811
    world.write(tip(extra='tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)

    fail_group_posts(bot, lambda method: TelegramForbiddenError(method=method, message="Forbidden: bot was kicked from the supergroup chat"))
    await at(world, bot, AT_1030_SHANGHAI)
    await at(world, bot, AT_1030_SHANGHAI + timedelta(minutes=1))
    assert await status_of(bot, "tip", AT_1030_SHANGHAI) == "failed"
    assert len([call for call in world.fake.calls("sendMessage") if call.params["chat_id"] == GROUP and "tip" in call.params.get("text", "")]) == 0


async def test_a_fan_out_that_outlasts_its_minute_does_not_hold_up_the_next(world):  # noqa: F811
    world.write(tip("slow", 'daily = "10:30"', 'tags = ["pregnancy"]') + tip("next", 'daily = "10:31"', 'tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)
    release = asyncio.Event()

    async def slow_for_the_first(make_request, client, method):
        if "slow" in str(getattr(method, "text", "")):
            await release.wait()  # Telegram's limits stretch a big fan-out over minutes
        return await make_request(client, method)

    bot.bot.session.middleware(slow_for_the_first)
    world.clock.set(AT_1030_SHANGHAI)
    first = asyncio.create_task(bot.app.posts.tick())

    async def sending() -> None:
        while await status_of(bot, "slow", AT_1030_SHANGHAI) != "claimed":
            await asyncio.sleep(0)

    await asyncio.wait_for(sending(), timeout=10)  # the first tick is sending
    world.clock.set(AT_1030_SHANGHAI + timedelta(minutes=1))
    report = await asyncio.wait_for(bot.app.posts.tick(), timeout=10)
    assert report.posted == 1 and [m["text"] for m in world.posts(GROUP)] == ["📢 早安，next"]
    assert not first.done()
    release.set()
    assert (await asyncio.wait_for(first, timeout=10)).posted == 1
    assert sorted(m["text"] for m in world.posts(GROUP)) == ["📢 早安，next", "📢 早安，slow"]
    await at(world, bot, AT_1030_SHANGHAI + timedelta(minutes=2))
    assert len(world.posts(GROUP)) == 2


async def test_a_retry_no_tick_plans_any_more_is_recorded_as_missed(world):  # noqa: F811
    world.write(tip(extra='tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)

    fail_group_posts(bot, lambda method: TelegramServerError(method=method, message="Service Unavailable"))
    await at(world, bot, AT_1030_SHANGHAI)
    assert await status_of(bot, "tip", AT_1030_SHANGHAI) == "retry"
    await world.stop(bot)
    world.write(tip("evening", when='daily = "20:00"'))  # the entry is gone from the schedule
    again = await world.bot()
    await at(world, again, AT_1030_SHANGHAI + timedelta(hours=1))
    assert await status_of(again, "tip", AT_1030_SHANGHAI) == "retry"  # still within a tick's lookback
    await at(world, again, AT_1030_SHANGHAI + timedelta(hours=27))  # no tick will ever plan it again
    assert await status_of(again, "tip", AT_1030_SHANGHAI) == "missed"
    assert world.posts(GROUP) == []
