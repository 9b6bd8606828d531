"""Scheduled content through the whole bot, with a clock the tests move: on time in each group's
timezone, exactly once across restarts and instances, quizzes and polls, draws, milestones, the
admin chat's commands and hot reload."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import CommunitySettings, ScheduleSettings
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.harness import BotHarness
from models.tables import LedgerEntry, ScheduleFire
from tests.dispatcher.conftest import ALICE, BOB, GROUP, MORNING, OTHER_GROUP, settings_for

OPERATOR = 999
ADMIN_CHAT = -100999
# 10:00 in Shanghai is MORNING; London is 8 hours behind in winter.
AT_1030_SHANGHAI = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
AT_1030_LONDON = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)

HEADER = f"""
tags = ["pregnancy", "london"]
quiet_hours = "22:00-07:00"
[groups."{GROUP}"]
tags = ["pregnancy"]
[groups."{OTHER_GROUP}"]
tags = ["london"]
timezone = "Europe/London"
"""


def tip(entry_id: str = "tip", when: str = 'daily = "10:30"', extra: str = "") -> str:
    return f"""
[[entry]]
id = "{entry_id}"
kind = "announcement"
{when}
text = {{ zh-CN = "早安，{entry_id}", en = "Good morning, {entry_id}" }}
{extra}
"""


QUIZ = """
[[entry]]
id = "quiz"
kind = "quiz"
daily = "10:30"
tags = ["pregnancy"]
question = { zh-CN = "宝宝几个月开始加辅食？", en = "When do solids start?" }
options = { zh-CN = ["4 个月前", "6 个月左右", "1 岁后"], en = ["Before 4 months", "Around 6 months", "After 1 year"] }
answer = 2
explanation = { zh-CN = "6 个月左右开始添加。", en = "Around 6 months." }
close_after = "2h"
"""


class World:
    """One fake Telegram and one database; bots (app instances) come and go on them."""

    def __init__(self, database_url: str, clock: Any, path: Path) -> None:
        self.database_url = database_url
        self.clock = clock
        self.path = path
        self.fake = FakeTelegram(clock=lambda: clock.now().timestamp())
        self.fake.add_chat(GROUP, "宝妈交流群")
        self.fake.add_chat(OTHER_GROUP, "London mums")
        self.fake.add_chat(ADMIN_CHAT, "Organisers")
        self.fake.add_user(ALICE, "Alice", language_code="zh-hans")
        self.fake.add_user(BOB, "Bob", language_code="en")
        self.fake.add_user(OPERATOR, "Olga", language_code="en")
        self.harnesses: list[BotHarness] = []

    def write(self, body: str, top: str = "") -> None:
        self.path.write_text(top + HEADER + body, encoding="utf-8")

    async def bot(self) -> BotHarness:
        settings = settings_for(self.database_url).model_copy(
            update={
                "schedule": ScheduleSettings(file=str(self.path)),
                "community": CommunitySettings(name="Test Mamas", operators=[OPERATOR], admin_chat_id=ADMIN_CHAT),
            }
        )
        harness = BotHarness(settings, fake=self.fake, clock=self.clock)
        await harness.__aenter__()
        self.harnesses.append(harness)
        return harness

    async def stop(self, harness: BotHarness) -> None:
        self.harnesses.remove(harness)
        await harness.__aexit__(None, None, None)

    def posts(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent_messages(chat_id) if "poll" in m or "早安" in m.get("text", "") or "morning" in m.get("text", "")]

    def texts(self, chat_id: int) -> list[str]:
        return [m.get("text", "") for m in self.fake.sent_messages(chat_id)]


@pytest.fixture
async def world(database_url, clock, tmp_path):
    world = World(database_url, clock, tmp_path / "schedule.toml")
    yield world
    for harness in list(world.harnesses):
        await world.stop(harness)


async def groups_known(bot: BotHarness) -> None:
    """The bot learns its groups from their traffic."""
    await bot.say(GROUP, ALICE, "大家早")
    await bot.say(OTHER_GROUP, BOB, "Morning all")
    await bot.settle()


async def at(world: World, bot: BotHarness, moment: datetime) -> None:
    world.clock.set(moment)
    await bot.app.posts.tick()


async def fires(bot: BotHarness, status: str | None = None) -> int:
    async with bot.app.storage.engine.connect() as connection:
        query = select(func.count()).select_from(ScheduleFire)
        if status:
            query = query.where(ScheduleFire.status == status)
        return (await connection.execute(query)).scalar_one()


async def status_of(bot: BotHarness, entry_id: str, scheduled_at: datetime) -> str | None:
    async with bot.app.storage.engine.connect() as connection:
        rows = await connection.execute(select(ScheduleFire.status, ScheduleFire.scheduled_at).where(ScheduleFire.entry_id == entry_id))
        found = [status for status, when in rows if when.replace(tzinfo=UTC) == scheduled_at]
    return found[0] if found else None


async def test_posts_go_out_at_the_local_minute_in_each_groups_timezone(world):
    world.write(tip())
    bot = await world.bot()
    await groups_known(bot)
    await at(world, bot, AT_1030_SHANGHAI - timedelta(minutes=1))
    assert world.posts(GROUP) == []
    await at(world, bot, AT_1030_SHANGHAI)
    assert [m["text"] for m in world.posts(GROUP)] == ["📢 早安，tip"]
    assert world.posts(OTHER_GROUP) == []  # still 02:30 in London
    await at(world, bot, AT_1030_LONDON - timedelta(minutes=1))
    assert world.posts(OTHER_GROUP) == []
    await at(world, bot, AT_1030_LONDON)
    assert [m["text"] for m in world.posts(OTHER_GROUP)] == ["📢 早安，tip"]  # the group language (zh-CN default)
    assert len(world.posts(GROUP)) == 1


async def test_a_restart_never_posts_twice(world):
    world.write(tip())
    bot = await world.bot()
    await groups_known(bot)
    await at(world, bot, AT_1030_SHANGHAI)
    await world.stop(bot)
    again = await world.bot()
    await at(world, again, AT_1030_SHANGHAI + timedelta(minutes=1))
    await at(world, again, AT_1030_SHANGHAI + timedelta(minutes=2))
    assert len(world.posts(GROUP)) == 1


async def test_two_instances_ticking_together_post_once(world):
    world.write(tip(extra='tags = ["pregnancy"]'))
    first, second = await world.bot(), await world.bot()
    await groups_known(first)
    world.clock.set(AT_1030_SHANGHAI)
    await asyncio.gather(first.app.posts.tick(), second.app.posts.tick(), first.app.posts.tick(), second.app.posts.tick())
    assert len(world.posts(GROUP)) == 1
    assert await fires(first, "sent") == 1


async def test_a_post_missed_while_down_goes_out_within_grace_and_is_skipped_after(world):
    world.write(tip("late", 'daily = "10:30"', 'tags = ["pregnancy"]') + tip("later", 'daily = "10:10"', 'tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)
    await world.stop(bot)
    # Back up at 10:40: "late" (10:30) is 10 minutes late, within 15; "later" (10:10) is 30 late.
    world.clock.set(AT_1030_SHANGHAI + timedelta(minutes=10))
    bot = await world.bot()
    await bot.app.posts.tick()
    await bot.app.posts.tick()
    assert [m["text"] for m in world.posts(GROUP)] == ["📢 早安，late"]
    assert await status_of(bot, "late", AT_1030_SHANGHAI) == "sent"
    assert await status_of(bot, "later", AT_1030_SHANGHAI - timedelta(minutes=20)) == "missed"


async def test_quiet_hours_defer_a_post_to_their_end_or_skip_it(world):
    world.write(tip("deferred", 'daily = "23:00"', 'tags = ["pregnancy"]') + tip("skipped", 'daily = "23:30"', 'tags = ["pregnancy"]\nquiet = "skip"'))
    bot = await world.bot()
    await groups_known(bot)
    await at(world, bot, datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    await at(world, bot, datetime(2026, 11, 23, 15, 30, tzinfo=UTC))
    assert world.posts(GROUP) == []
    await at(world, bot, datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # 07:00 next morning
    assert [m["text"] for m in world.posts(GROUP)] == ["📢 早安，deferred"]
    assert await status_of(bot, "skipped", datetime(2026, 11, 23, 15, 30, tzinfo=UTC)) == "quiet"
    await at(world, bot, datetime(2026, 11, 24, 23, 0, tzinfo=UTC))
    assert len(world.posts(GROUP)) == 2  # the next night's, deferred again


async def test_skip_dates_post_nothing(world):
    world.write(tip(extra='tags = ["pregnancy"]'), top="skip_dates = [2026-11-24]\n")
    bot = await world.bot()
    await groups_known(bot)
    await at(world, bot, AT_1030_SHANGHAI + timedelta(days=1))
    assert world.posts(GROUP) == []
    await at(world, bot, AT_1030_SHANGHAI + timedelta(days=2))
    assert len(world.posts(GROUP)) == 1


async def test_a_quiz_pays_a_first_correct_answer_once_and_posts_results_when_it_closes(world):
    world.write(QUIZ)
    bot = await world.bot()
    await groups_known(bot)
    await at(world, bot, AT_1030_SHANGHAI)
    [quiz] = world.posts(GROUP)
    poll = quiz["poll"]
    assert poll["type"] == "quiz" and not poll["is_anonymous"] and poll["correct_option_ids"] == [1]
    assert poll["question"] == "宝宝几个月开始加辅食？" and poll["explanation"] == "6 个月左右开始添加。"
    answer = world.fake.poll_answer(poll["id"], ALICE, [1])
    await bot.feed(answer)
    await bot.feed(answer)  # redelivered
    await bot.feed(world.fake.poll_answer(poll["id"], BOB, [0]))
    await bot.app.posts.on_poll_answer(poll["id"], _user(ALICE), [1])  # a second answer never counts
    await bot.settle()
    assert await quiz_points(bot) == {str(ALICE): 5}
    # A restart before the end: the new instance closes it on time.
    await world.stop(bot)
    bot = await world.bot()
    await at(world, bot, AT_1030_SHANGHAI + timedelta(hours=1, minutes=59))
    assert world.fake.calls("stopPoll") == []
    await at(world, bot, AT_1030_SHANGHAI + timedelta(hours=2))
    assert len(world.fake.calls("stopPoll")) == 1
    assert world.texts(GROUP)[-1] == "⏰ 答题结束！共 2 人作答，答对率 50%。正确答案：6 个月左右"
    await at(world, bot, AT_1030_SHANGHAI + timedelta(hours=3))
    assert len(world.fake.calls("stopPoll")) == 1  # closed once


async def test_a_poll_posts_its_results_when_it_closes(world):
    world.write(
        """
