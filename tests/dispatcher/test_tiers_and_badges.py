"""Tiers rise at once with a group congratulation and fall only after a private notice; badges by rule and by hand."""

from datetime import timedelta

from tests.dispatcher.conftest import ALICE, BOB, GROUP, OTHER_GROUP

OPERATOR = 999
MOD = 301


async def award(harness, user, points, chat=GROUP):
    post = await harness.say(chat, user, "sharing something")
    await harness.say(chat, OPERATOR, f"/award {points} tip", reply_to=post["message"]["message_id"])


async def me(harness, user, chat=GROUP):
    await harness.say(chat, user, "/me")
    return harness.replies(chat)[-1]


def private(harness, user):
    return harness.replies(user)


async def test_reaching_a_threshold_promotes_at_once_with_a_short_congratulation(harness):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, BOB, 60)
    await harness.settle()
    assert not any("升级" in text for text in harness.replies(GROUP))
    await award(harness, BOB, 40)
    await harness.settle()
    # In the group's language (zh-CN by default), not the member's.
    assert harness.replies(GROUP)[-1] == "🎉 恭喜 Bob 升级为「活跃妈妈」！"
    assert "Tier: Active mum (100 points earned in the last 90 days)\n300 more points to Seasoned mum" in await me(harness, BOB)


async def test_spending_points_lowers_the_balance_but_never_the_tier(harness):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, BOB, 120)
    await harness.settle()
    harness.app.shop.items["sticker"] = _item("sticker", 100)
    await harness.say(GROUP, BOB, "/redeem sticker")
    await harness.settle()
    text = await me(harness, BOB)
    assert "Points: 20 " in text and "Tier: Active mum (120 points earned" in text


async def test_demotion_comes_only_after_a_private_notice_and_is_never_announced(harness, clock):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await harness.say(BOB, BOB, "/start")  # she has started the bot, so she can be told privately
    await award(harness, BOB, 100)
    await harness.settle()
    group_before = list(harness.replies(GROUP))

    clock.advance(timedelta(days=80))
    report = await harness.app.tiers.evaluate_daily()
    assert (report.warned, report.demoted) == (0, 0)  # the points still count for another 10 days

    clock.advance(timedelta(days=4))  # 84 days: in 7 days they leave the 90-day window
    report = await harness.app.tiers.evaluate_daily()
    assert (report.warned, report.demoted) == (1, 0)
    assert private(harness, BOB)[-1].startswith("A friendly note: your tier Active mum needs 100 points earned in 90 days.")
    assert "you will move to New mum" in private(harness, BOB)[-1]

    clock.advance(timedelta(days=3))
    assert (await harness.app.tiers.evaluate_daily()).demoted == 0  # still in the window, still Active

    clock.advance(timedelta(days=4))  # day 91: below the threshold and the notice is 7 days old
    report = await harness.app.tiers.evaluate_daily()
    assert report.demoted == 1
    assert private(harness, BOB)[-1].startswith("Your tier is now New mum")
    assert harness.replies(GROUP) == group_before  # nothing said in the group
    assert "Tier: New mum (0 points earned" in await me(harness, BOB)


async def test_a_member_who_takes_part_again_after_the_notice_keeps_her_tier(harness, clock):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, BOB, 100)
    await harness.settle()
    clock.advance(timedelta(days=84))
    assert (await harness.app.tiers.evaluate_daily()).warned == 1  # told nobody (no private chat), but noted
    await award(harness, BOB, 100)
    await harness.settle()
    clock.advance(timedelta(days=7))
    report = await harness.app.tiers.evaluate_daily()
    assert (report.demoted, report.cleared) == (0, 1)
    assert "Tier: Active mum" in await me(harness, BOB)


async def test_a_first_share_and_a_seven_day_streak_earn_badges_shown_in_me(harness, clock):
    await harness.feed(harness.fake.user_message(GROUP, BOB, photo=True, caption="Our first purée: pumpkin"))
    await harness.settle()
    assert harness.replies(GROUP)[-1] == "🏅 恭喜 Bob 获得荣誉「第一次分享」！"
    for _ in range(7):
        await harness.say(GROUP, BOB, "/checkin")
        clock.advance(timedelta(days=1))
    await harness.settle()
    assert harness.replies(GROUP)[-1] == "🏅 恭喜 Bob 获得荣誉「坚持打卡7天」！"
    assert (await me(harness, BOB)).endswith("Badges: First share, 7-day streak")
    await harness.say(GROUP, BOB, "/checkin")
    await harness.settle()
    assert harness.replies(GROUP)[-1].startswith("Checked in!")  # held once: no second announcement


