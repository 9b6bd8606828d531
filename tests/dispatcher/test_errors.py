"""What the bot says after an unexpected failure (policy: handlers/errors.py) and what it tells Telegram.

A failure leaves ``feed_update`` so Telegram delivers the update again; nothing is said then. Only
when the bot gives up on an update (it failed MAX_ATTEMPTS times, not for an outage) does it
apologise, and only to a member waiting for an answer.
"""

from __future__ import annotations

import pytest

from bot.services.updates import MAX_ATTEMPTS
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
