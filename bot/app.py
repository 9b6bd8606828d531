"""Composition root: builds storage, services, the scheduler and the dispatcher, and runs their lifecycle.

Nothing else creates connections or long-lived objects; everything is passed down from here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Dispatcher
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import SystemClock
from bot.config import Settings
from bot.domain import ChatRef
from bot.schedule_watch import ScheduleWatcher
from bot.faq.matcher import knowledge_and_matcher
from bot.i18n import I18n, Translator, pick
from bot.middlewares.context import MemberContextMiddleware
from bot.middlewares.dedupe import DedupeMiddleware, InFlight
from bot.platforms.telegram.responses import pin_response_types
from bot.platforms.telegram.authors import RecentAuthors
from bot.platforms.telegram.moderators import Moderators
from bot.platforms.telegram.refs import PLATFORM
from bot.points.achievements import Achievements
from bot.members.activity import ActivityBuffer
from bot.core.announcements import Announcer, Notifiers
from bot.points.awards import AwardService
from bot.points.badges import BadgeRule, BadgeService
from bot.members.chats import ChatDirectory
from bot.engagement.checkin import CheckinRules, CheckinService
from bot.members.languages import MemberLanguages
from bot.points.leaderboard import Leaderboard
from bot.members.members import MemberService
from bot.points.points_desk import PointsDesk
from bot.core.ports import Clock
from bot.members.privacy import PrivacyService
from bot.members.profiles import ProfileService
from bot.faq.service import FaqService
from bot.moderation.cleanup import CleanupPolicy, CleanupService
from bot.moderation.durations import parse_duration
from bot.moderation.guard import FilterRule, Guard, GuardPolicy
from bot.moderation.moderation import ModerationControls, ModerationService, Policy, Step
from bot.moderation.reports import ReportService
from bot.moderation import spam
from bot.moderation.welcome import Question, WelcomePolicy, WelcomeService
from bot.engagement.quiz_points import QuizPoints
from bot.content.scheduled_posts import ScheduledPosts
from bot.engagement.shares import ShareRules, ShareService
from bot.points.shop import Item, ShopService
from bot.engagement.thanks import ThanksRules, ThanksService
from bot.points.tiers import Ladder, Tier, TierService
from bot.members.updates import SeenUpdates
import handlers
from models.activity import SqlActivityStore
from models.preferences import SqlChatPreferencesStore
from models.storage import SqlStorage
from scheduler import make_scheduler
from scheduler.content import add_content_jobs, catch_up
from scheduler.engagement import add_engagement_jobs
from scheduler.faq import add_faq_jobs
from scheduler.moderation import add_moderation_jobs

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
    notifiers: Notifiers
    announcer: Announcer
    leaderboard: Leaderboard
    tiers: TierService
    badges: BadgeService
    achievements: Achievements
    shop: ShopService
    posts: ScheduledPosts
    schedule_watcher: ScheduleWatcher
    faq: FaqService
    moderators: Moderators
    controls: ModerationControls
    moderation: ModerationService
    guard: Guard
    welcome: WelcomeService
    reports: ReportService
    cleanup: CleanupService
    scheduler: AsyncIOScheduler
    in_flight: InFlight = field(default_factory=InFlight)
    _stop_flusher: asyncio.Event = field(default_factory=asyncio.Event)
    _flusher: asyncio.Task[None] | None = None
    _achiever: asyncio.Task[None] | None = None
    # Tests turn these off and call settle() where they expect promotions and badges, and
    # posts.tick() where they expect scheduled posts.
    background_achievements: bool = True
    background_content: bool = True

    async def start(self) -> None:
        """Load what the hot path keeps in memory, then start the flusher and the scheduler."""
        # First, so that a bad schedule file stops start-up before anything runs.
        self.posts.replace(self.schedule_watcher.load())
        await self.chats.load(SqlChatPreferencesStore(self.storage))
        await self.seen.load(self.activity_store, self.clock.now())
        self.languages.load(await self.profiles.languages())
        await self.leaderboard.load()
        await self.welcome.load()
        self._stop_flusher.clear()
        self._flusher = asyncio.create_task(self.buffer.run(FLUSH_INTERVAL_SECONDS, self._stop_flusher))
        if self.background_achievements:
            self._achiever = asyncio.create_task(self.achievements.run(self._stop_flusher))
        if self.background_content:
            add_content_jobs(self.scheduler, self.posts, self.schedule_watcher, self.settings.schedule.reload_check_seconds)
            # The catch-up tick waits for a platform to connect (runner.prepare registers its notifier):
            # a start that fails (a wrong token) must not claim, and so use up, posts due meanwhile.
            self.notifiers.on_register(lambda _platform: catch_up(self.scheduler, self.posts))
            if self.notifiers.platforms:
                catch_up(self.scheduler, self.posts)
            cleanup = self.settings.moderation.cleanup
            add_moderation_jobs(self.scheduler, self.welcome, self.cleanup if cleanup.enabled else None, cleanup.at)
        self.scheduler.start()
        # What start-up built (leaderboards: hundreds of thousands of objects at 100k members) lives
        # as long as the bot; keep the collector from walking it on every full collection.
        gc.freeze()

    async def settle(self) -> None:
        """Land buffered activity and FAQ gaps, and finish pending promotions and badges (tests, benchmarks)."""
        await self.buffer.flush()
        await self.faq.flush_gaps()
        await self.achievements.settle()

    async def stop(self) -> None:
        """Finish in-flight updates, flush buffers, close the database. Safe to call twice."""
        if not await self.in_flight.wait_idle(DRAIN_TIMEOUT_SECONDS):
            logger.warning("%d updates still running after %ss; stopping anyway", self.in_flight.count, DRAIN_TIMEOUT_SECONDS)
        # A tick in progress finishes its posts first: shutting the scheduler down cancels running jobs.
        try:
            await asyncio.wait_for(self.posts.close(), DRAIN_TIMEOUT_SECONDS)
        except TimeoutError:
            logger.warning("scheduled posts still going out after %ss; stopping them", DRAIN_TIMEOUT_SECONDS)
        await self.welcome.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._stop_flusher.set()
        for task in (self._flusher, self._achiever):
            if task is not None:
                await task
        self._flusher = self._achiever = None
        # Best effort: a database that is down (or refuses a row) must not turn a clean stop into a crash.
        try:
            await self.buffer.flush()
        except Exception:
            logger.exception("final activity flush failed; %d buffered entries are lost", self.buffer.pending)
        try:
            await self.faq.flush_gaps()
        except Exception:
            logger.exception("final flush of unanswered FAQ questions failed")
        await self.storage.dispose()


def build_app(settings: Settings, *, clock: Clock | None = None) -> App:
    clock = clock or SystemClock()
    storage = SqlStorage.from_url(settings.database.url, echo=settings.database.echo)
    activity_store = SqlActivityStore(storage, now=clock.now)
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
    storage.day_of = chats.member_day
    i18n = I18n()
    notifiers = Notifiers()
    announcer = Announcer(notifiers, i18n, chats, languages)
    leaderboard = Leaderboard(storage.unit_of_work, clock, chats.day)
    tiers = TierService(
        storage.unit_of_work,
        clock,
        ladder(settings),
        chats.day,
        announcer,
        window_days=settings.tiers.window_days,
        warn_days=settings.tiers.warn_days_before,
    )
    badges = BadgeService(storage.unit_of_work, clock, badge_rules(settings), announcer, announce=settings.badges.announce)
    achievements = Achievements(tiers, badges, prepare=buffer.flush)
    storage.points_observers += [leaderboard.on_points, achievements.on_points]
    buffer.on_presence = leaderboard.presence
    quiz_points = QuizPoints(desk, settings.points.quiz_correct)
    admin_chat = settings.community.admin_chat_id
    posts = ScheduledPosts(
        storage.unit_of_work, clock, notifiers, announcer, chats, leaderboard, quiz_points,
        not_in=frozenset({ChatRef(PLATFORM, str(admin_chat))}) if admin_chat is not None else frozenset(),
    )

    async def report_schedule_errors(problems: list[str]) -> None:
        if admin_chat is not None:
            await announcer.to_chat(ChatRef(PLATFORM, str(admin_chat)), "schedule.reload_failed", problems="\n".join(problems[:20]))

    watcher = ScheduleWatcher(settings.schedule.file, posts.replace, report_schedule_errors)
    topics, matcher = knowledge_and_matcher(settings.faq.extra or None)
    faq = FaqService(
        topics,
        matcher,
        storage.unit_of_work,
        clock,
        live_answers(settings),
        emergency_number=settings.faq.emergency_number,
        cooldown=timedelta(minutes=settings.faq.cooldown_minutes),
        keep_unanswered=timedelta(days=settings.faq.unanswered_days),
    )
    moderators = Moderators(frozenset(settings.community.operators) | frozenset(settings.moderation.moderators))
    controls = ModerationControls()
    moderation = ModerationService(
        storage.unit_of_work, clock, controls, moderation_policy(settings),
        log_translator=lambda: i18n.translator(None, settings.community.language),
    )  # fmt: skip
    guard = Guard(lambda chat: guard_policy(settings, chat))
    welcome = WelcomeService(storage.unit_of_work, clock, controls, moderation, guard, welcome_policy(settings))
    cleanup_settings = settings.moderation.cleanup
    cleanup = CleanupService(
        storage.unit_of_work, clock, controls, moderation, announcer,
        CleanupPolicy(cleanup_settings.inactive_days, cleanup_settings.notice_days, cleanup_settings.checkin_days, cleanup_settings.dry_run),
        lambda: clock.now().astimezone(community_zone).date(),
        ChatRef(PLATFORM, str(admin_chat)) if admin_chat is not None else None,
    )  # fmt: skip
    scheduler = make_scheduler(settings.community.timezone)
    add_faq_jobs(scheduler, faq)
    add_engagement_jobs(scheduler, tiers, badges, leaderboard, clock, community_zone, settings.community.day_starts_at)
    return App(
        settings=settings,
        clock=clock,
        storage=storage,
        activity_store=activity_store,
        buffer=buffer,
        seen=SeenUpdates(now=clock.now),
        chats=chats,
        i18n=i18n,
        checkins=checkins,
        members=MemberService(storage.unit_of_work, clock, chats.member_day, rules.freeze_every_days),
        awards=AwardService(storage.unit_of_work, settings.points.featured, settings.points.event, clock),
        thanks=ThanksService(storage.unit_of_work, thanks_rules(settings), chats.member_day, desk),
        shares=ShareService(storage.unit_of_work, share_rules(settings), chats.member_day, desk),
        quiz_points=quiz_points,
        privacy=PrivacyService(
            storage.unit_of_work,
            [storage.ids.forget_user, buffer.forget_user, checkins.forget_user, lambda user: languages.set(user, None)],
        ),
        profiles=ProfileService(
            storage.unit_of_work,
            clock,
            lambda: clock.now().astimezone(community_zone).date(),
            [languages.set],
            settings.points.pause_every_days,
        ),
        languages=languages,
        notifiers=notifiers,
        announcer=announcer,
        leaderboard=leaderboard,
        tiers=tiers,
        badges=badges,
        achievements=achievements,
        shop=ShopService(storage.unit_of_work, clock, shop_items(settings), tiers),
        posts=posts,
        schedule_watcher=watcher,
        faq=faq,
        moderators=moderators,
        controls=controls,
        moderation=moderation,
        guard=guard,
        welcome=welcome,
        reports=ReportService(storage.unit_of_work, clock),
        cleanup=cleanup,
        scheduler=scheduler,
    )


def moderation_policy(settings: Settings) -> Policy:
    moderation = settings.moderation
    return Policy(
        ladder=tuple(Step(step.warnings, step.action, parse_duration(step.duration)) for step in moderation.ladder),
        warning_lifetime=timedelta(days=moderation.warning_days),
        default_mute=parse_duration(moderation.default_mute) or timedelta(hours=1),
    )


def guard_policy(settings: Settings, chat: ChatRef) -> GuardPolicy:
    """One group's filters: the community's, with that group's overrides."""
    filters = settings.moderation.filters_for(int(chat.external_id)) if chat.external_id.lstrip("-").isdigit() else settings.moderation.filters

    def rule(section: Any, action: str | None = None) -> FilterRule:
        return FilterRule(section.enabled, action or section.action, parse_duration(section.mute) or timedelta(hours=1))

    ads = filters.ads
    return GuardPolicy(
        ads=rule(ads),
        ad_rules=spam.AdRules(
            allow_domains=spam.DEFAULT_ALLOW_DOMAINS | frozenset(domain.lower() for domain in ads.allow_domains),
            extra_terms=tuple(ads.extra_terms),
        ),
        qr=rule(filters.qr),
        flood=rule(filters.flood),
        flood_messages=filters.flood.messages,
        flood_seconds=filters.flood.seconds,
        crosspost=rule(filters.crosspost),
        crosspost_groups=filters.crosspost.groups,
        crosspost_minutes=filters.crosspost.minutes,
        crosspost_min_length=filters.crosspost.min_length,
        banned_words=rule(filters.banned_words),
        words=tuple(filters.banned_words.words),
        newcomer_hours=settings.moderation.newcomer_hours,
    )


