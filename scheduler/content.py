"""Scheduled content jobs: the posting tick on every minute, and watching the schedule file."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.content.scheduled_posts import ScheduledPosts
from bot.schedule_watch import ScheduleWatcher

# A fan-out to thousands of groups takes minutes at Telegram's 30 messages a second. Ticks may overlap
# (each plans around the posts the others took; the database claim keeps every post to one sender),
# so the next minute's posts are not held up; with more than this many still running, a tick is
# skipped, and the next one posts what it missed (it looks back over the grace period).
TICK_INSTANCES = 5


def add_content_jobs(
    scheduler: AsyncIOScheduler, posts: ScheduledPosts, watcher: ScheduleWatcher, reload_check_seconds: int
) -> None:
    # On the minute: entries name minutes, and every timezone's minutes start together.
    # A tick that starts late (a busy loop) still runs (misfire grace), and runs once (coalesce).
    scheduler.add_job(
        posts.tick, "cron", second=0, id="content.tick", max_instances=TICK_INSTANCES, coalesce=True, misfire_grace_time=60
    )
    scheduler.add_job(watcher.check, "interval", seconds=reload_check_seconds, id="content.reload")


def catch_up(scheduler: AsyncIOScheduler, posts: ScheduledPosts) -> None:
    """A tick now: once a platform can post, posts missed while the bot was down (or not yet connected)
    go out if still within grace. Not at start-up: before the platform connects nothing may be claimed."""
    scheduler.add_job(posts.tick, "date", id="content.catch_up", replace_existing=True, max_instances=TICK_INSTANCES)
