from __future__ import annotations

import tempfile
from datetime import UTC, datetime

import pytest

from bot.config import (
    CommunitySettings, DatabaseSettings, FiltersSettings, FloodFilterSettings, ModerationSettings, PointsSettings, Settings,
    TelegramSettings,
)  # fmt: skip
from bot.testing.clock import ManualClock
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.harness import BotHarness

GROUP = -1001
OTHER_GROUP = -1002
ALICE = 101
BOB = 102
# 10:00 in Shanghai on 2026-11-23.
MORNING = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
# Updates given up on are saved as files: outside the working tree (a test wanting them sets its own).
REJECTED_DIR = tempfile.mkdtemp(prefix="cradle-tests-rejected-")


def settings_for(database_url: str, **community: object) -> Settings:
    return Settings(
        database=DatabaseSettings(url=database_url),
        community=CommunitySettings(name="Test Mamas", operators=[999], **community),
        points=PointsSettings(checkin=10, streak_bonus={3: 2, 7: 5}),
        # Tests send bursts of messages at one instant of a manual clock: a flood, but not what they test.
        moderation=ModerationSettings(filters=FiltersSettings(flood=FloodFilterSettings(enabled=False))),
        telegram=TelegramSettings(rejected_dir=REJECTED_DIR),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MORNING)


@pytest.fixture
async def harness(database_url, clock):
    fake = FakeTelegram(clock=lambda: clock.now().timestamp())
    fake.add_chat(GROUP, "宝妈交流群")
    fake.add_chat(OTHER_GROUP, "English mums")
    fake.add_user(ALICE, "Alice", language_code="zh-hans")
    fake.add_user(BOB, "Bob", language_code="en")
    async with BotHarness(settings_for(database_url), fake=fake, clock=clock) as harness:
        yield harness


@pytest.fixture
async def start_bot(clock):
    """Starts harnesses a test builds with its own fake and settings; stops them all afterwards."""
    started: list[BotHarness] = []

    async def start(settings: Settings, fake: FakeTelegram) -> BotHarness:
        harness = BotHarness(settings, fake=fake, clock=clock)
        await harness.__aenter__()
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await harness.__aexit__(None, None, None)
