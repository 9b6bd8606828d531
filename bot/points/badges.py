"""Badges (荣誉): earned by rules (streaks, shares, thanks received, quiz answers, monthly leaders)
or granted by moderators. A badge is held once; monthly honours once per month."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.announcements import Announcer, display_name
from bot.core.errors import DomainError
from bot.core.ports import BadgeGrant, Clock, UnitOfWorkFactory
from bot.domain import MemberRef, UserRef
from bot.i18n import pick

# Rules counted from ledger entries: the rule's name -> the ledger reason it counts.
COUNTED = {"shares": "share", "thanks_received": "thanks", "quiz_correct": "quiz"}
MONTHLY = ("monthly_top_contributor", "monthly_most_active")


class UnknownBadge(DomainError):
    code = "badges.unknown"


@dataclass(frozen=True, slots=True)
class BadgeRule:
    id: str
    rule: str  # streak, shares, thanks_received, quiz_correct, monthly_top_contributor, monthly_most_active, manual
    count: int
    names: Mapping[str, str]

    def name(self, language: str) -> str:
        return pick(self.names, language, self.id)


@dataclass(frozen=True, slots=True)
class HeldBadge:
    rule: BadgeRule
    period: str


class BadgeService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        rules: Sequence[BadgeRule],
        announcer: Announcer,
        *,
        announce: bool = True,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self.rules = {rule.id: rule for rule in rules}
        self._announcer = announcer
        self._announce = announce

    def manual(self) -> list[BadgeRule]:
        return [rule for rule in self.rules.values() if rule.rule == "manual"]

    async def held(self, member: MemberRef) -> list[HeldBadge]:
        async with self._uow_factory(read_only=True) as uow:
            held = (await uow.badges.held([member])).get(member, [])
        # Badges removed from the config stay stored but are not shown.
        return [HeldBadge(self.rules[badge], period) for badge, period in held if badge in self.rules]

    async def check(self, members: Sequence[MemberRef], reasons: Sequence[str] = ("checkin", *COUNTED.values())) -> int:
        """Grant the rule badges these members have reached after points moved for ``reasons``."""
        rules = [
            rule
            for rule in self.rules.values()
            if (rule.rule == "streak" and "checkin" in reasons) or COUNTED.get(rule.rule) in reasons
        ]
        if not members or not rules:
            return 0
        async with self._uow_factory(read_only=True) as uow:
            held = await uow.badges.held(members)
            counted = sorted({COUNTED[rule.rule] for rule in rules if rule.rule in COUNTED})
            counts = await uow.standings.reason_counts(members, counted) if counted else {}
            streaks = await uow.checkins.latest_many(members) if any(r.rule == "streak" for r in rules) else {}
        grants = []
        for member in members:
            has = {badge for badge, _ in held.get(member, [])}
            for rule in rules:
                if rule.id in has:
                    continue
                if rule.rule == "streak":
                    reached = member in streaks and streaks[member].streak >= rule.count
                else:
                    reached = counts.get(member, {}).get(COUNTED[rule.rule], 0) >= rule.count
                if reached:
                    grants.append(BadgeGrant(member, rule.id))
        if not grants:
            return 0  # the common case: no write transaction at all
        async with self._uow_factory() as uow:
            granted = await uow.badges.grant_many(grants, self._clock.now())
            infos = await uow.members.users([grant.member.user for grant in granted])
            await uow.commit()
        await self._tell(granted, infos)
        return len(granted)

    async def grant(self, actor: UserRef, member: MemberRef, badge_id: str) -> bool:
        """A moderator grants a manual badge; False if she holds it already."""
        rule = self.rules.get(badge_id)
        if rule is None or rule.rule != "manual":
            raise UnknownBadge(badge=badge_id, badges=", ".join(r.id for r in self.manual()) or "-")
        async with self._uow_factory() as uow:
            granted = await uow.badges.grant_many([BadgeGrant(member, badge_id, granted_by=actor)], self._clock.now())
            await uow.commit()
        return bool(granted)

    async def revoke(self, member: MemberRef, badge_id: str) -> bool:
        if badge_id not in self.rules:
            raise UnknownBadge(badge=badge_id, badges=", ".join(self.rules))
        async with self._uow_factory() as uow:
            revoked = await uow.badges.revoke(member, badge_id)
            await uow.commit()
        return revoked

    async def award_month(self, today: date) -> int:
        """On a new month: the past month's top contributor and most active member of each group."""
        last_day = today.replace(day=1) - timedelta(days=1)
        first_day = last_day.replace(day=1)
        period = first_day.strftime("%Y-%m")
        by_rule = {rule.rule: rule for rule in self.rules.values() if rule.rule in MONTHLY}
        if not by_rule:
            return 0
        async with self._uow_factory() as uow:
            leaders = await uow.standings.month_leaders(first_day, last_day)
            grants = []
            for top, active in leaders.values():
                for rule_name, member in zip(MONTHLY, (top, active)):
                    if member is not None and rule_name in by_rule:
                        grants.append(BadgeGrant(member, by_rule[rule_name].id, period))
            granted = await uow.badges.grant_many(grants, self._clock.now())
            infos = await uow.members.users([grant.member.user for grant in granted])
            await uow.commit()
        await self._tell(granted, infos)
        return len(granted)

    async def _tell(self, granted: Sequence[BadgeGrant], infos: Mapping[UserRef, object]) -> None:
        if not self._announce:
            return
        for grant in granted:
            await self._announcer.to_chat(
                grant.member.chat,
                "badges.earned",
                name=display_name(infos.get(grant.member.user)),  # type: ignore[arg-type]
                badge=self.rules[grant.badge].name,
            )
