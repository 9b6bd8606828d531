"""Engagement jobs: the daily tier evaluation, monthly honours, and noticing a new season."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services.badges import BadgeService
from bot.services.leaderboard import Leaderboard
from bot.services.ports import Clock
from bot.services.tiers import TierService

SEASON_CHECK_SECONDS = 60


def add_engagement_jobs(
    scheduler: AsyncIOScheduler,
    tiers: TierService,
    badges: BadgeService,
    leaderboard: Leaderboard,
    clock: Clock,
    zone: ZoneInfo,
    day_starts_at: time,
) -> None:
    # Just after the community's day turns, so "yesterday" is complete.
    minute = (day_starts_at.minute + 5) % 60
    hour = (day_starts_at.hour + (day_starts_at.minute + 5) // 60) % 24
    scheduler.add_job(tiers.evaluate_daily, "cron", hour=hour, minute=minute, id="tiers.daily")

    async def monthly_honours() -> None:
        await badges.award_month(clock.now().astimezone(zone).date())

    scheduler.add_job(monthly_honours, "cron", day=1, hour=hour, minute=(minute + 5) % 60, id="badges.monthly")
    scheduler.add_job(leaderboard.refresh_season, "interval", seconds=SEASON_CHECK_SECONDS, id="leaderboard.season")
