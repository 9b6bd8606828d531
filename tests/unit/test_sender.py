"""The outbound sender against the fake Bot API with Telegram's limits enforced, on virtual time."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage

from bot.platforms.telegram.sender import Gcra, Limits, Sender
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.session import FakeSession


class VirtualTime:
    """Time moves only when someone sleeps: to the latest moment anyone woke at."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, wake)


def setup(limits: Limits, *, chats: int, enforce: bool = True, gone: list[int] | None = None):
    clock = VirtualTime()
    fake = FakeTelegram(enforce_limits=enforce, monotonic=clock.monotonic)
    for n in range(chats):
        fake.add_chat(-1000 - n, f"Group {n}")

    async def chat_gone(chat_id: int) -> None:
        if gone is not None:
            gone.append(chat_id)

    sender = Sender(limits, on_chat_gone=chat_gone, monotonic=clock.monotonic, sleep=clock.sleep)
    bot = Bot(fake.token, session=FakeSession(fake))
    bot.session.middleware(sender)
    return clock, fake, sender, bot


async def test_one_post_to_many_groups_is_paced_to_the_bot_limit_without_a_429():
    clock, fake, sender, bot = setup(Limits(), chats=120)
    start = clock.now
    await asyncio.gather(*(bot.send_message(-1000 - n, "早安") for n in range(120)))
    assert fake.rejected_429 == 0
    assert len(fake.calls("sendMessage")) == 120
    minimum = (120 - 30) / 30  # the first 30 go at once, then 30 a second
    assert minimum <= clock.now - start <= minimum * 1.05


async def test_many_posts_to_one_group_keep_to_twenty_a_minute():
    clock, fake, sender, bot = setup(Limits(), chats=1)
    start = clock.now
    for n in range(26):
        await bot.send_message(-1000, f"第 {n} 条")
    assert fake.rejected_429 == 0
    assert clock.now - start >= (26 - 20) * 3  # after a burst of 20, one every 3 s


async def test_without_the_sender_the_same_burst_is_refused():
    clock = VirtualTime()
    fake = FakeTelegram(enforce_limits=True, monotonic=clock.monotonic)
    for n in range(40):
        fake.add_chat(-1000 - n)
    bot = Bot(fake.token, session=FakeSession(fake))
    results = await asyncio.gather(*(bot.send_message(-1000 - n, "x") for n in range(40)), return_exceptions=True)
    assert sum(isinstance(result, TelegramRetryAfter) for result in results) == 10


async def test_a_429_is_waited_out_and_the_message_still_goes():
    # The sender thinks it may send 100 a minute; Telegram (the fake) says 20: it must back off.
    clock, fake, sender, bot = setup(Limits(per_group_per_minute=100, per_chat_per_second=100, chat_burst=100), chats=1)
    for n in range(22):
        await bot.send_message(-1000, f"{n}")
    assert fake.rejected_429 >= 1
    assert sender.stats.retried_after_429 == fake.rejected_429
    assert len([call for call in fake.calls("sendMessage") if call.ok]) == 22


async def test_transient_failures_are_retried_with_backoff_then_raised():
    clock = VirtualTime()
    sender = Sender(Limits(retries=3), monotonic=clock.monotonic, sleep=clock.sleep)
    failures = 2
    calls = []

    async def flaky(bot, method):
        nonlocal failures
        calls.append(clock.now)
        if failures:
            failures -= 1
            raise TelegramServerError(method=method, message="Bad Gateway")
        return "ok"

    assert await sender(flaky, None, SendMessage(chat_id=-1, text="x")) == "ok"  # type: ignore[arg-type]
    assert [round(b - a, 2) for a, b in zip(calls, calls[1:])] == [0.5, 1.0]
    failures = 10
    with pytest.raises(TelegramServerError):
        await sender(flaky, None, SendMessage(chat_id=-1, text="x"))  # type: ignore[arg-type]


async def test_a_group_that_removed_the_bot_is_reported_not_retried():
    gone: list[int] = []
    clock, fake, sender, bot = setup(Limits(), chats=2, gone=gone)
    fake.remove_bot(-1001)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(-1001, "早安")
    await bot.send_message(-1000, "早安")
    assert gone == [-1001]
    assert len(fake.calls("sendMessage")) == 2


def test_gcra_is_a_full_bucket_then_the_rate():
    bucket = Gcra(rate=2, burst=3)
    times = []
    for _ in range(5):
        at = bucket.earliest(0.0)
        bucket.take(at)
        times.append(at)
    assert times == [0.0, 0.0, 0.0, 0.5, 1.0]