def welcome_policy(settings: Settings) -> WelcomePolicy:
    welcome = settings.moderation.welcome
    return WelcomePolicy(
        enabled=welcome.enabled,
        captcha=welcome.captcha,
        timeout=parse_duration(welcome.timeout) or timedelta(minutes=5),
        on_timeout=welcome.on_timeout,
        questions=tuple(
            Question(question.question.by_language(), tuple(answer.by_language() for answer in question.answers), question.correct)
            for question in welcome.questions
        ),
        newcomer=timedelta(hours=settings.moderation.newcomer_hours),
    )


def ladder(settings: Settings) -> Ladder:
    return Ladder(
        [
            Tier(
                tier.id,
                tier.threshold,
                tier.name.by_language(),
                {"zh-CN": [perk.zh_CN for perk in tier.perks], "en": [perk.en for perk in tier.perks]},
            )
            for tier in settings.tiers.ladder
        ]
    )


def badge_rules(settings: Settings) -> list[BadgeRule]:
    return [BadgeRule(badge_id, badge.rule, badge.count, badge.name.by_language()) for badge_id, badge in settings.badges.rules.items()]


def shop_items(settings: Settings) -> list[Item]:
    return [
        Item(item_id, item.name.by_language(), item.cost, item.stock, item.per_member, item.min_tier, item.kind)
        for item_id, item in settings.shop.items.items()
    ]


