"""The outbound sender against the fake Bot API with Telegram's limits enforced, on virtual time."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage

from bot.platforms.telegram.sender import Gcra, Limits, Sender, confirm
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


def always_429(retry_after: int, calls: list[float], clock: VirtualTime, *, times: int = 1000):
    async def request(bot, method):
        calls.append(clock.now)
        if len(calls) <= times:
            raise TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=retry_after)
        return "ok"

    return request


async def test_a_429_is_retried_past_the_retry_count_within_the_deadline():
    # Limits stricter than Telegram's: the same reply is refused eight times, 10 s apart; 80 s < 90 s.
    clock = VirtualTime()
    sender = Sender(Limits(retries=4), monotonic=clock.monotonic, sleep=clock.sleep)
    calls: list[float] = []
    start = clock.now
    assert await sender(always_429(10, calls, clock, times=8), None, SendMessage(chat_id=-1, text="x")) == "ok"  # type: ignore[arg-type]
    assert len(calls) == 9 and sender.stats.retried_after_429 == 8
    assert 80 <= clock.now - start < 81  # retry_after honoured each time


async def test_a_429_past_the_deadline_is_raised_without_waiting_for_nothing():
    clock = VirtualTime()
    sender = Sender(Limits(retry_for=60), monotonic=clock.monotonic, sleep=clock.sleep)
    calls: list[float] = []
    start = clock.now
    with pytest.raises(TelegramRetryAfter):
        await sender(always_429(25, calls, clock), None, SendMessage(chat_id=-1, text="x"))  # type: ignore[arg-type]
    assert len(calls) == 3  # at 0, 25 and 50 s; waiting until 75 s would pass the 60 s deadline
    assert clock.now - start <= 60


async def test_a_burst_of_replies_under_stricter_limits_all_arrive():
    # Telegram (the fake) allows 4 a minute in the group; the sender believes 20: every reply still goes.
    clock = VirtualTime()
    fake = FakeTelegram(enforce_limits=True, per_group_per_minute=4, monotonic=clock.monotonic)
    fake.add_chat(-1000, "Group")
    sender = Sender(Limits(), monotonic=clock.monotonic, sleep=clock.sleep)
    bot = Bot(fake.token, session=FakeSession(fake))
    bot.session.middleware(sender)
    await asyncio.gather(*(bot.send_message(-1000, f"打卡成功 {n}") for n in range(9)))
    assert len([call for call in fake.calls("sendMessage") if call.ok]) == 9
    assert fake.rejected_429 > 4


REPLY = SendMessage(chat_id=-1001, text="done")


@pytest.mark.parametrize(
    "error",
    [
        TelegramBadRequest(REPLY, "Bad Request: not enough rights to send text messages to the chat"),
        TelegramForbiddenError(REPLY, "Forbidden: bot was kicked from the supergroup chat"),
        TelegramRetryAfter(REPLY, "Too Many Requests", retry_after=60),
        TelegramNetworkError(REPLY, "connection reset"),
        TelegramServerError(REPLY, "Bad Gateway"),
    ],
)
async def test_a_confirmation_telegram_refuses_or_fails_is_logged_not_raised(error, caplog):
    async def send() -> None:
        raise error

    assert await confirm(send(), "award", -1001) is None
    assert f"award in chat -1001 is stored, but its confirmation could not be sent: {type(error).__name__}" in caplog.text
