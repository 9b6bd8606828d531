"""APScheduler wiring: one scheduler, started and stopped with the bot. Jobs arrive with scheduled content."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler


def make_scheduler(timezone: str) -> AsyncIOScheduler:
    # Coalesce missed runs and allow a grace period: a bot restarted a few minutes late still runs a job once.
    return AsyncIOScheduler(
        timezone=timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 15 * 60},
    )
