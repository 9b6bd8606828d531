"""/top: rolling week and month boards, the season, community-wide boards, ties and departed members."""

from datetime import timedelta

from sqlalchemy import select

from models.tables import SeasonStanding
from tests.dispatcher.conftest import ALICE, BOB, GROUP, OTHER_GROUP

CAROL = 103
OPERATOR = 999


async def award(harness, chat, user, points, note="tip"):
    """The operator awards points by username-less reply (manual awards count as earned)."""
    post = await harness.say(chat, user, "sharing something")
    await harness.say(chat, OPERATOR, f"/award {points} {note}", reply_to=post["message"]["message_id"])


async def top(harness, chat, user, args=""):
    await harness.settle()  # names reach storage with the activity flush (every second in production)
    await harness.say(chat, user, f"/top {args}".strip())
    return harness.replies(chat)[-1]


async def test_top_lists_this_weeks_leaders_with_medals_and_the_callers_place(harness):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    harness.fake.add_user(CAROL, "Carol", language_code="en")
    await award(harness, GROUP, ALICE, 30)
    await award(harness, GROUP, BOB, 50)
    await award(harness, GROUP, CAROL, 10)
    await harness.settle()
    assert await top(harness, GROUP, BOB) == (
        "🏆 This week's top members\n🥇 Bob: 50\n🥈 Alice: 30\n🥉 Carol: 10"
    )
    harness.app.leaderboard.size = 1
    assert await top(harness, GROUP, CAROL) == "🏆 This week's top members\n🥇 Bob: 50\n…\nYou: rank 3, 10 points"


async def test_week_and_month_are_rolling_windows_and_all_counts_the_whole_season(harness, clock):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, GROUP, BOB, 40)  # 40 days ago, seen from the end
    clock.advance(timedelta(days=32))
    await award(harness, GROUP, ALICE, 20)  # 8 days ago
    clock.advance(timedelta(days=8))
    await award(harness, GROUP, ALICE, 5)  # today
    await harness.settle()
    assert await top(harness, GROUP, BOB, "week") == "🏆 This week's top members\n🥇 Alice: 5"
    assert await top(harness, GROUP, BOB, "month") == "🏆 This month's top members\n🥇 Alice: 25"
    assert await top(harness, GROUP, BOB, "all") == "🏆 Season leaders in this group\n🥇 Bob: 40\n🥈 Alice: 25"


async def test_the_boards_are_rebuilt_from_storage_after_a_restart(harness, clock):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, GROUP, BOB, 40)
    clock.advance(timedelta(days=10))
    await award(harness, GROUP, ALICE, 20)
    await harness.settle()
    await harness.app.leaderboard.load()  # what start-up does
    assert await top(harness, GROUP, BOB, "week") == "🏆 This week's top members\n🥇 Alice: 20"
    assert await top(harness, GROUP, BOB, "month") == "🏆 This month's top members\n🥇 Bob: 40\n🥈 Alice: 20"


async def test_ties_go_to_whoever_reached_the_total_first(harness, clock):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, GROUP, BOB, 20)
    clock.advance(timedelta(minutes=5))
    await award(harness, GROUP, ALICE, 20)
    await harness.app.leaderboard.load()  # the order survives a reload too
    assert await top(harness, GROUP, BOB) == "🏆 This week's top members\n🥇 Bob: 20\n🥈 Alice: 20"


async def test_members_who_leave_drop_off_and_come_back_with_their_points(harness):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, GROUP, BOB, 50)
    await award(harness, GROUP, ALICE, 10)
    await harness.feed(harness.fake.user_leaves(GROUP, BOB))
    assert await top(harness, GROUP, ALICE) == "🏆 本周积分榜\n🥇 Alice：10"
    await harness.app.leaderboard.load()  # departures are stored, so a restart agrees
    assert await top(harness, GROUP, ALICE) == "🏆 本周积分榜\n🥇 Alice：10"
    await harness.feed(harness.fake.user_joins(GROUP, BOB))
    assert await top(harness, GROUP, ALICE) == "🏆 本周积分榜\n🥇 Bob：50\n🥈 Alice：10"


async def test_all_groups_adds_up_a_members_points_across_the_community(harness):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, GROUP, ALICE, 30)
    await award(harness, OTHER_GROUP, ALICE, 30)
    await award(harness, OTHER_GROUP, BOB, 50)
    assert await top(harness, OTHER_GROUP, BOB, "all groups") == (
        "🏆 Season leaders, all groups\n🥇 Alice: 60\n🥈 Bob: 50"
    )
    assert await top(harness, OTHER_GROUP, BOB) == "🏆 This week's top members\n🥇 Bob: 50\n🥈 Alice: 30"
    assert await top(harness, GROUP, ALICE, "月 全群") == "🏆 本月积分榜（全部群）\n🥇 Alice：60\n🥈 Bob：50"


async def test_spending_points_does_not_lower_a_members_place(harness):
    await harness.say(GROUP, BOB, "/checkin")
    balance_before = (await harness.app.members.standing(_member(GROUP, BOB))).balance
    harness.app.shop.items["sticker"] = _sticker(cost=10)
    await harness.say(GROUP, BOB, "/redeem sticker")
    assert (await harness.app.members.standing(_member(GROUP, BOB))).balance == balance_before - 10
    assert await top(harness, GROUP, BOB) == "🏆 This week's top members\n🥇 Bob: 10"


