"""Operator commands against the bot's database: seasons, tier lists for perks, orders."""

import asyncio
from datetime import UTC, datetime, timedelta

from bot.cli import main
from tests.dispatcher.conftest import ALICE, BOB, GROUP, OTHER_GROUP

OPERATOR = 999


async def cli(tmp_path, database_url, *args):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    return await asyncio.to_thread(main, [*args, "--config", str(config)])


async def test_operators_list_members_at_a_tier_season_start_and_handle_orders(harness, database_url, tmp_path, capsys):
    harness.fake.add_user(OPERATOR, "Olga", language_code="en")
    post = await harness.say(GROUP, BOB, "a long and useful tip")
    await harness.say(GROUP, OPERATOR, "/award 450 great tips", reply_to=post["message"]["message_id"])
    await harness.say(GROUP, ALICE, "/checkin")
    await harness.say(GROUP, BOB, "/redeem diapers")
    await harness.settle()
    capsys.readouterr()

    assert await cli(tmp_path, database_url, "tiers", "members", "senior") == 0
    out = capsys.readouterr()
    assert out.out == f"{GROUP}\t{BOB}\tBob\t\tsenior\n" and "1 members at senior or above" in out.err

    assert await cli(tmp_path, database_url, "orders", "list") == 0
    assert "#1\tpending\tdiapers\t200\tBob" in capsys.readouterr().out
    assert await cli(tmp_path, database_url, "orders", "cancel", "1") == 0
    assert capsys.readouterr().out == "#1 is now cancelled; 200 points refunded\n"
    assert await cli(tmp_path, database_url, "orders", "cancel", "1") == 1  # already closed
    assert "orders.closed" in capsys.readouterr().err
    await harness.say(GROUP, BOB, "/points")
    assert harness.replies(GROUP)[-1] == "Bob, you have 450 points in this group, rank 1 of 3."

    assert await cli(tmp_path, database_url, "season", "start", "2027-spring") == 0
    assert "2 standings archived" in capsys.readouterr().out
    assert await harness.app.leaderboard.refresh_season() is True
    await harness.say(GROUP, BOB, "/top all")
    assert harness.replies(GROUP)[-1].startswith("🏆 Season leaders in this group · 2027-spring\nNo points yet")


async def test_members_inactive_lists_members_quiet_for_that_many_days(harness, clock, database_url, tmp_path, capsys):
    now = datetime.now(UTC)  # the command runs on the real clock
    clock.set(now - timedelta(days=90))
    await harness.say(GROUP, ALICE, "早上好")
    clock.set(now - timedelta(days=10))
    await harness.say(GROUP, BOB, "morning")
    await harness.settle()
    capsys.readouterr()

    assert await cli(tmp_path, database_url, "members", "inactive", "--days", "60") == 0
    out = capsys.readouterr()
    [line] = out.out.splitlines()
    assert line.startswith(f"{GROUP}\t{ALICE}\tAlice\t{(now - timedelta(days=90)):%Y-%m-%d}\t-\t-")
    assert out.err.startswith("1 inactive member(s)")
    assert await cli(tmp_path, database_url, "members", "inactive", "--days", "5", "--group", str(GROUP)) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert await cli(tmp_path, database_url, "members", "inactive", "--days", "5", "--group", str(OTHER_GROUP)) == 0
    assert capsys.readouterr().out == ""
    assert await cli(tmp_path, database_url, "members", "inactive", "--group", "family") == 2
    assert "--group must be a chat id" in capsys.readouterr().err