def live_answers(settings: Settings) -> dict[str, Callable[[Translator], str]]:
    """The community topics, answered from the configuration the bot runs with."""
    points, tiers = settings.points, settings.tiers

    def points_answer(t: Translator) -> str:
        bonus = ", ".join(t("faq.points_bonus", days=days, points=extra) for days, extra in sorted(points.streak_bonus.items()))
        ladder = " → ".join(f"{pick(tier.name.by_language(), t.language, tier.id)} {tier.threshold}" for tier in tiers.ladder)
        return t(
            "faq.points_answer",
            checkin=points.checkin, bonus=bonus or "-", share=points.shares.points, share_cap=points.shares.daily_cap,
            thanks=points.thanks.points, quiz=points.quiz_correct, featured=points.featured, event=points.event,
            days=tiers.window_days, tiers=ladder,
        )  # fmt: skip

    def rules_answer(t: Translator) -> str:
        return t("faq.rules_answer", rules=pick(settings.community.rules.by_language(), t.language, ""))

    return {"community.points": points_answer, "community.rules": rules_answer}


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
        leaderboard=app.leaderboard,
        tiers=app.tiers,
        badges=app.badges,
        shop=app.shop,
        posts=app.posts,
        faq=app.faq,
        faq_passive=app.settings.faq.passive,
        announcer=app.announcer,
        moderators=app.moderators,
        moderation=app.moderation,
        guard=app.guard,
        welcome=app.welcome,
        reports=app.reports,
        rules=app.settings.community.rules.by_language(),
        exempt=frozenset(app.settings.moderation.exempt) | frozenset(app.settings.moderation.moderators) | frozenset(app.settings.community.operators),
        community_name=app.settings.community.name,
        operators=frozenset(app.settings.community.operators),
        pin_featured=app.settings.points.pin_featured,
        admin_chat_id=app.settings.community.admin_chat_id,
        rejected_dir=app.settings.telegram.rejected_dir,  # updates given up on are kept there (handlers/errors.py)
    )
    dispatcher.update.outer_middleware(DedupeMiddleware(app.seen, app.buffer, app.in_flight))
    authors = RecentAuthors()
    dispatcher["authors"] = authors
    dispatcher.update.outer_middleware(MemberContextMiddleware(app.i18n, app.chats, app.buffer, authors, app.languages))
    handlers.install(dispatcher)
    return dispatcher
