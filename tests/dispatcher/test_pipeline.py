"""The per-update pipeline: no database on the hot path, activity counted write-behind, membership kept."""

from datetime import timedelta

from sqlalchemy import event, select

from models.tables import DailyActivity, Membership, UserAccount
from tests.dispatcher.conftest import ALICE, BOB, GROUP


def count_checkouts(harness) -> list[int]:
    checkouts = [0]

    def on_checkout(*_args) -> None:
        checkouts[0] += 1

    event.listen(harness.app.storage.engine.sync_engine, "checkout", on_checkout)
    return checkouts


async def rows(harness, statement):
    async with harness.app.storage.engine.connect() as connection:
        return (await connection.execute(statement)).all()


async def test_plain_messages_cost_no_database_round_trip_until_the_flush(harness):
    checkouts = count_checkouts(harness)
    for index in range(50):
        await harness.say(GROUP, ALICE if index % 2 else BOB, f"message {index}")
    assert checkouts[0] == 0
    await harness.app.buffer.flush()
    assert checkouts[0] == 1  # one transaction for the whole batch


async def test_activity_is_counted_per_member_and_local_day(harness, clock):
    await harness.say(GROUP, ALICE, "早上好")
    await harness.say(GROUP, ALICE, "看看这个 https://example.org/article", entities=[{"type": "url", "offset": 5, "length": 27}])
    await harness.feed(harness.fake.user_message(GROUP, ALICE, photo=True, caption="宝宝的辅食"))
    await harness.say(GROUP, ALICE, "/checkin")
    clock.advance(timedelta(days=1))
    await harness.say(GROUP, ALICE, "第二天")
    await harness.app.buffer.flush()
    found = await rows(
        harness,
        select(DailyActivity.local_date, DailyActivity.messages, DailyActivity.media, DailyActivity.links, DailyActivity.checkins)
        .order_by(DailyActivity.local_date),
    )
    assert [(str(r[0]), *r[1:]) for r in found] == [("2026-11-23", 4, 1, 1, 1), ("2026-11-24", 1, 0, 0, 0)]


async def test_names_and_languages_are_stored_for_members(harness):
    await harness.say(GROUP, BOB, "hi")
    await harness.app.buffer.flush()
    assert [(r.display_name, r.language) for r in await rows(harness, select(UserAccount))] == [("Bob", "en")]


async def test_leaving_and_rejoining_is_tracked_on_the_membership(harness):
    await harness.say(GROUP, BOB, "hi")
    await harness.feed(harness.fake.user_leaves(GROUP, BOB))
    await harness.app.buffer.flush()
    [membership] = await rows(harness, select(Membership.left_at, Membership.joined_at))
    assert membership.left_at is not None and membership.joined_at is not None
    await harness.feed(harness.fake.user_joins(GROUP, BOB))
    await harness.app.buffer.flush()
    [membership] = await rows(harness, select(Membership.left_at))
    assert membership.left_at is None


async def test_processed_update_ids_are_stored_and_reloaded_after_a_restart(harness, database_url, clock):
    from bot.testing.harness import BotHarness
    from tests.dispatcher.conftest import settings_for

    update = await harness.say(GROUP, BOB, "/checkin")
    await harness.app.buffer.flush()
    recent = await harness.app.activity_store.recent_updates(since=clock.now() - timedelta(days=1))
    assert [(bot, u) for _, bot, u, _ in recent] == [(str(harness.bot.id), update["update_id"])]
    async with BotHarness(settings_for(database_url), fake=harness.fake, clock=clock) as restarted:
        await restarted.feed(update)
    assert len(harness.replies(GROUP)) == 1


async def test_an_update_id_handled_more_than_two_days_ago_is_a_new_update_again(harness, database_url, clock):
    # After a week without updates Telegram may choose the next update id at random, also an old one.
    from bot.testing.harness import BotHarness
    from tests.dispatcher.conftest import settings_for

    update = await harness.say(GROUP, BOB, "/points")
    await harness.app.buffer.flush()
    clock.advance(timedelta(days=2, hours=1))
    await harness.feed(update)  # the running bot
    assert len(harness.replies(GROUP)) == 2
    await harness.app.buffer.flush()
    clock.advance(timedelta(days=2, hours=1))
    async with BotHarness(settings_for(database_url), fake=harness.fake, clock=clock) as restarted:
        await restarted.feed(update)  # after a restart
    assert len(harness.replies(GROUP)) == 3


async def test_a_failed_flush_keeps_everything_for_the_next_attempt(harness, monkeypatch, clock):
    await harness.say(GROUP, BOB, "one")
    await harness.say(GROUP, BOB, "two")
    store = harness.app.activity_store
    real_record = store.record

    async def failing(*args, **kwargs):
        raise ConnectionError("database down")

    monkeypatch.setattr(store, "record", failing)
    try:
        await harness.app.buffer.flush()
    except ConnectionError:
        pass
    await harness.say(GROUP, BOB, "three")
    monkeypatch.setattr(store, "record", real_record)
    await harness.app.buffer.flush()
    [(messages,)] = await rows(harness, select(DailyActivity.messages))
    assert messages == 3
    assert len(await harness.app.activity_store.recent_updates(since=clock.now() - timedelta(days=1))) == 3


async def test_updates_from_bots_and_private_chats_are_not_counted_as_group_activity(harness):
    harness.fake.add_user(555, "OtherBot", is_bot=True)
    await harness.say(GROUP, 555, "I am a bot")
    await harness.say(BOB, BOB, "hello bot")
    await harness.app.buffer.flush()
    assert await rows(harness, select(DailyActivity)) == []


async def test_the_scheduler_starts_and_stops_with_the_bot(database_url, clock):
    from bot.testing.harness import BotHarness
    from tests.dispatcher.conftest import settings_for

    harness = BotHarness(settings_for(database_url), clock=clock)
    assert not harness.app.scheduler.running
    async with harness:
        assert harness.app.scheduler.running
        assert str(harness.app.scheduler.timezone) == "Asia/Shanghai"
    assert not harness.app.scheduler.running


async def test_stopping_waits_for_in_flight_updates_then_flushes(database_url, clock):
    import asyncio

    from bot.testing.harness import BotHarness
    from tests.dispatcher.conftest import settings_for

    harness = BotHarness(settings_for(database_url), clock=clock)
    await harness.app.start()
    release = asyncio.Event()
    real_check_in = harness.app.checkins.check_in

    async def slow_check_in(member, at):
        await release.wait()
        return await real_check_in(member, at)

    harness.app.checkins.check_in = slow_check_in  # type: ignore[method-assign]
    in_flight = asyncio.create_task(harness.say(GROUP, BOB, "/checkin"))
    await asyncio.sleep(0)
    while harness.app.in_flight.count == 0:
        await asyncio.sleep(0)
    stopping = asyncio.create_task(harness.app.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # still waiting for the check-in
    release.set()
    await asyncio.wait_for(asyncio.gather(in_flight, stopping), timeout=10)
    assert harness.replies(GROUP) == ["打卡成功！+10 积分，已连续打卡 1 天。"]  # the fake's default user writes Chinese
    from models.engine import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            [(messages, checkins)] = (
                await connection.execute(select(DailyActivity.messages, DailyActivity.checkins))
            ).all()
    finally:
        await engine.dispose()
    assert (messages, checkins) == (1, 1)
