"""Tiers (等级): a ladder over points earned in a trailing window.

Promotion is immediate and announced in the group. Demotion is decided once a day, never in
public: a member whose points will no longer hold her tier in ``warn_days`` is told privately,
and she moves down only once that notice is at least ``warn_days`` old and she is still short.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.core.announcements import Announcer, display_name
from bot.core.ports import Clock, TierState, UnitOfWorkFactory
from bot.domain import ChatRef, MemberRef, UserInfo
from bot.i18n import pick

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tier:
    id: str
    threshold: int
    names: Mapping[str, str]  # language -> name
    perks: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def name(self, language: str) -> str:
        return pick(self.names, language, self.id)


class Ladder:
    def __init__(self, tiers: Sequence[Tier]) -> None:
        assert tiers and tiers[0].threshold == 0, "the ladder starts at 0 (config validation ensures it)"
        self.tiers = list(tiers)
        self._index = {tier.id: index for index, tier in enumerate(self.tiers)}

    def for_points(self, earned: int) -> Tier:
        reached = self.tiers[0]
        for tier in self.tiers:
            if earned >= tier.threshold:
                reached = tier
        return reached

    def index(self, tier_id: str | None) -> int:
        """Position on the ladder; no tier (or one removed from the config) is the lowest."""
        return self._index.get(tier_id or "", 0)

    def get(self, tier_id: str | None) -> Tier:
        return self.tiers[self.index(tier_id)]

    def above(self, tier: Tier) -> Tier | None:
        index = self.index(tier.id)
        return self.tiers[index + 1] if index + 1 < len(self.tiers) else None


@dataclass(frozen=True, slots=True)
class TierStatus:
    tier: Tier
    earned: int  # in the window
    next: Tier | None
    window_days: int


@dataclass
class DailyReport:
    promoted: int = 0
    warned: int = 0
    demoted: int = 0
    cleared: int = 0


class TierService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        ladder: Ladder,
        day_of: Callable[[ChatRef, datetime], date],
        announcer: Announcer,
        *,
        window_days: int = 90,
        warn_days: int = 7,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self.ladder = ladder
        self._day_of = day_of
        self._announcer = announcer
        self.window_days = window_days
        self.warn_days = warn_days

    def _window_start(self, chat: ChatRef) -> date:
        return self._day_of(chat, self._clock.now()) - timedelta(days=self.window_days - 1)

    async def tier_of(self, member: MemberRef) -> Tier:
        """Her tier as stored (promotions land within a second of the points)."""
        async with self._uow_factory(read_only=True) as uow:
            state = (await uow.standings.tiers([member])).get(member, TierState(None))
        return self.ladder.get(state.tier)

    async def status(self, member: MemberRef) -> TierStatus:
        """Her tier and her points in the window."""
        earned = (await self._earned([member])).get(member, {})
        tier = await self.tier_of(member)
        return TierStatus(tier, sum(earned.values()), self.ladder.above(tier), self.window_days)

    async def members_at_least(self, tier_id: str) -> list[tuple[MemberRef, Tier, UserInfo]]:
        """Present members at ``tier_id`` or above: the list for a perk such as early product trials."""
        eligible = self.ladder.tiers[self.ladder.index(tier_id) :]
        async with self._uow_factory(read_only=True) as uow:
            rows = await uow.standings.holding([tier.id for tier in eligible if tier.threshold > 0])
        return [(member, self.ladder.get(tier), info) for member, tier, info in rows]

    async def _earned(self, members: Sequence[MemberRef]) -> dict[MemberRef, dict[date, int]]:
        starts = {member.chat: self._window_start(member.chat) for member in members}  # once per chat, not per row
        since = min(starts.values(), default=date.min)
        async with self._uow_factory(read_only=True) as uow:
            rows = await uow.standings.daily_since(since, members)
        earned: dict[MemberRef, dict[date, int]] = defaultdict(dict)
        for row in rows:
            if row.day >= starts[row.member.chat]:
                earned[row.member][row.day] = row.earned
        return earned

    async def promote(self, members: Sequence[MemberRef]) -> int:
        """Raise members whose window points reached a higher tier, and congratulate them in the group."""
        if not members:
            return 0
        return await self._promote(members, await self._earned(members))

    async def _promote(self, members: Sequence[MemberRef], earned: dict[MemberRef, dict[date, int]]) -> int:
        async with self._uow_factory(read_only=True) as uow:
            states = await uow.standings.tiers(members)
        candidates = []
        for member in members:
            state = states.get(member, TierState(None))
            reached = self.ladder.for_points(sum(earned.get(member, {}).values()))
            if self.ladder.index(reached.id) > self.ladder.index(state.tier):
                candidates.append((member, state, reached))
        if not candidates:
            return 0  # the common case: no write transaction at all
        promoted = []
        async with self._uow_factory() as uow:
            for member, state, reached in candidates:
                # Conditional: a concurrent process promoting her too makes one announcement, not two.
                if await uow.standings.set_tier(member, state, TierState(reached.id)):
                    promoted.append((member, reached))
            infos = await uow.members.users([member.user for member, _ in promoted])
            await uow.commit()
        for member, tier in promoted:
            await self._announcer.to_chat(
                member.chat, "tiers.promoted", name=display_name(infos.get(member.user)), tier=tier.name
            )
        return len(promoted)

    async def evaluate_daily(self) -> DailyReport:
        """Promote anyone missed, warn members about to drop, demote those warned long enough ago."""
        report = DailyReport()
        earliest = self._clock.now().date() - timedelta(days=self.window_days + 1)
        async with self._uow_factory(read_only=True) as uow:
            members = await uow.standings.tiered_or_earning(earliest)
        for start in range(0, len(members), 500):
            batch = members[start : start + 500]
            earned = await self._earned(batch)  # one read serves both decisions
            report.promoted += await self._promote(batch, earned)
            await self._warn_or_demote(batch, earned, report)
        logger.info("tiers evaluated for %d members: %s", len(members), report)
        return report

    async def _warn_or_demote(
        self, members: Sequence[MemberRef], earned: dict[MemberRef, dict[date, int]], report: DailyReport
    ) -> None:
        notices = []
        async with self._uow_factory() as uow:
            states = await uow.standings.tiers(members)
            for member in members:
                state = states.get(member, TierState(None))
                current = self.ladder.get(state.tier)
                days = earned.get(member, {})
                today = self._day_of(member.chat, self._clock.now())
                now_tier = self.ladder.for_points(sum(days.values()))
                # What still counts in warn_days if she earns nothing more.
                cutoff = self._window_start(member.chat) + timedelta(days=self.warn_days)
                kept = sum(points for day, points in days.items() if day >= cutoff)
                then_tier = self.ladder.for_points(kept)
                if self.ladder.index(now_tier.id) < self.ladder.index(current.id):
                    if state.warned_on is not None and state.warned_on <= today - timedelta(days=self.warn_days):
                        if await uow.standings.set_tier(member, state, TierState(now_tier.id if now_tier.threshold else None)):
                            report.demoted += 1
                            notices.append((member, "tiers.demoted", current, now_tier, kept))
                        continue
                if self.ladder.index(then_tier.id) < self.ladder.index(current.id):
                    if state.warned_on is None:
                        if await uow.standings.set_tier(member, state, TierState(state.tier, today)):
                            report.warned += 1
                            notices.append((member, "tiers.warning", current, then_tier, kept))
                elif state.warned_on is not None:
                    await uow.standings.set_tier(member, state, TierState(state.tier))
                    report.cleared += 1
            infos = await uow.members.users([member.user for member, *_ in notices])
            await uow.commit()
        for member, key, current, lower, kept in notices:
            # Privately only; she may not have started the bot, and then there is no one to tell.
            await self._announcer.to_member(
                member,
                infos.get(member.user),
                key,
                tier=current.name,
                lower=lower.name,
                threshold=current.threshold,
                earned=kept,
                missing=max(current.threshold - kept, 0),
                days=self.warn_days,
                window=self.window_days,
            )
