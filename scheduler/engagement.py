"""Engagement jobs: the daily tier evaluation, monthly honours, and noticing a new season."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.core.ports import Clock
from bot.points.badges import BadgeService
from bot.points.leaderboard import Leaderboard
from bot.points.tiers import TierService

SEASON_CHECK_SECONDS = 10  # a one-row read; an operator sees her new season almost at once


def _after(start: time, minutes: int) -> time:
    return (datetime.combine(date.min, start) + timedelta(minutes=minutes)).time()


def add_engagement_jobs(
    scheduler: AsyncIOScheduler,
    tiers: TierService,
    badges: BadgeService,
    leaderboard: Leaderboard,
    clock: Clock,
    zone: ZoneInfo,
    day_starts_at: time,
) -> None:
    # As the day turns, before anyone asks: expired days come off the rolling boards (about 0.2 s at 100k members).
    scheduler.add_job(
        leaderboard.turn_days, "cron", hour=day_starts_at.hour, minute=day_starts_at.minute, second=1, id="leaderboard.days"
    )
    # Just after the community's day turns, so "yesterday" is complete.
    tiers_at, honours_at = _after(day_starts_at, 5), _after(day_starts_at, 10)
    scheduler.add_job(tiers.evaluate_daily, "cron", hour=tiers_at.hour, minute=tiers_at.minute, id="tiers.daily")

    async def monthly_honours() -> None:
        await badges.award_month(clock.now().astimezone(zone).date())

    scheduler.add_job(
        monthly_honours, "cron", day=1, hour=honours_at.hour, minute=honours_at.minute, id="badges.monthly"
    )
    scheduler.add_job(leaderboard.refresh_season, "interval", seconds=SEASON_CHECK_SECONDS, id="leaderboard.season")
