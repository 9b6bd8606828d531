"""Hot reload of the schedule: a changed file (or SIGHUP) swaps in the new schedule if it is valid;
otherwise the errors are logged and sent to the admin chat, and the old schedule keeps running."""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.content.schedule import Schedule
from bot.schedule_file import ScheduleError, load_schedule

logger = logging.getLogger(__name__)


class ScheduleWatcher:
    def __init__(
        self,
        path: str | Path,
        apply: Callable[[Schedule], None],
        report: Callable[[list[str]], Awaitable[None]],
    ) -> None:
        self.path = Path(path)
        self._apply = apply
        self._report = report
        self._sources: tuple[str, ...] = (str(self.path),)
        self._stamp = self._stamps()

    def load(self) -> Schedule:
        """At start-up: no file means no schedule; a bad one raises ScheduleError (the bot does not start)."""
        self._stamp = self._stamps()
        if not self.path.exists():
            logger.info("no schedule file at %s: nothing is scheduled (see schedule.example.toml)", self.path)
            return Schedule()
        schedule = load_schedule(self.path)
        self._sources = schedule.sources
        self._stamp = self._stamps()
        logger.info("schedule loaded from %s: %d entries", self.path, len(schedule.entries))
        return schedule

    async def check(self) -> bool:
        """Reload if any file of the schedule changed since the last load; True if a new one is in use."""
        if self._stamps() == self._stamp:
            return False
        return await self.reload()

    async def reload(self) -> bool:
        self._stamp = self._stamps()
        try:
            schedule = load_schedule(self.path)
        except ScheduleError as error:
            logger.error("schedule %s not reloaded; the previous one keeps running:\n%s", self.path, error)
            await self._report(error.problems)
            return False
        self._sources = schedule.sources
        self._stamp = self._stamps()
        self._apply(schedule)
        logger.info("schedule reloaded from %s: %d entries", self.path, len(schedule.entries))
        return True

    def _stamps(self) -> tuple[tuple[str, int, int] | None, ...]:
        stamps = []
        for source in self._sources:
            try:
                stat = os.stat(source)
            except FileNotFoundError:
                stamps.append(None)
                continue
            stamps.append((source, stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)