async def test_moderators_grant_and_remove_manual_badges_and_members_cannot(harness):
    harness.fake.add_user(MOD, "Mod Mary", language_code="en")
    harness.fake.set_admin(GROUP, MOD)
    post = await harness.say(GROUP, BOB, "I can lend a breast pump to anyone nearby")
    await harness.say(GROUP, MOD, "/badge helper", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == '🏅 Bob receives the badge "Kind helper".'
    await harness.say(GROUP, MOD, "/badge helper", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == 'Bob already has "Kind helper".'
    await harness.say(GROUP, MOD, "/badge streak_7", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == 'There is no badge "streak_7" to grant. Badges: helper'
    await harness.say(GROUP, ALICE, "/badge helper", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "抱歉，只有群管理员可以调整积分。"
    assert (await me(harness, BOB)).endswith("Badges: Kind helper")
    await harness.say(GROUP, MOD, "/unbadge helper", reply_to=post["message"]["message_id"])
    assert harness.replies(GROUP)[-1] == "Badge removed from Bob."
    assert "Badges" not in await me(harness, BOB)


async def test_monthly_honours_go_to_the_groups_top_contributor_and_most_active_member(harness, clock):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, BOB, 50)  # top contributor
    for text in ("hi", "how is everyone", "our baby slept 6 hours!", "yay"):
        await harness.say(GROUP, ALICE, text)  # most messages
    await award(harness, ALICE, 10, chat=OTHER_GROUP)
    await harness.settle()
    clock.advance(timedelta(days=8))  # 2026-12-01
    granted = await harness.app.badges.award_month(clock.now().date())
    assert granted == 4  # two honours in each group
    assert "🏅 恭喜 Bob 获得荣誉「优秀贡献者」！" in harness.replies(GROUP)
    assert "🏅 恭喜 Alice 获得荣誉「活跃分子」！" in harness.replies(GROUP)
    assert (await me(harness, BOB)).endswith("Badges: Top contributor (2026-11)")
    assert await harness.app.badges.award_month(clock.now().date()) == 0  # once per month


async def test_event_participation_pays_each_member_once_per_event(harness):
    harness.fake.add_user(MOD, "Mod Mary", language_code="en")
    harness.fake.set_admin(GROUP, MOD)
    harness.fake.add_user(BOB, "Bob", language_code="en", username="bobmum")
    await harness.say(GROUP, BOB, "see you at the live session")
    await harness.settle()
    await harness.say(GROUP, MOD, "/event nov-live @bobmum")
    assert harness.replies(GROUP)[-1] == "Thanks for joining nov-live! +10 points for @bobmum."
    await harness.say(GROUP, MOD, "/event nov-live @bobmum")
    assert harness.replies(GROUP)[-1] == "Already recorded for this event: @bobmum."
    await harness.say(GROUP, BOB, "/points")
    assert harness.replies(GROUP)[-1] == "Bob, you have 10 points in this group, rank 1 of 1."


def _item(item_id, cost):
    from bot.points.shop import Item

    return Item(item_id, {"zh-CN": item_id, "en": item_id.title()}, cost)


async def test_engagement_jobs_run_as_the_community_day_turns(harness):
    def when(job_id):
        trigger = harness.app.scheduler.get_job(job_id).trigger
        return {field.name: str(field) for field in trigger.fields if not field.is_default}

    # Days start at 04:00 Asia/Shanghai by default.
    assert when("leaderboard.days") == {"hour": "4", "minute": "0", "second": "1"}
    assert when("tiers.daily") == {"hour": "4", "minute": "5"}
    assert when("badges.monthly") == {"day": "1", "hour": "4", "minute": "10"}
    assert str(harness.app.scheduler.get_job("tiers.daily").trigger.timezone) == "Asia/Shanghai"


async def test_thanks_received_and_correct_quiz_answers_count_towards_their_badges(harness, clock):
    from bot.domain import ChatRef, MemberRef, UserRef
    from bot.engagement.quiz_points import QuizAnswer
    from bot.points.badges import BadgeRule

    harness.app.badges.rules["helpful_10"] = BadgeRule("helpful_10", "thanks_received", 2, {"zh-CN": "热心妈妈", "en": "Helpful mum"})
    harness.app.badges.rules["quiz_10"] = BadgeRule("quiz_10", "quiz_correct", 2, {"zh-CN": "答题达人", "en": "Quiz whiz"})
    tip = await harness.say(GROUP, BOB, "Warm water helps with colic")
    await harness.say(GROUP, ALICE, "谢谢！", reply_to=tip["message"]["message_id"])
    await harness.settle()
    assert not any("热心妈妈" in text for text in harness.replies(GROUP))  # one thanks of the two needed
    clock.advance(timedelta(days=1))
    await harness.say(GROUP, ALICE, "太有用了，谢谢", reply_to=tip["message"]["message_id"])
    await harness.settle()
    assert harness.replies(GROUP)[-1] == "🏅 恭喜 Bob 获得荣誉「热心妈妈」！"

    bob = MemberRef(ChatRef("telegram", str(GROUP)), UserRef("telegram", str(BOB)))
    for quiz in ("q1", "q2", "q3"):
        await harness.app.quiz_points.answer(QuizAnswer(bob, quiz, correct=quiz != "q2", at=clock.now()))
        await harness.settle()
    assert harness.replies(GROUP)[-1] == "🏅 恭喜 Bob 获得荣誉「答题达人」！"  # after the second correct one
