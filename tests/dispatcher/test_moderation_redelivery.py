"""The same update handled twice (redelivered, or by two bot processes on one database) moderates once:
one warning, one ladder step, one notice to the member, keyed by (chat, source message, kind)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.config import CommunitySettings, ModerationSettings, WelcomeSettings
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.harness import BotHarness
from tests.dispatcher.conftest import ALICE, BOB, GROUP, settings_for
from tests.dispatcher.test_moderation import ADMIN_CHAT, LOG_CHAT, MOD, OPERATOR, actions, calls

AD = "代购日韩奶粉，需要的加V：mama8888 私聊"


@pytest.fixture
def two_bots(database_url, clock, start_bot):
    """Two app instances (each its own Dispatcher, dedupe memory and caches) on one database and one Telegram."""

    async def build() -> tuple[BotHarness, BotHarness]:
        fake = FakeTelegram(clock=lambda: clock.now().timestamp())
        for chat, title in ((GROUP, "宝妈交流群"), (ADMIN_CHAT, "Organisers"), (LOG_CHAT, "Mod log")):
            fake.add_chat(chat, title)
        fake.add_user(ALICE, "Alice", language_code="zh-hans", username="alice_mama")
        fake.add_user(BOB, "Bob", language_code="en", username="bob_dad")
        fake.add_user(MOD, "Mod", language_code="en")
        fake.set_admin(GROUP, MOD)
        settings = settings_for(database_url).model_copy(
            update={
                "community": CommunitySettings(name="Test Mamas", operators=[OPERATOR], admin_chat_id=ADMIN_CHAT),
                "moderation": ModerationSettings(log_chat_id=LOG_CHAT, welcome=WelcomeSettings(enabled=False)),
            }
        )
        first = await start_bot(settings, fake)
        second = await start_bot(settings, fake)
        for user, hello in ((ALICE, "大家好"), (BOB, "hi all")):  # both instances have seen them
            update = fake.user_message(GROUP, user, hello)
            await first.feed(update)
            await second.feed(update)
        await first.settle()
        await second.settle()
        return first, second

    return build


async def both(first: BotHarness, second: BotHarness, update: dict[str, Any]) -> None:
    """The update reaches both instances at once, as a redelivery across instances would."""
    await asyncio.gather(first.feed(update), second.feed(update))


def notices(bot: BotHarness, needle: str) -> list[str]:
    return [text for text in bot.replies(GROUP) if needle in text]


async def test_an_ad_seen_by_two_instances_is_deleted_and_warned_once(two_bots):
    first, second = await two_bots()
    update = first.fake.user_message(GROUP, ALICE, AD)
    await both(first, second, update)
    assert len(calls(first, "deleteMessage")) == 1
    assert [kind for kind, *_ in await actions(first)] == ["delete", "warn"]
    assert len(notices(first, "你的消息已被移除")) == 1
    assert len(first.fake.sent_messages(LOG_CHAT)) == 2  # one log line each for the delete and the warning


async def test_a_warn_command_delivered_twice_stores_one_warning_and_tells_her_once(two_bots):
    first, second = await two_bots()
    for number in range(1, 3):
        await both(first, second, first.fake.user_message(GROUP, MOD, f"/warn @alice_mama spam {number}"))
    assert [kind for kind, *_ in await actions(first)] == ["warn", "warn"]
    assert len(notices(first, "这是一次警告")) == 2
    assert calls(first, "restrictChatMember") == []
    # The third real warning climbs the ladder exactly once, even delivered twice.
    await both(first, second, first.fake.user_message(GROUP, MOD, "/warn @alice_mama spam 3"))
    assert len(calls(first, "restrictChatMember")) == 1
    assert [kind for kind, *_ in await actions(first)] == ["warn", "warn", "warn", "mute"]
    assert len(notices(first, "禁言")) == 1


async def test_the_same_update_fed_twice_to_one_instance_after_a_restart_acts_once(two_bots):
    first, second = await two_bots()
    update = first.fake.user_message(GROUP, MOD, "/mute @bob_dad 2h calm down")
    await first.feed(update)
    await second.feed(update)  # sequential this time: the second finds the first's row
    assert len(calls(first, "restrictChatMember")) == 1
    assert [kind for kind, *_ in await actions(first)] == ["mute"]
    assert len([text for text in first.replies(GROUP) if "Bob" in text and "muted" in text.lower()]) == 1


async def test_an_unwarn_delivered_twice_withdraws_one_warning(two_bots):
    first, second = await two_bots()
    for number in range(1, 3):
        await first.feed(first.fake.user_message(GROUP, MOD, f"/warn @bob_dad rude {number}"))
    update = first.fake.user_message(GROUP, MOD, "/unwarn @bob_dad")
    await first.feed(update)
    await second.feed(update)  # later: without the key it would withdraw the other warning too
    await first.feed(first.fake.user_message(GROUP, MOD, "/warns @bob_dad"))
    assert first.replies(GROUP)[-1].startswith("Bob has 1 active warning(s):")
    assert [kind for kind, *_ in await actions(first)] == ["warn", "warn", "unwarn"]


def fail_once(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
    """``owner.name`` raises ConnectionError on its next call (a connection cut), then works again."""
    real = getattr(owner, name)

    async def cut(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(owner, name, real)
        raise ConnectionError("connection cut")

    monkeypatch.setattr(owner, name, cut)


async def test_a_third_warning_cut_off_before_the_ladder_still_mutes_when_redelivered(two_bots, monkeypatch):
    first, _ = await two_bots()
    for number in range(1, 3):
        await first.feed(first.fake.user_message(GROUP, MOD, f"/warn @alice_mama spam {number}"))
    fail_once(monkeypatch, first.app.moderation, "act")  # the warning is committed, then the ladder's mute fails
    update = first.fake.user_message(GROUP, MOD, "/warn @alice_mama spam 3")
    with pytest.raises(ConnectionError):
        await first.feed(update)
    assert calls(first, "restrictChatMember") == []
    await first.feed(update)  # Telegram delivers it again
    assert len(calls(first, "restrictChatMember")) == 1
    assert [kind for kind, *_ in await actions(first)] == ["warn", "warn", "warn", "mute"]
    # Each notice goes with its step: the mute is told now; the third warning's line was the cut-off
    # attempt's to send (a redelivery cannot tell a cut from another process still at work).
    assert notices(first, "禁言") == ["🔇 Alice 已有 3 次有效警告，禁言 1d。"]
    assert len(notices(first, "这是一次警告")) == 2


async def test_a_mute_the_platform_call_failed_for_is_carried_out_when_redelivered(two_bots, monkeypatch):
    first, _ = await two_bots()
    fail_once(monkeypatch, first.app.controls.get("telegram"), "restrict")
    update = first.fake.user_message(GROUP, MOD, "/mute @bob_dad 2h calm down")
    with pytest.raises(ConnectionError):
        await first.feed(update)
    assert await actions(first) == []  # the claim was withdrawn: nothing says it was done
    await first.feed(update)
    assert len(calls(first, "restrictChatMember")) == 1
    assert [(kind, outcome) for kind, _, _, outcome in await actions(first)] == [("mute", "done")]
    assert len([text for text in first.replies(GROUP) if "Bob" in text and "muted" in text.lower()]) == 1
