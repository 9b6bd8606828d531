"""Inactive members (定期清理不活跃用户): list them, and optionally warn, wait, then remove.

A member is inactive when she has not written, checked in or joined for ``inactive_days`` and has no
check-in for ``checkin_days``. The daily pass warns the inactive ones (privately where she has started
the bot, else in one group digest), and removes those warned at least ``notice_days`` ago who stayed
silent since. Administrators are never removed. With ``dry_run`` it only reports what it would do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.core.announcements import Announcer, display_name
from bot.core.ports import Clock, InactiveMember, UnitOfWorkFactory
from bot.domain import ChatRef
from bot.moderation.moderation import ModerationControls, ModerationService, Person

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CleanupPolicy:
    inactive_days: int = 60
    notice_days: int = 7
    checkin_days: int = 60
    dry_run: bool = True


@dataclass(slots=True)
class CleanupReport:
    dry_run: bool
    warned: list[InactiveMember] = field(default_factory=list)
    removed: list[InactiveMember] = field(default_factory=list)
    kept_admins: list[InactiveMember] = field(default_factory=list)
    failed: list[InactiveMember] = field(default_factory=list)


class CleanupService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        controls: ModerationControls,
        moderation: ModerationService,
        announcer: Announcer,
        policy: CleanupPolicy,
        today: Callable[[], date],
        admin_chat: ChatRef | None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._controls = controls
        self._moderation = moderation
        self._announcer = announcer
        self.policy = policy
        self._today = today
        self._admin_chat = admin_chat

    async def inactive(self, chat: ChatRef | None, days: int, checkin_days: int | None = None) -> list[InactiveMember]:
        now = self._clock.now()
        checkin_since = self._today() - timedelta(days=checkin_days if checkin_days is not None else days)
        async with self._uow(read_only=True) as uow:
            return await uow.moderation.inactive(chat, now - timedelta(days=days), checkin_since)

    async def run(self, *, dry_run: bool | None = None) -> CleanupReport:
        """One pass over every group; the report also goes to the admin chat."""
        dry = self.policy.dry_run if dry_run is None else dry_run
        now = self._clock.now()
        report = CleanupReport(dry)
        candidates = await self.inactive(None, self.policy.inactive_days, self.policy.checkin_days)
        due, to_warn = [], []
        notice_ended = now - timedelta(days=self.policy.notice_days)
        for candidate in candidates:
            noticed = _notice_since_silent(candidate)
            if await self._controls.get(candidate.member.chat.platform).is_admin(candidate.member.chat, candidate.member.user):
                report.kept_admins.append(candidate)
            elif noticed is None:
                to_warn.append(candidate)
            elif noticed <= notice_ended:
                due.append(candidate)
        if dry:
            report.warned, report.removed = to_warn, due
        else:
            report.warned = await self._warn(to_warn, now)
            for candidate in due:
                if await self._remove(candidate, now):
                    report.removed.append(candidate)
                else:
                    report.failed.append(candidate)
        await self._report(report)
        return report

    async def _warn(self, members: list[InactiveMember], now: datetime) -> list[InactiveMember]:
        digest: dict[ChatRef, list[InactiveMember]] = {}
        for candidate in members:
            told = await self._announcer.to_member(
                candidate.member, candidate.info, "cleanup.notice_private", days=self.policy.inactive_days, notice=self.policy.notice_days
            )
            if not told:
                digest.setdefault(candidate.member.chat, []).append(candidate)
        for chat, group in digest.items():
            names = "、".join(_name(candidate) for candidate in group)
            await self._announcer.to_chat(chat, "cleanup.notice_group", names=names, notice=self.policy.notice_days)
        async with self._uow() as uow:
            await uow.moderation.notice([candidate.member for candidate in members], now)
            await uow.commit()
        return members

    async def _remove(self, candidate: InactiveMember, now: datetime) -> bool:
        member = candidate.member
        reason = f"inactive {self.policy.inactive_days} days"
        removed = await self._moderation.act("kick", member.chat, Person(member.user, _name(candidate)), None, reason, filter="cleanup")
        if not removed.ok:
            return False
        async with self._uow() as uow:
            await uow.moderation.mark_removed(member, now)
            await uow.commit()
        return True

    async def _report(self, report: CleanupReport) -> None:
        if self._admin_chat is None or not (report.warned or report.removed or report.failed):
            return
        await self._announcer.to_chat(
            self._admin_chat,
            "cleanup.report_dry" if report.dry_run else "cleanup.report",
            warned=_names(report.warned),
            removed=_names(report.removed),
            failed=_names(report.failed),
            admins=len(report.kept_admins),
        )


def _notice_since_silent(candidate: InactiveMember) -> datetime | None:
    """Her notice counts only if it came after she last spoke: a member who came back and went quiet again is warned anew."""
    if candidate.noticed_at is None or (candidate.last_seen is not None and candidate.noticed_at < candidate.last_seen):
        return None
    return candidate.noticed_at


def _name(candidate: InactiveMember) -> str:
    return display_name(candidate.info) or candidate.member.user.external_id


def _names(members: list[InactiveMember]) -> str:
    if not members:
        return "-"
    shown = [f"{_name(m)} ({m.member.chat.external_id})" for m in members[:30]]
    more = f" +{len(members) - 30}" if len(members) > 30 else ""
    return ", ".join(shown) + more

