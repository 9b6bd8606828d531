"""FAQ jobs: questions without a confident answer are written once a minute, not one by one."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.faq.service import FaqService

GAPS_FLUSH_SECONDS = 60


def add_faq_jobs(scheduler: AsyncIOScheduler, faq: FaqService) -> None:
    scheduler.add_job(faq.flush_gaps, "interval", seconds=GAPS_FLUSH_SECONDS, id="faq.gaps")
