"""Baby milestones worth a greeting: the 100th day (百天) and birthdays. Pure functions."""

from __future__ import annotations

from datetime import date, timedelta

HUNDRED_DAYS = timedelta(days=99)  # the day of birth is day 1, so the 100th day is 99 days later


def milestone(birth: date, today: date) -> tuple[str, int] | None:
    """("hundred_days", 100) or ("birthday", years) if today is one, else None."""
    if today - birth == HUNDRED_DAYS:
        return "hundred_days", 100
    years = today.year - birth.year
    if years < 1:
        return None
    if (birth.month, birth.day) == (today.month, today.day):
        return "birthday", years
    # A baby born on 29 February celebrates on the 28th in other years.
    leap_day = (birth.month, birth.day) == (2, 29)
    if leap_day and (today.month, today.day) == (2, 28) and not _is_leap(today.year):
        return "birthday", years
    return None


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
