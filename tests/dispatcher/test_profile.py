"""/profile in the private chat: optional, explained, deletable, and the chosen language wins."""

from datetime import timedelta

from sqlalchemy import func, select

from models.tables import MemberProfile
from tests.dispatcher.conftest import ALICE, BOB, GROUP


async def test_an_empty_profile_is_explained_with_the_usage(harness):
    await harness.say(BOB, BOB, "/profile")
    reply = harness.replies(BOB)[-1]
    assert reply.startswith("You have no profile yet. It is optional and can be deleted any time")
    assert "/profile due 2026-05-01" in reply


async def test_a_due_date_gives_the_pregnancy_stage(harness):
    await harness.say(BOB, BOB, "/profile due 2027-03-20")
    assert harness.replies(BOB)[-1] == "Saved.\nMy profile\nStage: Second trimester\nDue date: 2027-03-20"


async def test_chinese_sub_commands_work_too(harness):
    await harness.say(ALICE, ALICE, "/profile 生日 2026-07-01")
    assert harness.replies(ALICE)[-1] == "已保存。\n我的档案\n阶段：3-6 月\n宝宝生日：2026-07-01"


async def test_a_birth_date_replaces_the_due_date_so_only_one_date_is_kept(harness):
    await harness.say(BOB, BOB, "/profile due 2027-03-20")
    await harness.say(BOB, BOB, "/profile born 2026-10-01")
    async with harness.app.storage.engine.connect() as connection:
        [row] = (await connection.execute(select(MemberProfile.due_date, MemberProfile.birth_date))).all()
    assert row.due_date is None and str(row.birth_date) == "2026-10-01"


async def test_impossible_dates_are_refused_with_the_reason(harness):
    await harness.say(BOB, BOB, "/profile born 2030-01-01")
    assert harness.replies(BOB)[-1].startswith("The birthday can't be after today")
    await harness.say(BOB, BOB, "/profile due 2020-01-01")
    assert harness.replies(BOB)[-1].startswith("The due date must be between two weeks ago")
    await harness.say(BOB, BOB, "/profile due soon")
    assert harness.replies(BOB)[-1].startswith("To set it (send here, in private):")


async def test_the_chosen_language_wins_over_telegrams(harness):
    await harness.say(ALICE, ALICE, "/profile lang en")  # Alice's Telegram is in Chinese
    await harness.say(GROUP, ALICE, "/checkin")
    assert harness.replies(GROUP)[-1] == "Checked in! +10 points, 1-day streak."


async def test_delete_removes_the_profile_and_the_language_choice(harness):
    await harness.say(ALICE, ALICE, "/profile lang en")
    await harness.say(ALICE, ALICE, "/profile delete")
    assert harness.replies(ALICE)[-1] == "Your profile is deleted."  # answered in the language she had chosen
    await harness.say(ALICE, ALICE, "/profile")
    assert harness.replies(ALICE)[-1].startswith("你还没有填写档案。")  # back to her Telegram language
    async with harness.app.storage.engine.connect() as connection:
        assert (await connection.execute(select(func.count()).select_from(MemberProfile))).scalar() == 0


async def test_profile_in_a_group_points_to_the_private_chat(harness):
    await harness.say(GROUP, BOB, "/profile due 2027-03-20")
    assert harness.replies(GROUP)[-1] == "To protect your privacy, please send this command in a private chat with me."


async def test_a_paused_streak_survives_the_missed_days(harness, clock):
    from datetime import timedelta

    for _ in range(3):
        await harness.say(GROUP, BOB, "/checkin")
        clock.advance(timedelta(days=1))
    await harness.say(BOB, BOB, "/profile pause 10")  # the baby arrives: ten days away
    assert "Streak paused until" in harness.replies(BOB)[-1]
    clock.advance(timedelta(days=9))
    await harness.say(GROUP, BOB, "/me")
    assert "Check-in streak: 3 days" in harness.replies(GROUP)[-1]
    await harness.say(GROUP, BOB, "/checkin")
    assert harness.replies(GROUP)[-1] == "Checked in! +10 points, 4-day streak."


async def test_a_pause_is_at_most_fourteen_days(harness):
    await harness.say(BOB, BOB, "/profile pause 30")
    assert harness.replies(BOB)[-1] == "A pause lasts 1 to 14 days, e.g. /profile pause 7."
    await harness.say(BOB, BOB, "/profile pause 5")
    await harness.say(BOB, BOB, "/profile resume")
    assert "Streak paused" not in harness.replies(BOB)[-1]


async def test_a_new_pause_can_start_only_once_per_period_but_a_running_one_can_grow(harness, clock):
    await harness.say(BOB, BOB, "/profile pause 3")
    await harness.say(BOB, BOB, "/profile pause 10")  # lengthening the running pause: 10 days from today
    assert "Streak paused until 2026-12-02" in harness.replies(BOB)[-1]
    clock.advance(timedelta(days=1))
    await harness.say(BOB, BOB, "/profile pause 14")  # would make it 15 days from its first day
    assert harness.replies(BOB)[-1] == "A pause lasts 1 to 14 days, e.g. /profile pause 7."
    await harness.say(BOB, BOB, "/profile resume")
    await harness.say(BOB, BOB, "/profile pause 5")
    assert harness.replies(BOB)[-1] == "A streak pause can start once every 60 days; the next one is possible from 2027-01-22."
    clock.advance(timedelta(days=59))
    await harness.say(BOB, BOB, "/profile pause 5")
    assert "Streak paused until" in harness.replies(BOB)[-1]
