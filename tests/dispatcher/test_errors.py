"""What the bot says after an unexpected failure (policy: handlers/errors.py) and what it tells Telegram.

A failure leaves ``feed_update`` so Telegram delivers the update again; nothing is said then. Only
when the bot gives up on an update (it failed MAX_ATTEMPTS times, not for an outage) does it
apologise, and only to a member waiting for an answer.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.members.updates import MAX_ATTEMPTS, OUTAGE_LIMIT
from tests.dispatcher.conftest import ALICE, BOB, GROUP

APOLOGY = "Sorry, something went wrong just now. Please try again in a moment."


async def test_a_failed_command_is_handed_back_for_redelivery_without_an_apology(harness, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.app.checkins, "check_in", broken)
    update = harness.fake.user_message(GROUP, BOB, "/checkin")
    with pytest.raises(RuntimeError):
        await harness.feed(update)
    assert harness.replies(GROUP) == []

    monkeypatch.undo()  # fixed before the redelivery
    await harness.feed(update)
    assert harness.replies(GROUP) == ["Checked in! +10 points, 1-day streak."]


async def test_a_command_that_keeps_failing_is_given_up_with_one_apology(harness, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.app.checkins, "check_in", broken)
    update = harness.fake.user_message(GROUP, BOB, "/checkin")
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            await harness.feed(update)
    await harness.feed(update)  # the last attempt: acknowledged, so Telegram moves on
    await harness.feed(update)  # a late redelivery is a duplicate now
    assert harness.replies(GROUP) == [APOLOGY]


async def test_an_outage_is_never_given_up_on(harness, monkeypatch):
    async def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("database unreachable")

    monkeypatch.setattr(harness.app.checkins, "check_in", unreachable)
    update = harness.fake.user_message(GROUP, BOB, "/checkin")
    for _ in range(MAX_ATTEMPTS + 2):
        with pytest.raises(ConnectionRefusedError):
            await harness.feed(update)
    assert harness.replies(GROUP) == []
    monkeypatch.undo()
    await harness.feed(update)
    assert harness.replies(GROUP) == ["Checked in! +10 points, 1-day streak."]


async def test_a_silent_path_never_apologises_even_when_given_up(harness, monkeypatch):
    tip = harness.fake.user_message(GROUP, ALICE, "记得给宝宝补维生素D哦")
    await harness.feed(tip)

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.app.thanks, "thank", broken)
    update = harness.fake.user_message(GROUP, BOB, "谢谢", reply_to=tip["message"]["message_id"])
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            await harness.feed(update)
    await harness.feed(update)
    assert harness.replies(GROUP) == []  # a thank-you is paid silently, and fails silently


async def test_an_expected_refusal_is_answered_once_and_its_redelivery_is_a_duplicate(harness):
    update = harness.fake.user_message(GROUP, BOB, "/redeem diapers")  # Bob has no points
    await harness.feed(update)
    await harness.feed(update)
    assert len(harness.replies(GROUP)) == 1


async def give_up(harness, update, error: type[BaseException]) -> None:
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(error):
            await harness.feed(update)
    await harness.feed(update)  # the last attempt: given up on, acknowledged


async def test_a_bug_raised_while_handling_a_connection_error_is_a_bug_not_an_outage(harness, monkeypatch):
    async def broken(*args, **kwargs):
        try:
            raise ConnectionResetError("the cache went away")
        except OSError:
            raise RuntimeError("a bug in the fallback")  # implicitly chained: __context__, not __cause__

    monkeypatch.setattr(harness.app.checkins, "check_in", broken)
    await give_up(harness, harness.fake.user_message(GROUP, BOB, "/checkin"), RuntimeError)
    assert harness.replies(GROUP) == [APOLOGY]


@pytest.mark.parametrize("error", [FileNotFoundError, PermissionError])
async def test_a_file_or_permission_error_is_a_bug_not_an_outage(harness, monkeypatch, error):
    async def broken(*args, **kwargs):
        raise error(2, "No such file or directory", "catalog.toml")

    monkeypatch.setattr(harness.app.checkins, "check_in", broken)
    await give_up(harness, harness.fake.user_message(GROUP, BOB, "/checkin"), error)
    assert harness.replies(GROUP) == [APOLOGY]


async def test_an_outage_is_given_up_on_once_telegram_would_have_dropped_the_update(harness, monkeypatch, clock):
    async def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("database unreachable")

    monkeypatch.setattr(harness.app.checkins, "check_in", unreachable)
    update = harness.fake.user_message(GROUP, BOB, "/checkin")
    with pytest.raises(ConnectionRefusedError):
        await harness.feed(update)
    clock.advance(OUTAGE_LIMIT - timedelta(minutes=1))
    with pytest.raises(ConnectionRefusedError):
        await harness.feed(update)  # still worth waiting for
    clock.advance(timedelta(minutes=1))
    await harness.feed(update)  # a day of failing: given up on, acknowledged
    assert harness.replies(GROUP) == [APOLOGY]


async def test_an_update_given_up_on_is_saved_for_inspection(harness, monkeypatch, tmp_path):
    rejected = tmp_path / "rejected"
    harness.dispatcher["rejected_dir"] = str(rejected)

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.app.checkins, "check_in", broken)
    update = harness.fake.user_message(GROUP, BOB, "/checkin")
    await give_up(harness, update, RuntimeError)
    [saved] = rejected.iterdir()
    record = json.loads(saved.read_text(encoding="utf-8"))
    assert record["update_id"] == update["update_id"]
    assert record["raw"]["message"]["text"] == "/checkin"
    assert "RuntimeError: a bug" in record["reason"]


async def test_a_button_given_up_on_is_answered_so_it_stops_spinning(harness, monkeypatch):
    await harness.say(BOB, BOB, "/forgetme")
    message = harness.fake.sent_messages(BOB)[-1]
    [row] = message["reply_markup"]["inline_keyboard"]

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.app.privacy, "forget", broken)
    press = harness.fake.callback_query(BOB, BOB, message["message_id"], row[0]["callback_data"])
    await give_up(harness, press, RuntimeError)
    assert harness.fake.callback_answers[press["callback_query"]["id"]]["text"] == APOLOGY


async def test_an_expected_refusal_settles_the_failures_before_it(harness):
    update = harness.fake.user_message(GROUP, BOB, "/redeem diapers")  # Bob has no points: refused
    bot = str(harness.bot.id)
    for _ in range(MAX_ATTEMPTS - 1):  # as if earlier attempts had failed
        harness.app.seen.failed("telegram", update["update_id"], bot)
    await harness.feed(update)  # refused and answered: done with
    assert harness.app.seen.failed("telegram", update["update_id"], bot).attempts == 1  # counted afresh