[[entry]]
id = "poll"
kind = "poll"
daily = "10:30"
tags = ["london"]
question = { zh-CN = "宝宝夜醒几次？", en = "How often does your baby wake at night?" }
options = { zh-CN = ["不醒", "1-2 次", "3 次以上"], en = ["Never", "1-2 times", "3 or more"] }
close_after = "1h"
"""
    )
    bot = await world.bot()
    await groups_known(bot)
    await at(world, bot, AT_1030_LONDON)
    [message] = world.posts(OTHER_GROUP)
    assert message["poll"]["type"] == "regular" and not message["poll"]["is_anonymous"]
    for user, option in ((ALICE, 1), (BOB, 1), (OPERATOR, 2)):
        await bot.feed(world.fake.poll_answer(message["poll"]["id"], user, [option]))
    await at(world, bot, AT_1030_LONDON + timedelta(hours=1))
    assert world.texts(OTHER_GROUP)[-1] == (
        "📊 投票结束，共 3 人参与：\n· 不醒：0 票（0%）\n· 1-2 次：2 票（67%）\n· 3 次以上：1 票（33%）"
    )
    assert await quiz_points(bot) == {}  # polls pay nothing


async def test_a_bank_rotates_without_repeats_until_every_item_was_posted(world):
    bank = world.path.parent / "few_tips.toml"
    bank.write_text(
        "".join(f'[[items]]\nid = "t{n}"\nzh-CN = "小贴士{n}"\nen = "Tip {n}"\n' for n in range(3)), encoding="utf-8"
    )
    world.write('[[entry]]\nid = "tips"\nkind = "tip"\ndaily = "10:30"\ntags = ["pregnancy"]\nbank = "few_tips.toml"\n')
    bot = await world.bot()
    await groups_known(bot)
    for day in range(4):
        await at(world, bot, AT_1030_SHANGHAI + timedelta(days=day))
    tips = [text.removeprefix("🌱 今日小贴士\n") for text in world.texts(GROUP) if text.startswith("🌱")]
    assert len(tips) == 4
    assert sorted(tips[:3]) == ["小贴士0", "小贴士1", "小贴士2"]  # a full round, no repeats
    assert tips[3] in tips[:3]  # then a new round


async def test_a_draw_states_its_method_and_its_winner_can_be_checked(world, clock):
    world.write(
        """
