"""Moderation jobs: captchas whose time ran out (every few seconds) and the daily inactive-member pass."""

from __future__ import annotations

from datetime import time

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.moderation.cleanup import CleanupService
from bot.moderation.welcome import WelcomeService

CAPTCHA_CHECK_SECONDS = 5


def add_moderation_jobs(
    scheduler: AsyncIOScheduler, welcome: WelcomeService, cleanup: CleanupService | None, cleanup_at: time
) -> None:
    scheduler.add_job(welcome.expire, "interval", seconds=CAPTCHA_CHECK_SECONDS, id="moderation.captcha")
    if cleanup is not None:
        scheduler.add_job(cleanup.run, "cron", hour=cleanup_at.hour, minute=cleanup_at.minute, id="moderation.cleanup")
