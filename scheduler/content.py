"""Scheduled content jobs: the posting tick on every minute, and watching the schedule file."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.schedule_watch import ScheduleWatcher
from bot.services.scheduled_posts import ScheduledPosts


def add_content_jobs(
    scheduler: AsyncIOScheduler, posts: ScheduledPosts, watcher: ScheduleWatcher, reload_check_seconds: int
) -> None:
    # On the minute: entries name minutes, and every timezone's minutes start together.
    scheduler.add_job(posts.tick, "cron", second=0, id="content.tick")
    # And once at start-up, so posts missed while the bot was down go out now if still within grace.
    scheduler.add_job(posts.tick, "date", id="content.catch_up")
    scheduler.add_job(watcher.check, "interval", seconds=reload_check_seconds, id="content.reload")
