"""Composition root: builds storage, services, the scheduler and the dispatcher, and runs their lifecycle.

Nothing else creates connections or long-lived objects; everything is passed down from here.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo
from dataclasses import dataclass, field

from aiogram import Dispatcher
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import SystemClock
from bot.config import Settings
from bot.i18n import I18n
from bot.middlewares.context import MemberContextMiddleware
from bot.middlewares.dedupe import DedupeMiddleware, InFlight
from bot.platforms.telegram.responses import pin_response_types
from bot.platforms.telegram.authors import RecentAuthors
from bot.platforms.telegram.moderators import Moderators
from bot.services.activity import ActivityBuffer
from bot.services.awards import AwardService
from bot.services.chats import ChatDirectory
from bot.services.checkin import CheckinRules, CheckinService
from bot.services.languages import MemberLanguages
from bot.services.members import MemberService
from bot.services.points_desk import PointsDesk
from bot.services.ports import Clock
from bot.services.privacy import PrivacyService
from bot.services.profiles import ProfileService
from bot.services.quiz_points import QuizPoints
from bot.services.shares import ShareRules, ShareService
from bot.services.thanks import ThanksRules, ThanksService
from bot.services.updates import SeenUpdates
import handlers
from models.storage import SqlActivityStore, SqlChatPreferencesStore, SqlStorage
from scheduler import make_scheduler

logger = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0
DRAIN_TIMEOUT_SECONDS = 30.0


@dataclass
class App:
    settings: Settings
    clock: Clock
    storage: SqlStorage
    activity_store: SqlActivityStore
    buffer: ActivityBuffer
    seen: SeenUpdates
    chats: ChatDirectory
    i18n: I18n
    checkins: CheckinService
    members: MemberService
    awards: AwardService
    thanks: ThanksService
    shares: ShareService
    quiz_points: QuizPoints
    privacy: PrivacyService
    profiles: ProfileService
    languages: MemberLanguages
    scheduler: AsyncIOScheduler
    in_flight: InFlight = field(default_factory=InFlight)
    _stop_flusher: asyncio.Event = field(default_factory=asyncio.Event)
    _flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load what the hot path keeps in memory, then start the flusher and the scheduler."""
        await self.chats.load(SqlChatPreferencesStore(self.storage))
        await self.seen.load(self.activity_store, self.clock.now())
        self.languages.load(await self.profiles.languages())
        self._stop_flusher.clear()
        self._flusher = asyncio.create_task(self.buffer.run(FLUSH_INTERVAL_SECONDS, self._stop_flusher))
        self.scheduler.start()

    async def stop(self) -> None:
        """Finish in-flight updates, flush buffers, close the database. Safe to call twice."""
        if not await self.in_flight.wait_idle(DRAIN_TIMEOUT_SECONDS):
            logger.warning("%d updates still running after %ss; stopping anyway", self.in_flight.count, DRAIN_TIMEOUT_SECONDS)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._flusher is not None:
            self._stop_flusher.set()
            await self._flusher
            self._flusher = None
        await self.buffer.flush()
        await self.storage.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None) -> App:
    clock = clock or SystemClock()
    storage = SqlStorage.from_url(settings.database.url, echo=settings.database.echo)
    activity_store = SqlActivityStore(storage)
    chats = ChatDirectory(settings.community.timezone, settings.community.language, settings.community.day_starts_at)
    buffer = ActivityBuffer(activity_store, chats.day)
    desk = PointsDesk(storage.unit_of_work)  # check-ins, thanks and shares arriving together share a transaction
    rules = CheckinRules(
        base_points=settings.points.checkin,
        streak_bonus=dict(settings.points.streak_bonus),
        freeze_every_days=settings.points.streak_freeze_every_days,
    )
    checkins = CheckinService(storage.unit_of_work, rules, chats.member_day, buffer.checked_in, desk)
    languages = MemberLanguages()
    community_zone = ZoneInfo(settings.community.timezone)
    return App(
        settings=settings,
        clock=clock,
        storage=storage,
        activity_store=activity_store,
        buffer=buffer,
        seen=SeenUpdates(),
        chats=chats,
        i18n=I18n(),
        checkins=checkins,
        members=MemberService(storage.unit_of_work, clock, chats.member_day, rules.freeze_every_days),
        awards=AwardService(storage.unit_of_work, settings.points.featured),
        thanks=ThanksService(storage.unit_of_work, thanks_rules(settings), chats.member_day, desk),
        shares=ShareService(storage.unit_of_work, share_rules(settings), chats.member_day, desk),
        quiz_points=QuizPoints(desk, settings.points.quiz_correct),
        privacy=PrivacyService(
            storage.unit_of_work,
            [storage.ids.forget_user, buffer.forget_user, checkins.forget_user, lambda user: languages.set(user, None)],
        ),
        profiles=ProfileService(
            storage.unit_of_work, clock, lambda: clock.now().astimezone(community_zone).date(), [languages.set]
        ),
        languages=languages,
        scheduler=make_scheduler(settings.community.timezone),
    )


def thanks_rules(settings: Settings) -> ThanksRules:
    thanks = settings.points.thanks
    return ThanksRules(
        thanks.points, tuple(thanks.words), thanks.per_giver_per_day, thanks.per_pair_per_day, tuple(thanks.reactions)
    )


def share_rules(settings: Settings) -> ShareRules:
    shares = settings.points.shares
    return ShareRules(
        shares.points, shares.daily_cap, shares.min_post_length, timedelta(hours=shares.duplicate_window_hours)
    )


def build_dispatcher(app: App) -> Dispatcher:
    """A fresh Dispatcher wired to ``app`` (tests build one per test)."""
    pin_response_types()
    dispatcher = Dispatcher(
        disable_fsm=True,  # no conversation state yet; the FSM middleware would cost a lookup per update
        i18n=app.i18n,
        chats=app.chats,
        checkins=app.checkins,
        members=app.members,
        awards=app.awards,
        thanks=app.thanks,
        shares=app.shares,
        privacy=app.privacy,
        profiles=app.profiles,
        moderators=Moderators(frozenset(app.settings.community.operators)),
        community_name=app.settings.community.name,
        operators=frozenset(app.settings.community.operators),
        pin_featured=app.settings.points.pin_featured,
    )
    dispatcher.update.outer_middleware(DedupeMiddleware(app.seen, app.buffer, app.in_flight))
    authors = RecentAuthors()
    dispatcher["authors"] = authors
    dispatcher.update.outer_middleware(MemberContextMiddleware(app.i18n, app.chats, app.buffer, authors, app.languages))
    handlers.install(dispatcher)
    return dispatcher