[[entry]]
id = "draw"
kind = "draw"
daily = "10:30"
tags = ["pregnancy"]
min_checkins = 2
period_days = 7
prize = { zh-CN = "绘本一套", en = "Picture books" }
"""
    )
    bot = await world.bot()
    await groups_known(bot)
    for days_ago in (3, 2):
        clock.set(MORNING - timedelta(days=days_ago))
        await bot.say(GROUP, ALICE, "/checkin")
        await bot.say(GROUP, BOB, "/checkin")
    clock.set(MORNING - timedelta(days=1))
    await bot.say(GROUP, 103, "/checkin")  # one check-in only: not eligible
    await bot.settle()
    await at(world, bot, AT_1030_SHANGHAI)
    announcement = next(m for m in world.fake.sent_messages(GROUP) if m.get("text", "").startswith("🎁"))
    assert "共 2 位" in announcement["text"] and "SHA-256" in announcement["text"]
    assert announcement["text"].endswith("1. Alice\n2. Bob")
    result = world.texts(GROUP)[-1]
    assert result.startswith("🎉 中签的是：")
    seed_text = re.search(r"种子原文：(\S+)", result).group(1)
    digest = hashlib.sha256(f"{ALICE}\n{BOB}".encode()).hexdigest()
    assert seed_text == f"{GROUP}:{announcement['message_id']}:2026-11-23:{digest}"
    seed = hashlib.sha256(seed_text.encode()).hexdigest()
    number = int(hashlib.sha256(f"{seed}:0".encode()).hexdigest(), 16) % 2 + 1
    assert f"名单序号 {number}）" in result and ["Alice", "Bob"][number - 1] in result


async def test_the_weekly_leaderboard_is_posted(world, clock):
    world.write('[[entry]]\nid = "board"\nkind = "leaderboard"\ndaily = "10:30"\ntags = ["pregnancy"]\n')
    bot = await world.bot()
    await groups_known(bot)
    await bot.say(GROUP, ALICE, "/checkin")
    await bot.settle()
    await at(world, bot, AT_1030_SHANGHAI)
    assert world.texts(GROUP)[-1] == "🏆 本周积分榜\n🥇 Alice：10\n\n本周辛苦啦，下周继续一起打卡！"


async def test_milestones_greet_opted_in_members_and_send_stage_tips(world):
    world.write('[[entry]]\nid = "milestones"\nkind = "milestones"\ndaily = "10:30"\ntags = ["pregnancy"]\nprivate_tips = true\n')
    bot = await world.bot()
    await groups_known(bot)
    hundred_days_ago = (date(2026, 11, 23) - timedelta(days=99)).isoformat()
    await bot.say(ALICE, ALICE, f"/profile 生日 {hundred_days_ago}")
    await bot.say(ALICE, ALICE, "/profile 纪念日 开")
    await bot.say(BOB, BOB, "/profile born 2025-11-23")  # a first birthday, but Bob did not opt in
    await at(world, bot, AT_1030_SHANGHAI)
    greeting = world.texts(GROUP)[-1]
    assert greeting == "🎂 今天有值得庆祝的日子：\n· Alice 家的宝宝今天满 100 天啦，百天快乐！"
    assert world.texts(ALICE)[-1].startswith("🌱 给你的阶段小贴士")
    assert not world.texts(BOB)[-1].startswith("🌱")


async def test_admins_list_pause_resume_and_post_now_from_the_admin_chat(world):
    world.write(tip(extra='tags = ["pregnancy"]') + tip("evening", 'daily = "20:00"', 'tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)
    await bot.say(ADMIN_CHAT, OPERATOR, "/schedule")
    listing = world.texts(ADMIN_CHAT)[-1].splitlines()
    assert listing[0] == "The next 10 scheduled posts:"
    assert listing[1] == f"11-23 10:30 (Asia/Shanghai) tip · announcement · group {GROUP}"
    assert listing[2] == f"11-23 20:00 (Asia/Shanghai) evening · announcement · group {GROUP}"
    await bot.say(ADMIN_CHAT, OPERATOR, "/pause tip")
    assert world.texts(ADMIN_CHAT)[-1] == "tip is paused; /resume tip to start it again."
    await at(world, bot, AT_1030_SHANGHAI)
    assert world.posts(GROUP) == []
    await bot.say(ADMIN_CHAT, OPERATOR, "/resume tip")
    assert world.texts(ADMIN_CHAT)[-1] == "tip is running again."
    await bot.say(ADMIN_CHAT, OPERATOR, "/postnow evening")
    assert world.texts(ADMIN_CHAT)[-1] == "Posted evening now in 1 groups."
    assert [m["text"] for m in world.posts(GROUP)] == ["📢 早安，evening"]
    await bot.say(ADMIN_CHAT, OPERATOR, "/pause nothing")
    assert world.texts(ADMIN_CHAT)[-1] == "There is no entry nothing. Entries: tip, evening"
    await bot.say(ADMIN_CHAT, BOB, "/postnow evening")  # not a moderator
    assert world.texts(ADMIN_CHAT)[-1] == "There is no entry nothing. Entries: tip, evening"


async def test_hot_reload_swaps_a_valid_schedule_and_keeps_the_old_on_errors(world):
    world.write(tip(extra='tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)
    watcher = bot.app.schedule_watcher
    world.write(tip("new", extra='tags = ["pregnancy"]'))
    assert await watcher.check()
    assert [entry.id for entry in bot.app.posts.schedule.entries] == ["new"]
    world.write(tip("broken", 'cron = "99 8 * * *"'))
    assert not await watcher.check()
    assert [entry.id for entry in bot.app.posts.schedule.entries] == ["new"]
    report = world.texts(ADMIN_CHAT)[-1]
    assert report.startswith("⚠️ 新的日程文件有错误，没有生效，旧日程继续运行：")
    assert "entry 'broken': cron: invalid cron expression" in report
    assert not await watcher.check()  # unchanged since: not reported again
    await at(world, bot, AT_1030_SHANGHAI)
    assert [m["text"] for m in world.posts(GROUP)] == ["📢 早安，new"]


BAD_SCHEDULES = {
    "unknown group tag": (tip(extra='tags = ["toddlers"]'), "tags: unknown group tag 'toddlers'"),
    "invalid cron": (tip(when='cron = "30 25 * * *"'), "cron: invalid cron expression '30 25 * * *'"),
    "quiz answer out of range": (QUIZ.replace("answer = 2", "answer = 7"), "answer: there is no option 7 (the quiz has 3 options"),
    "empty bank": ('[[entry]]\nid = "t"\nkind = "tip"\ndaily = "10:30"\nbank = "empty.toml"\n', "the bank is empty"),
}


@pytest.mark.parametrize("case", list(BAD_SCHEDULES))
async def test_hot_reload_refuses_each_kind_of_bad_schedule_and_the_old_one_runs_on(world, case):
    (world.path.parent / "empty.toml").write_text("# no items yet\n", encoding="utf-8")
    world.write(tip(extra='tags = ["pregnancy"]'))
    bot = await world.bot()
    await groups_known(bot)
    body, problem = BAD_SCHEDULES[case]
    world.write(body)
    assert not await bot.app.schedule_watcher.reload()
    assert problem in world.texts(ADMIN_CHAT)[-1]
    await at(world, bot, AT_1030_SHANGHAI)
    assert [m["text"] for m in world.posts(GROUP)] == ["📢 早安，tip"]


async def test_a_group_that_removed_the_bot_gets_no_more_posts(world):
    world.write(tip())
    bot = await world.bot()
    await groups_known(bot)
    await bot.feed(world.fake.remove_bot(OTHER_GROUP))
    await at(world, bot, AT_1030_LONDON)
    assert [call for call in world.fake.calls("sendMessage") if call.params["chat_id"] == OTHER_GROUP] == []
    world.fake.add_chat(OTHER_GROUP, "London mums")  # added back
    await bot.feed(world.fake.inject({"my_chat_member": _bot_added(world.fake)}))
    await at(world, bot, AT_1030_LONDON + timedelta(days=1))
    assert len(world.posts(OTHER_GROUP)) == 1


def _bot_added(fake: FakeTelegram) -> dict[str, Any]:
    return {
        "chat": {"id": OTHER_GROUP, "type": "supergroup", "title": "London mums"},
        "from": {"id": OPERATOR, "is_bot": False, "first_name": "Olga"},
        "date": int(AT_1030_LONDON.timestamp()),
        "old_chat_member": {"status": "left", "user": fake.bot_user},
        "new_chat_member": {"status": "member", "user": fake.bot_user},
    }


def _user(user_id: int):
    from bot.domain import UserRef

    return UserRef("telegram", str(user_id))


async def quiz_points(bot: BotHarness) -> dict[str, int]:
    from models.tables import Membership, UserAccount

    async with bot.app.storage.engine.connect() as connection:
        rows = await connection.execute(
            select(UserAccount.external_id, func.sum(LedgerEntry.delta))
            .join(Membership, Membership.id == LedgerEntry.membership_id)
            .join(UserAccount, UserAccount.id == Membership.user_id)
            .where(LedgerEntry.reason == "quiz")
            .group_by(UserAccount.external_id)
        )
        return {row[0]: row[1] for row in rows}
