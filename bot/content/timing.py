"""When scheduled posts fall: recurring rules in a group's wall-clock time, quiet hours. Pure functions.

Rules are iterated in naive local time and only then given the zone, so a daily 08:30 stays at
08:30 across DST changes, a wall time that happens twice (autumn) fires once, and one that does
not exist (spring) fires at the same offset as the day before, i.e. an hour later on the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 0}
# Iterating from a little before the window keeps times near a DST shift from being missed.
_MARGIN = timedelta(hours=3)


class BadRule(ValueError):
    """A when-expression that cannot be read; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A five-field cron expression or a one-off local date and time, both in the group's zone."""

    cron: str | None = None
    at: datetime | None = None  # naive: local wall-clock time

    def times(self, zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
        """Fire times (aware, UTC) in the window (after, until]."""
        return [moment for moment in self._local_times(zone, after, until) if after < moment <= until]

    def next_times(self, zone: ZoneInfo, after: datetime, count: int) -> list[datetime]:
        """The next ``count`` fire times after ``after`` (for previews)."""
        found: list[datetime] = []
        horizon = after + timedelta(days=400)
        for moment in self._local_times(zone, after, horizon):
            if moment > after:
                found.append(moment)
                if len(found) == count:
                    break
        return found

    def _local_times(self, zone: ZoneInfo, after: datetime, until: datetime) -> Iterator[datetime]:
        if self.at is not None:
            yield to_utc(self.at, zone)
            return
        assert self.cron is not None
        start = (after.astimezone(zone) - _MARGIN).replace(tzinfo=None)
        stop = (until.astimezone(zone) + _MARGIN).replace(tzinfo=None)
        iterator = croniter(self.cron, start)
        while (local := iterator.get_next(datetime)) <= stop:
            yield to_utc(local, zone)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)


def cron_rule(expression: str) -> Rule:
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(expression):
        raise BadRule(f"invalid cron expression {expression!r} (five fields: minute hour day month weekday)")
    return Rule(cron=" ".join(fields))


def _clock(text: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise BadRule(f"invalid time {text!r} (use HH:MM, e.g. 08:30)") from None


def daily_rule(text: str) -> Rule:
    at = _clock(text)
    return Rule(cron=f"{at.minute} {at.hour} * * *")


def weekly_rule(text: str) -> Rule:
    """'wed 20:00', or several days: 'mon,thu 09:00'."""
    try:
        days, clock = text.split()
    except ValueError:
        raise BadRule(f"invalid weekly time {text!r} (use e.g. \"wed 20:00\")") from None
    numbers = []
    for day in days.lower().split(","):
        if day[:3] not in WEEKDAYS:
            raise BadRule(f"unknown weekday {day!r} in {text!r} (mon tue wed thu fri sat sun)")
        numbers.append(str(WEEKDAYS[day[:3]]))
    at = _clock(clock)
    return Rule(cron=f"{at.minute} {at.hour} * * {','.join(numbers)}")


def monthly_rule(text: str) -> Rule:
    """'1 10:00': the day of the month and the time."""
    try:
        day, clock = text.split()
        number = int(day)
    except ValueError:
        raise BadRule(f"invalid monthly time {text!r} (use e.g. \"1 10:00\" for the 1st at 10:00)") from None
    if not 1 <= number <= 28:
        raise BadRule(f"day {number} in {text!r} must be 1-28 so that every month has it")
    at = _clock(clock)
    return Rule(cron=f"{at.minute} {at.hour} {number} * *")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window (may cross midnight) when nothing is posted."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """'22:00-07:00'; '' means none."""
        if not text.strip():
            return None
        try:
            start, end = text.split("-")
        except ValueError:
            raise BadRule(f"invalid quiet hours {text!r} (use e.g. \"22:00-07:00\", or \"\" for none)") from None
        hours = cls(_clock(start), _clock(end))
        if hours.start == hours.end:
            raise BadRule(f"quiet hours {text!r} start and end at the same time")
        return hours

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def end_after(self, local: datetime) -> datetime:
        """When the window containing ``local`` (naive local time) ends."""
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, self.end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def release_time(moment: datetime, zone: ZoneInfo, quiet: QuietHours | None, *, defer: bool) -> datetime | None:
    """When a post due at ``moment`` (UTC) may go out: then, or if that falls in the quiet hours, at
    their end (``defer``) or never (None)."""
    if quiet is None:
        return moment
    local = moment.astimezone(zone).replace(tzinfo=None)
    if not quiet.contains(local.time()):
        return moment
    return to_utc(quiet.end_after(local), zone) if defer else None
