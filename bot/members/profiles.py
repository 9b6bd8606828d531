"""Member profiles (private chat): baby's due or birth date, or trying to conceive, and language.

Optional and deletable; children's data is kept to one date. The stage lets schedules and the FAQ
speak to where a family is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta

from bot.core.errors import DomainError
from bot.core.ports import Clock, UnitOfWorkFactory
from bot.domain import Profile, UserRef

STAGES = (
    "ttc",
    "pregnant_early",
    "pregnant_middle",
    "pregnant_late",
    "baby_0_3m",
    "baby_3_6m",
    "baby_6_12m",
    "toddler_1_3y",
    "child_3y_plus",
)


class InvalidDueDate(DomainError):
    code = "profile.bad_due_date"


class InvalidBirthDate(DomainError):
    code = "profile.bad_birth_date"


class InvalidPause(DomainError):
    code = "profile.bad_pause"


class PauseTooSoon(DomainError):
    code = "profile.pause_too_soon"


MAX_PAUSE_DAYS = 14


def months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def stage(profile: Profile, today: date) -> str | None:
    """The family's stage today: 备孕, a pregnancy trimester from the due date, or the baby's age band."""
    born = profile.birth_date or (profile.due_date if profile.due_date and profile.due_date <= today else None)
    if born is not None:
        months = months_between(born, today)
        if months < 3:
            return "baby_0_3m"
        if months < 6:
            return "baby_3_6m"
        if months < 12:
            return "baby_6_12m"
        return "toddler_1_3y" if months < 36 else "child_3y_plus"
    if profile.due_date is not None:
        weeks_pregnant = 40 - (profile.due_date - today).days / 7
        if weeks_pregnant < 14:
            return "pregnant_early"
        return "pregnant_middle" if weeks_pregnant < 28 else "pregnant_late"
    return "ttc" if profile.trying_to_conceive else None


class ProfileService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        today: Callable[[], date],
        on_language: Sequence[Callable[[UserRef, str | None], None]] = (),
        pause_every_days: int = 60,
    ) -> None:
        self._pause_every_days = pause_every_days
        self._uow_factory = uow_factory
        self._clock = clock
        self.today = today
        self._on_language = on_language

    async def get(self, user: UserRef) -> Profile | None:
        async with self._uow_factory(read_only=True) as uow:
            return await uow.profiles.get(user)

    async def set_due_date(self, user: UserRef, due: date) -> Profile:
        today = self.today()
        if not today - timedelta(weeks=2) <= due <= today + timedelta(weeks=42):
            raise InvalidDueDate()
        return await self._change(user, lambda p: replace(p, trying_to_conceive=False, due_date=due, birth_date=None))

    async def set_birth_date(self, user: UserRef, born: date) -> Profile:
        today = self.today()
        if not today - timedelta(days=365 * 18) <= born <= today:
            raise InvalidBirthDate()
        return await self._change(user, lambda p: replace(p, trying_to_conceive=False, due_date=None, birth_date=born))

    async def set_trying(self, user: UserRef) -> Profile:
        return await self._change(user, lambda p: replace(p, trying_to_conceive=True, due_date=None, birth_date=None))

    async def set_milestones(self, user: UserRef, on: bool) -> Profile:
        """Opt in to (or out of) a group greeting on her baby's 100th day and birthdays, and private stage tips."""
        return await self._change(user, lambda p: replace(p, milestones=on))

    async def set_language(self, user: UserRef, language: str) -> Profile:
        profile = await self._change(user, lambda p: replace(p, language=language))
        for notify in self._on_language:
            notify(user, language)
        return profile

    async def pause_streak(self, user: UserRef, days: int) -> Profile:
        """Missed days from today for ``days`` days (at most 14: a birth, a hospital stay) keep her streaks."""
        if not 1 <= days <= MAX_PAUSE_DAYS:
            raise InvalidPause(limit=MAX_PAUSE_DAYS)
        today = self.today()

        def pause(profile: Profile) -> Profile:
            current = profile.streak_paused
            if current is not None and current[1] >= today:
                # Lengthening the pause she is in: still at most 14 days from its first day.
                if (today - current[0]).days + days > MAX_PAUSE_DAYS:
                    raise InvalidPause(limit=MAX_PAUSE_DAYS)
                return replace(profile, streak_paused=(current[0], today + timedelta(days=days - 1)))
            if current is not None and (today - current[0]).days < self._pause_every_days:
                # One pause per period, so pausing cannot stand in for checking in.
                next_day = current[0] + timedelta(days=self._pause_every_days)
                raise PauseTooSoon(date=next_day.isoformat(), days=self._pause_every_days)
            return replace(profile, streak_paused=(today, today + timedelta(days=days - 1)))

        return await self._change(user, pause)

    async def resume_streak(self, user: UserRef) -> Profile:
        """End the pause yesterday; its first day stays on record for the once-per-period rule."""
        today = self.today()

        def resume(profile: Profile) -> Profile:
            current = profile.streak_paused
            if current is None or current[1] < today:
                return profile
            return replace(profile, streak_paused=(current[0], today - timedelta(days=1)))

        return await self._change(user, resume)

    async def delete(self, user: UserRef) -> bool:
        async with self._uow_factory() as uow:
            deleted = await uow.profiles.delete(user)
            await uow.commit()
        for notify in self._on_language:
            notify(user, None)
        return deleted

    async def languages(self) -> dict[UserRef, str]:
        """Every chosen language, for the in-memory lookup the per-update pipeline uses."""
        async with self._uow_factory(read_only=True) as uow:
            return await uow.profiles.languages()

    async def _change(self, user: UserRef, change: Callable[[Profile], Profile]) -> Profile:
        async with self._uow_factory() as uow:
            profile = change(await uow.profiles.get(user) or Profile())
            await uow.profiles.save(user, profile, self._clock.now())
            await uow.commit()
        return profile
