"""The poller's offset rules, against the in-process fake Bot API (which forgets updates below the offset).

Each behaviour test also runs against aiogram's stock ``start_polling`` and is expected to fail there:
it confirms an update as soon as it is fetched, handles each update once whatever happens, runs
updates without a bound, and cannot parse a batch with one bad update in it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Message

from bot.platforms.telegram.polling import Poller, PollingPolicy
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.session import FakeSession

GROUP = -100123
MAMA = 7001
FAST = PollingPolicy(timeout=1, retry_delay=0.01, max_retry_delay=0.05, refetch_after=0.05, drain_timeout=2)

Run = Callable[[Bot, Dispatcher, asyncio.Event, PollingPolicy, Any], Awaitable[None]]


async def run_poller(
    bot: Bot, dispatcher: Dispatcher, stop: asyncio.Event, policy: PollingPolicy, on_rejected: Any, **options: Any
) -> None:
    await Poller(bot, dispatcher, policy=policy, on_rejected=on_rejected, **options).run(stop)


async def run_aiogram(
    bot: Bot, dispatcher: Dispatcher, stop: asyncio.Event, policy: PollingPolicy, on_rejected: Any, **options: Any
) -> None:
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=policy.timeout)
    )
    await stop.wait()
    await dispatcher.stop_polling()
    await polling


@pytest.fixture(params=[
    "poller",
    pytest.param("aiogram", marks=pytest.mark.xfail(strict=True, reason="aiogram's start_polling loses or blocks updates")),
])
def run(request: pytest.FixtureRequest) -> Run:
    return run_poller if request.param == "poller" else run_aiogram


class Scenario:
    """A fake Telegram, a bot on it, a Dispatcher whose message handler the test scripts, and a polling run."""

    def __init__(self, run: Run, policy: PollingPolicy = FAST) -> None:
        self.fake = FakeTelegram()
        self.fake.add_chat(GROUP, "Group")
        self.bot = Bot(self.fake.token, session=FakeSession(self.fake))
        self.dispatcher = Dispatcher()
        self.attempts: Counter[str] = Counter()
        self.handled: list[str] = []
        self.behaviour: dict[str, Callable[[int], Awaitable[None]]] = {}
        self.rejected: list[tuple[dict[str, Any], str]] = []
        self.running = 0
        self.most_running = 0
        self.stop = asyncio.Event()
        self.transient: Callable[[BaseException], bool] | None = None
        self._run = run
        self._policy = policy
        self._task: asyncio.Task[None] | None = None

        @self.dispatcher.message()
        async def on_message(message: Message) -> None:
            text = message.text or ""
            self.attempts[text] += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            try:
                if text in self.behaviour:
                    await self.behaviour[text](self.attempts[text])
            finally:
                self.running -= 1
            self.handled.append(text)

    def say(self, text: str) -> int:
        return self.fake.user_message(GROUP, MAMA, text)["update_id"]

    def start(self) -> None:
        options = {"transient": self.transient} if self.transient else {}
        self._task = asyncio.create_task(self._run(self.bot, self.dispatcher, self.stop, self._policy, self.keep, **options))

    def keep(self, raw: dict[str, Any], reason: str) -> None:
        self.rejected.append((raw, reason))

    async def finish(self) -> None:
        self.stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, 10)
        assert len(self.handled) == len(set(self.handled)), f"handled twice: {self.handled}"

    def pending_ids(self) -> list[int]:
        return [update["update_id"] for update in self.fake.pending_updates]

    def offsets_sent(self) -> list[int]:
        return [call.params.get("offset", 0) for call in self.fake.calls("getUpdates")]

    async def until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)


async def test_an_update_fetched_but_not_handled_is_not_confirmed(run: Run) -> None:
    scenario = Scenario(run)
    release = asyncio.Event()

    async def slow(attempt: int) -> None:
        await release.wait()

    scenario.behaviour["slow"] = slow
    slow_id = scenario.say("slow")
    for index in range(5):
        scenario.say(f"quick {index}")
    scenario.start()
    try:
        await scenario.until(lambda: len(scenario.handled) == 5)
        calls = len(scenario.fake.calls("getUpdates"))
        await scenario.until(lambda: len(scenario.fake.calls("getUpdates")) > calls)
        # A crash now must not lose "slow": Telegram still holds it, and nothing past it was confirmed.
        assert slow_id in scenario.pending_ids()
        assert max(scenario.offsets_sent()) <= slow_id
        release.set()
        await scenario.until(lambda: "slow" in scenario.handled)
    finally:
        release.set()
        await scenario.finish()
    assert scenario.pending_ids() == []  # handled, then confirmed on the way out


async def test_a_failing_update_is_tried_again_until_it_succeeds(run: Run) -> None:
    scenario = Scenario(run)

    async def flaky(attempt: int) -> None:
        if attempt < 3:
            raise ConnectionError("database went away")

    scenario.behaviour["flaky"] = flaky
    scenario.say("before")
    scenario.say("flaky")
    scenario.say("after")
    scenario.start()
    try:
        await scenario.until(lambda: "flaky" in scenario.handled, timeout=2)
    finally:
        await scenario.finish()
    assert scenario.attempts["flaky"] == 3
    assert sorted(scenario.handled) == ["after", "before", "flaky"]
    assert scenario.pending_ids() == []


async def test_an_update_that_always_fails_is_skipped_after_bounded_attempts(run: Run) -> None:
    scenario = Scenario(run, PollingPolicy(**{**FAST.__dict__, "max_attempts": 4}))

    async def poison(attempt: int) -> None:
        raise ValueError("cannot handle this one")

    scenario.behaviour["poison"] = poison
    poison_id = scenario.say("poison")
    scenario.say("next")
    scenario.start()
    try:
        await scenario.until(lambda: scenario.attempts["poison"] == 4 and "next" in scenario.handled, timeout=2)
        await scenario.until(lambda: poison_id not in scenario.pending_ids(), timeout=2)  # polling moved past it
        scenario.say("later")
        await scenario.until(lambda: "later" in scenario.handled, timeout=2)
    finally:
        await scenario.finish()
    assert scenario.attempts["poison"] == 4
    assert [raw["update_id"] for raw, _ in scenario.rejected] == [poison_id]
    assert "failed 4 times" in scenario.rejected[0][1]


async def test_an_outage_is_waited_out_without_counting_against_the_attempts() -> None:
    scenario = Scenario(run_poller, PollingPolicy(**{**FAST.__dict__, "max_attempts": 2}))
    scenario.transient = lambda error: isinstance(error, ConnectionError)

    async def outage(attempt: int) -> None:
        if attempt < 6:
            raise ConnectionError("database unreachable")

    scenario.behaviour["outage"] = outage
    scenario.say("outage")
    scenario.start()
    try:
        await scenario.until(lambda: "outage" in scenario.handled, timeout=2)
    finally:
        await scenario.finish()
    assert scenario.attempts["outage"] == 6
    assert scenario.rejected == []


async def test_an_outage_longer_than_telegram_keeps_updates_is_given_up_on() -> None:
    # A backstop: the dedupe middleware gives up first (after OUTAGE_LIMIT) when the failure passes it.
    scenario = Scenario(run_poller, PollingPolicy(**{**FAST.__dict__, "max_attempts": 2, "give_up_after": 0.2}))
    scenario.transient = lambda error: isinstance(error, ConnectionError)

    async def outage(attempt: int) -> None:
        raise ConnectionError("database unreachable")

    scenario.behaviour["outage"] = outage
    outage_id = scenario.say("outage")
    scenario.start()
    try:
        await scenario.until(lambda: outage_id not in scenario.pending_ids(), timeout=2)
        scenario.say("later")
        await scenario.until(lambda: "later" in scenario.handled, timeout=2)
    finally:
        await scenario.finish()
    assert scenario.attempts["outage"] > 2  # outages did not count against max_attempts
    assert [raw["update_id"] for raw, _ in scenario.rejected] == [outage_id]


async def test_an_unparseable_update_is_set_aside_and_the_rest_of_the_batch_is_handled(run: Run) -> None:
    scenario = Scenario(run)
    scenario.say("first")
    bad = scenario.fake.inject({"message": {"message_id": 99, "date": "yesterday", "chat": "not a chat", "text": "?"}})
    scenario.say("second")
    scenario.start()
    try:
        await scenario.until(lambda: len(scenario.handled) == 2, timeout=2)
        await scenario.until(lambda: scenario.pending_ids() == [], timeout=2)
    finally:
        await scenario.finish()
    assert sorted(scenario.handled) == ["first", "second"]
    [(raw, reason)] = scenario.rejected
    assert raw["update_id"] == bad["update_id"]
    assert "ValidationError" in reason


async def test_updates_in_flight_are_bounded_by_the_window(run: Run) -> None:
    scenario = Scenario(run, PollingPolicy(**{**FAST.__dict__, "window": 4}))
    gate = asyncio.Event()

    async def wait_for_gate(attempt: int) -> None:
        await gate.wait()

    for index in range(12):
        scenario.behaviour[f"m{index}"] = wait_for_gate
        scenario.say(f"m{index}")
    scenario.start()
    try:
        await scenario.until(lambda: scenario.running >= 4)
        await asyncio.sleep(0.2)  # give an unbounded poller the chance to start more
        assert scenario.running == 4
        gate.set()
        await scenario.until(lambda: len(scenario.handled) == 12)
    finally:
        gate.set()
        await scenario.finish()
    assert scenario.most_running == 4
    assert scenario.pending_ids() == []


async def test_stop_finishes_updates_in_flight_and_confirms_them() -> None:
    scenario = Scenario(run_poller)
    release = asyncio.Event()

    async def slow(attempt: int) -> None:
        await release.wait()

    scenario.behaviour["slow"] = slow
    scenario.say("slow")
    scenario.start()
    await scenario.until(lambda: scenario.running == 1)
    scenario.stop.set()
    await asyncio.sleep(0.1)
    assert scenario._task is not None and not scenario._task.done()  # waiting for "slow"
    release.set()
    await scenario.finish()
    assert scenario.handled == ["slow"]
    assert scenario.pending_ids() == []


async def test_an_update_still_running_after_the_drain_timeout_is_left_for_redelivery() -> None:
    scenario = Scenario(run_poller, PollingPolicy(**{**FAST.__dict__, "drain_timeout": 0.2}))

    async def stuck(attempt: int) -> None:
        await asyncio.Event().wait()

    scenario.behaviour["stuck"] = stuck
    scenario.say("done")
    stuck_id = scenario.say("stuck")
    scenario.say("also done")
    scenario.start()
    await scenario.until(lambda: len(scenario.handled) == 2 and scenario.running == 1)
    await scenario.finish()
    assert scenario.pending_ids()[0] == stuck_id


async def test_a_retry_waiting_at_stop_is_left_for_redelivery() -> None:
    scenario = Scenario(run_poller, PollingPolicy(**{**FAST.__dict__, "retry_delay": 30, "max_retry_delay": 30}))

    async def failing(attempt: int) -> None:
        raise ConnectionError("down")

    scenario.behaviour["failing"] = failing
    failing_id = scenario.say("failing")
    scenario.start()
    await scenario.until(lambda: scenario.attempts["failing"] == 1)
    await asyncio.wait_for(scenario.finish(), 2)  # does not sit out the 30 s backoff
    assert scenario.pending_ids() == [failing_id]