async def test_a_new_season_archives_the_standings_and_starts_all_from_zero(harness, clock):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, GROUP, BOB, 40)
    await award(harness, GROUP, ALICE, 20)
    clock.advance(timedelta(days=1))
    async with harness.app.storage.unit_of_work() as uow:  # what `cradle season start` runs
        assert await uow.standings.start_season("2027-spring", clock.now(), harness.app.chats.community_day(clock.now())) == 2
        await uow.commit()
    assert await harness.app.leaderboard.refresh_season() is True
    assert await top(harness, GROUP, BOB, "all") == "🏆 Season leaders in this group · 2027-spring\nNo points yet in this period. /checkin to be the first!"
    assert await top(harness, GROUP, BOB, "week") == "🏆 This week's top members\n🥇 Bob: 40\n🥈 Alice: 20"
    await award(harness, GROUP, ALICE, 5)
    assert await top(harness, GROUP, BOB, "all") == "🏆 Season leaders in this group · 2027-spring\n🥇 Alice: 5"
    async with harness.app.storage.engine.connect() as connection:
        archived = (await connection.execute(select(SeasonStanding.points, SeasonStanding.rank).order_by(SeasonStanding.rank))).all()
    assert [tuple(row) for row in archived] == [(40, 1), (20, 2)]


async def test_an_unreadable_top_argument_gets_the_usage(harness):
    assert await top(harness, GROUP, BOB, "yesterday") == (
        'Usage: /top, /top month, /top all, and add "groups" for every group, e.g. /top all groups.'
    )


def _member(chat, user):
    from bot.domain import ChatRef, MemberRef, UserRef

    return MemberRef(ChatRef("telegram", str(chat)), UserRef("telegram", str(user)))


def _sticker(cost):
    from bot.points.shop import Item

    return Item("sticker", {"zh-CN": "贴纸", "en": "Sticker"}, cost)


async def test_a_season_started_today_archives_todays_points_and_counts_from_its_start(harness, clock):
    # `cradle season start` after three members earned points today: all three are archived, and
    # /top all starts from zero at once (it used to archive 0 and keep today's totals).
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    harness.fake.add_user(CAROL, "Carol", language_code="en")
    await award(harness, GROUP, BOB, 40)
    clock.advance(timedelta(days=1))
    await award(harness, GROUP, ALICE, 5)  # today, before the operator starts the season
    await harness.say(GROUP, CAROL, "/checkin")
    clock.advance(timedelta(minutes=5))
    await award(harness, GROUP, BOB, 5)
    clock.advance(timedelta(minutes=5))
    async with harness.app.storage.unit_of_work() as uow:
        assert await uow.standings.start_season("summer", clock.now(), harness.app.chats.community_day(clock.now())) == 3
        await uow.commit()
    async with harness.app.storage.engine.connect() as connection:
        archived = (await connection.execute(select(SeasonStanding.points, SeasonStanding.rank).order_by(SeasonStanding.rank))).all()
    assert [tuple(row) for row in archived] == [(45, 1), (10, 2), (5, 3)]
    assert await harness.app.leaderboard.refresh_season() is True
    empty = "🏆 Season leaders in this group · summer\nNo points yet in this period. /checkin to be the first!"
    assert await top(harness, GROUP, BOB, "all") == empty
    assert (await top(harness, GROUP, BOB, "week")).startswith("🏆 This week's top members\n🥇 Bob: 45")
    clock.advance(timedelta(minutes=5))
    await award(harness, GROUP, ALICE, 3)  # later the same day: the new season's
    expected = "🏆 Season leaders in this group · summer\n🥇 Alice: 3"
    assert await top(harness, GROUP, BOB, "all") == expected
    await harness.app.leaderboard.load()  # a restart agrees with the in-memory switch
    assert await top(harness, GROUP, BOB, "all") == expected


async def test_the_next_season_archives_only_what_was_earned_since_its_start(harness, clock):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, GROUP, BOB, 40)  # the first season (before "summer")
    clock.advance(timedelta(minutes=1))
    async with harness.app.storage.unit_of_work() as uow:
        await uow.standings.start_season("summer", clock.now(), harness.app.chats.community_day(clock.now()))
        await uow.commit()
    clock.advance(timedelta(minutes=1))
    await award(harness, GROUP, ALICE, 7)  # same day, in "summer"
    clock.advance(timedelta(minutes=1))
    async with harness.app.storage.unit_of_work() as uow:
        assert await uow.standings.start_season("autumn", clock.now(), harness.app.chats.community_day(clock.now())) == 1
        await uow.commit()
    async with harness.app.storage.engine.connect() as connection:
        rows = await connection.execute(select(SeasonStanding.season_id, SeasonStanding.points).order_by(SeasonStanding.season_id))
        assert [points for _, points in rows] == [40, 7]


async def test_a_banned_member_is_off_the_boards(harness):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    await award(harness, GROUP, BOB, 50)
    await award(harness, GROUP, ALICE, 10)
    harness.fake.set_admin(GROUP, harness.fake.bot_id)  # the bot may ban
    before = len(harness.fake.pending_updates)
    await harness.bot.ban_chat_member(GROUP, BOB)
    [banned] = harness.fake.pending_updates[before:]  # Telegram tells the bot with a chat_member update
    await harness.feed(banned)
    assert await top(harness, GROUP, ALICE, "all groups") == "🏆 本赛季积分榜（全部群）\n🥇 Alice：10"
