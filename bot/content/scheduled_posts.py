"""Scheduled content: works out which posts are due in which group, posts each exactly once, and
closes quizzes and polls with their results.

Exactly once: a post is recorded as (entry, group, scheduled time) under a unique constraint
before it is sent, so a restart or a second instance cannot send it again (a crash between the
record and the send loses that one post rather than doubling it). A post whose time passed while
the bot was down goes out if it is at most ``grace`` late, and is otherwise recorded as missed.

Nothing is claimed for a platform that cannot post yet (no notifier: the bot has not connected). A post
that failed for a passing reason (no notifier, the network, a server error, a rate limit) is recorded
as ``retry`` and claimed again by the next tick while it is within grace (once past grace, that tick
records it as missed); ``failed`` is final, for refusals (the bot was removed, Telegram rejected the
message). A ``retry`` no tick plans any more (its entry or group is gone, or it was a /postnow) is
recorded as missed once it is older than ``LOOKBACK``.

Ticks overlap: a tick plans and claims under a lock, then sends outside it, so a fan-out to many
groups that outlasts its minute does not hold up the next minute's posts (the claims keep each post
to one sender).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.content.schedule import Bank, Entry, Item, Kind, PollItem, Post, QuizItem, Schedule, TextItem
from bot.content.timing import release_time
from bot.core.announcements import Announcer, Notifiers, display_name
from bot.core.ports import (
    Clock,
    DeliveryDeferred,
    FireClaim,
    FireClaimLike,
    FireKey,
    RETRY,
    PollRecord,
    PollRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.domain import ChatRef, MemberRef, Profile, UserInfo, UserRef
from bot.engagement import draws
from bot.engagement.milestones import milestone
from bot.engagement.quiz_points import QuizAnswer, QuizPoints
from bot.i18n import Translator, pick
from bot.members.chats import ChatDirectory
from bot.members.profiles import stage
from bot.points.leaderboard import Leaderboard, Period
from bot.points.leaderboard_text import render_top

logger = logging.getLogger(__name__)

# Far enough back that a post deferred by quiet hours (at most a day) is still seen.
LOOKBACK = timedelta(hours=26)
PREVIEW_LIMIT = 500
CLAIM_BATCH = 200  # posts claimed per transaction while earlier ones are already being sent
EXPIRE_EVERY = timedelta(hours=1)  # how often fires left waiting to be tried again are looked for


@dataclass(frozen=True, slots=True)
class Planned:
    """A post to come, for previews and /schedule."""

    entry_id: str
    kind: str
    chat: ChatRef | None  # None: no group yet; times are in the community's zone
    at: datetime  # when it goes out (after quiet hours), UTC
    zone: ZoneInfo
    paused: bool = False


@dataclass(slots=True)
class TickReport:
    posted: int = 0
    failed: int = 0
    missed: int = 0
    quiet: int = 0
    polls_closed: int = 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    post: Post
    fire_id: int
    message_id: str | None
    item: Item | None = None
    new_round: bool = False
    status: str | None = None  # default: sent if there is a message, else failed (retry: try again)

    @property
    def final_status(self) -> str:
        return self.status or ("sent" if self.message_id else "failed")


class UnknownEntry(LookupError):
    pass


class ScheduledPosts:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        notifiers: Notifiers,
        announcer: Announcer,
        chats: ChatDirectory,
        leaderboard: Leaderboard,
        quiz_points: QuizPoints,
        *,
        concurrency: int = 64,
        not_in: frozenset[ChatRef] = frozenset(),
    ) -> None:
        """``not_in``: chats that never get scheduled posts (the admins' chat)."""
        self._uow_factory = uow_factory
        self._clock = clock
        self._notifiers = notifiers
        self._announcer = announcer  # the group's language, or the member's
        self._chats = chats
        self._leaderboard = leaderboard
        self._quiz_points = quiz_points
        self._schedule = Schedule()
        self._handled: set[FireKey] = set()
        self._loaded_since: datetime | None = None
        self._sending = asyncio.Semaphore(concurrency)  # the sender paces; this only bounds tasks in flight
        self._tick_lock = asyncio.Lock()  # planning and claiming: one tick at a time
        self._polls_lock = asyncio.Lock()
        self._ticks = 0  # ticks running (sending), for close()
        self._idle = asyncio.Condition()
        self._not_in = not_in
        self._closed = False
        self._expired_at: datetime | None = None  # when retries out of reach were last recorded as missed

    @property
    def schedule(self) -> Schedule:
        return self._schedule

    def replace(self, schedule: Schedule) -> None:
        """Swap in a checked schedule (start-up, hot reload); the next tick uses it."""
        schedule.apply_timezones(self._chats)
        self._schedule = schedule

    # ------------------------------------------------------------------ the tick

    async def tick(self) -> TickReport:
        """Post what is due, record what was missed, close polls whose time is up.

        Planning is one tick at a time; sending is not: a tick still sending a long fan-out does not
        delay the next one, which plans around the posts already taken (``_handled``)."""
        report = TickReport()
        async with self._tick_lock:
            if self._closed:
                return report
            now = self._clock.now()
            schedule = self._schedule
            async with self._uow_factory(read_only=True) as uow:
                groups = self._ready(await self._groups(uow))
                paused = await uow.schedule.paused()
                if self._loaded_since is None:
                    self._loaded_since = now - LOOKBACK
                    self._handled = await uow.schedule.fired_since(self._loaded_since)
            due, skipped = self._plan(schedule, groups, paused, now, report)
            self._handled.update(post.key for post in due)  # taken: the next tick leaves them to this one
            self._ticks += 1
        try:
            by_entry: dict[str, list[Post]] = defaultdict(list)
            for post in due:
                by_entry[post.entry.id].append(post)
            for posts in by_entry.values():
                sent, failed = await self._post_all(posts, now)
                report.posted += sent
                report.failed += failed
            # The record of skipped ones can wait until the posts are out.
            await self._claim(skipped, now)
            report.missed += await self._expire_retries(now)
            async with self._polls_lock:
                report.polls_closed = await self.close_due_polls()
        except BaseException:
            self._handled.difference_update(post.key for post in due)  # not sent here: a later tick may
            raise
        finally:
            async with self._idle:
                self._ticks -= 1
                self._idle.notify_all()
        self._forget_before(now - LOOKBACK)
        return report

    async def _expire_retries(self, now: datetime) -> int:
        """Record as missed the fires waiting to be tried again that no tick will plan any more: older
        than ``LOOKBACK`` (a tick looks no further back). Within it, a tick whose entry and group still
        exist records a retry past grace as missed itself; one whose entry or group is gone (or a
        /postnow) waits here. Not by grace alone: quiet hours may defer a post's release by up to a day."""
        if self._expired_at is not None and now - self._expired_at < EXPIRE_EVERY:
            return 0
        async with self._uow_factory() as uow:
            expired = await uow.schedule.expire_retries(before=now - LOOKBACK, at=now)
            await uow.commit()
        self._expired_at = now
        if expired:
            logger.warning("%d scheduled post(s) left to be tried again were never planned again; recorded as missed", expired)
        return expired

    def _ready(self, groups: Sequence[ChatRef]) -> list[ChatRef]:
        """Groups on platforms that can post now; the others' posts stay unclaimed until they can."""
        ready = [chat for chat in groups if self._notifiers.get(chat.platform) is not None]
        if len(ready) < len(groups):
            waiting = sorted({chat.platform for chat in groups} - {chat.platform for chat in ready})
            logger.info("not connected to %s yet: nothing is claimed there until it is", ", ".join(waiting))
        return ready

    async def _claim(self, claims: Sequence[FireClaimLike], now: datetime) -> dict[FireKey, int]:
        """Record fires (database-unique); the ids of those this instance recorded, i.e. now owns."""
        if not claims:
            return {}
        async with self._uow_factory() as uow:
            recorded = await uow.schedule.claim(claims, now)
            await uow.commit()
        self._handled.update((claim.entry_id, claim.chat, claim.scheduled_at) for claim in claims)
        return recorded

    async def _post_all(self, posts: Sequence[Post], now: datetime) -> tuple[int, int]:
        """Claim and send one entry's posts batch by batch: the first go out while later ones are claimed."""
        batches = []
        for start in range(0, len(posts), CLAIM_BATCH):
            batch = posts[start : start + CLAIM_BATCH]
            recorded = await self._claim(batch, now)
            pairs = [(post, fire_id) for post in batch if (fire_id := recorded.get(post.key)) is not None]
            batches.append(asyncio.create_task(self._deliver(pairs)))  # else another instance has them
        results = await asyncio.gather(*batches)
        return sum(sent for sent, _ in results), sum(failed for _, failed in results)

    async def _groups(self, uow: UnitOfWork) -> list[ChatRef]:
        return [chat for chat in await uow.schedule.groups() if chat not in self._not_in]

    async def close(self) -> None:
        """Let ticks in progress finish their posts; later ticks do nothing (the database is closing)."""
        self._closed = True
        async with self._tick_lock:
            pass
        async with self._idle:
            await self._idle.wait_for(lambda: self._ticks == 0)

    def _plan(
        self, schedule: Schedule, groups: Sequence[ChatRef], paused: set[str], now: datetime, report: TickReport
    ) -> tuple[list[Post], list[FireClaim]]:
        """Posts due now, and the fires to record as skipped (quiet hours, too late)."""
        due: list[Post] = []
        claims: list[FireClaim] = []
        since = now - LOOKBACK
        times: dict[tuple[str, str], list[datetime]] = {}
        skips: dict[tuple[str, datetime, str], int] = defaultdict(int)  # logged once per entry and time
        for entry in schedule.entries:
            if entry.id in paused:
                continue
            for group in schedule.targets(entry, groups):
                zone = self._chats.timezone(group.chat)
                key = (entry.id, zone.key)
                if key not in times:
                    times[key] = entry.rule.times(zone, since, now)
                for moment in times[key]:
                    fire = (entry.id, group.chat, moment)
                    if fire in self._handled or schedule.skips(entry, moment, zone):
                        continue
                    release = release_time(moment, zone, schedule.quiet(group), defer=entry.defer_in_quiet_hours)
                    if release is None:
                        report.quiet += 1
                        claims.append(FireClaim(entry.id, group.chat, moment, "quiet"))
                        skips[(entry.id, moment, "fell in quiet hours")] += 1
                    elif release > now:
                        continue
                    elif now - release <= schedule.grace:
                        due.append(Post(entry, group.chat, moment, release, zone))
                    else:
                        report.missed += 1
                        claims.append(FireClaim(entry.id, group.chat, moment, "missed"))
                        skips[(entry.id, moment, f"was more than {schedule.grace} late (the bot was not running)")] += 1
        for (entry_id, moment, why), count in skips.items():
            logger.warning("entry %s due %s %s: skipped in %d group(s)", entry_id, moment.isoformat(), why, count)
        return due, claims

    def _forget_before(self, since: datetime) -> None:
        if len(self._handled) > 10_000:
            self._handled = {fire for fire in self._handled if fire[2] >= since}

    # ------------------------------------------------------------------ operators

    async def post_now(self, entry_id: str) -> int:
        """Post an entry in all its groups at once (/postnow); returns how many posts went out."""
        entry = self._schedule.entry(entry_id)
        if entry is None:
            raise UnknownEntry(entry_id)
        now = self._clock.now().replace(microsecond=0)
        async with self._uow_factory(read_only=True) as uow:
            groups = self._schedule.targets(entry, await self._groups(uow))
        sent, _ = await self._post_all([Post(entry, group.chat, now, now, self._chats.timezone(group.chat)) for group in groups], now)
        return sent

    async def set_paused(self, entry_id: str, paused: bool, by: str) -> bool:
        if self._schedule.entry(entry_id) is None:
            raise UnknownEntry(entry_id)
        async with self._uow_factory() as uow:
            changed = await uow.schedule.set_paused(entry_id, paused, by, self._clock.now())
            await uow.commit()
        return changed

    async def upcoming(self, *, limit: int = 10, days: int | None = None, group: ChatRef | None = None) -> list[Planned]:
        """The next posts, soonest first (all groups, or one)."""
        async with self._uow_factory(read_only=True) as uow:
            groups = await self._groups(uow)
            paused = await uow.schedule.paused()
        if group is not None:
            groups = [chat for chat in groups if chat == group] or [group]
        return plan(self._schedule, groups, self._chats, self._clock.now(), paused, limit=limit, days=days)

    async def chat_gone(self, chat: ChatRef) -> None:
        """The platform says the bot is no longer in the group: stop posting there."""
        logger.warning("the bot was removed from %s; no more scheduled posts there until it is added back", chat.external_id)
        await self._set_active(chat, False)

    async def chat_back(self, chat: ChatRef) -> None:
        await self._set_active(chat, True)

    async def _set_active(self, chat: ChatRef, active: bool) -> None:
        async with self._uow_factory() as uow:
            await uow.schedule.set_active(chat, active)
            await uow.commit()

    # ------------------------------------------------------------------ sending

    async def _deliver(self, pairs: Sequence[tuple[Post, int]]) -> tuple[int, int]:
        """Send one entry's posts (one per group) concurrently; record the outcomes together."""
        if not pairs:
            return 0, 0
        entry = pairs[0][0].entry
        used: dict[ChatRef, set[str]] = {}
        if entry.bank is not None:
            async with self._uow_factory(read_only=True) as uow:
                used = await uow.schedule.used_items([post.chat for post, _ in pairs], entry.bank.name)

        async def one(post: Post, fire_id: int) -> _Outcome:
            async with self._sending:
                try:
                    return await self._send(post, fire_id, used.get(post.chat, set()))
                except DeliveryDeferred as exc:
                    logger.warning("scheduled post %s in %s not sent now (%s); trying again next tick", post.entry.id, post.chat.external_id, exc)
                    return _Outcome(post, fire_id, None, status=RETRY)
                except Exception:
                    logger.exception("scheduled post %s in %s failed", post.entry.id, post.chat.external_id)
                    return _Outcome(post, fire_id, None)

        outcomes = await asyncio.gather(*(one(post, fire_id) for post, fire_id in pairs))
        now = self._clock.now()
        async with self._uow_factory() as uow:
            await uow.schedule.finish([(o.fire_id, o.final_status, o.message_id) for o in outcomes], now)
            if entry.bank is not None:
                uses = [(o.post.chat, o.item.id, o.new_round) for o in outcomes if o.message_id and o.item is not None]
                await uow.schedule.use_items(entry.bank.name, uses, now)
            await uow.commit()
        # Not done: planned again by the next tick (claimed again in the database, by one instance).
        self._handled.difference_update(o.post.key for o in outcomes if o.final_status == RETRY)
        sent = sum(1 for outcome in outcomes if outcome.final_status not in ("failed", RETRY))
        logger.info("entry %s: posted in %d of %d groups", entry.id, sent, len(outcomes))
        return sent, len(outcomes) - sent

    async def _send(self, post: Post, fire_id: int, used: set[str]) -> _Outcome:
        entry, chat = post.entry, post.chat
        notifier = self._notifiers.get(chat.platform)
        if notifier is None:  # not connected (any more): a passing reason
            logger.warning("no notifier for %s; entry %s not posted yet", chat.platform, entry.id)
            return _Outcome(post, fire_id, None, status=RETRY)
        t = self._announcer.for_chat(chat)
        item, new_round = self._item(entry, chat, used)
        if entry.kind in (Kind.QUIZ, Kind.POLL):
            assert isinstance(item, (QuizItem, PollItem))
            return replace(await self._send_poll(post, fire_id, item, t), item=item, new_round=new_round)
        if entry.kind is Kind.DRAW:
            return _Outcome(post, fire_id, await self._draw(post, t))
        if entry.kind is Kind.MILESTONES:
            message_id = await self._milestones(post, t)
            return _Outcome(post, fire_id, message_id, status=None if message_id != "" else "empty")
        if entry.kind is Kind.LEADERBOARD:
            top = await self._leaderboard.chat_top(chat, Period(entry.period))
            text = t("schedule.leaderboard", board=render_top(top, t))
        else:
            assert isinstance(item, TextItem)
            text = t(f"schedule.{entry.kind.value}", text=pick(item.text, t.language, ""))
        return _Outcome(post, fire_id, await notifier.post(chat, text), item, new_round)

    def _item(self, entry: Entry, chat: ChatRef, used: set[str]) -> tuple[Item | None, bool]:
        if entry.bank is not None:
            return entry.bank.choose(chat, used, entry.stages)
        if entry.quiz is not None:
            return entry.quiz, False
        if entry.poll is not None:
            return entry.poll, False
        if entry.text is not None:
            return TextItem(entry.id, entry.text), False
        return None, False

    async def _send_poll(self, post: Post, fire_id: int, item: QuizItem | PollItem, t: Translator) -> _Outcome:
        notifier = self._notifiers.get(post.chat.platform)
        assert notifier is not None
        language = t.language
        options = item.options.get(language) or next(iter(item.options.values()))
        quiz = isinstance(item, QuizItem)
        closes_at = self._clock.now() + post.entry.close_after
        request = PollRequest(
            question=pick(item.question, language, ""),
            options=tuple(options),
            correct=item.correct if quiz else None,
            explanation=pick(item.explanation, language, "") if quiz else "",
            open_seconds=int(post.entry.close_after.total_seconds()),
        )
        sent = await notifier.post_poll(post.chat, request)
        if sent is None:
            return _Outcome(post, fire_id, None)
        record = PollRecord(
            id=0,
            chat=post.chat,
            entry_id=post.entry.id,
            external_id=sent.poll_id,
            message_id=sent.message_id,
            kind="quiz" if quiz else "poll",
            question=request.question,
            options=request.options,
            correct=request.correct,
            closes_at=closes_at,
        )
        # Stored at once, not with the batch: answers start arriving as soon as the poll is up.
        async with self._uow_factory() as uow:
            await uow.schedule.add_poll(fire_id, record, self._clock.now())
            await uow.commit()
        return _Outcome(post, fire_id, sent.message_id)

    # ------------------------------------------------------------------ polls

    async def on_poll_answer(self, poll_id: str, user: UserRef, options: Sequence[int], at: datetime | None = None) -> bool:
        """Record a vote; a first, correct quiz answer earns quiz points. True if it paid."""
        if not options:
            return False  # a retracted vote; the first one stands
        at = at or self._clock.now()
        async with self._uow_factory() as uow:
            poll = await uow.schedule.poll(poll_id)
            if poll is None or poll.closed_at is not None or at > poll.closes_at:
                return False
            first = await uow.schedule.add_vote(poll.id, user, options, at)
            await uow.commit()
        if not first or poll.kind != "quiz":
            return False
        correct = list(options) == [poll.correct]
        return await self._quiz_points.answer(QuizAnswer(MemberRef(poll.chat, user), f"poll-{poll.id}", correct, at))

    async def close_due_polls(self) -> int:
        now = self._clock.now()
        async with self._uow_factory(read_only=True) as uow:
            due = await uow.schedule.due_polls(now)
        closed = 0
        for poll in due:
            async with self._uow_factory() as uow:
                mine = await uow.schedule.close_poll(poll.id, now)
                await uow.commit()
            if not mine:
                continue  # another instance closes it
            closed += 1
            notifier = self._notifiers.get(poll.chat.platform)
            if notifier is None:
                continue
            # Telegram may have closed it already (open_period); either way the results are ours.
            await notifier.stop_poll(poll.chat, poll.message_id)
            async with self._uow_factory(read_only=True) as uow:
                votes = await uow.schedule.votes(poll.id)
            try:
                await notifier.post(poll.chat, poll_result(poll, votes, self._announcer.for_chat(poll.chat)), reply_to=poll.message_id)
            except DeliveryDeferred as exc:  # the poll is closed; its result line is lost, not the tick
                logger.warning("could not post the result of poll %s in %s: %s", poll.id, poll.chat.external_id, exc)
        return closed

    # ------------------------------------------------------------------ draws and milestones

    async def _draw(self, post: Post, t: Translator) -> str | None:
        rule = post.entry.draw
        assert rule is not None
        notifier = self._notifiers.get(post.chat.platform)
        assert notifier is not None
        day = post.scheduled_at.astimezone(post.zone).date()
        first, last = day - timedelta(days=rule.period_days), day - timedelta(days=1)
        async with self._uow_factory(read_only=True) as uow:
            counts = await uow.schedule.checkin_counts(post.chat, first, last)
            eligible = sorted((member for member, n in counts.items() if n >= rule.min_checkins), key=lambda m: m.user.external_id)
            names = await uow.members.users([member.user for member in eligible])
        prize = pick(rule.prize, t.language, "") if rule.prize else t("schedule.draw_no_prize")
        if not eligible:
            return await notifier.post(post.chat, t("schedule.draw_nobody", prize=prize, checkins=rule.min_checkins, days=rule.period_days))
        ids = [member.user.external_id for member in eligible]
        listing = "\n".join(
            f"{number}. {display_name(names.get(member.user)) or t('top.someone')}" for number, member in enumerate(eligible, 1)
        )
        digest = draws.list_digest(ids)
        announcement = t(
            "schedule.draw_announce",
            prize=prize,
            checkins=rule.min_checkins,
            days=rule.period_days,
            count=len(eligible),
            winners=rule.winners,
            digest=digest[:16],
            method=t("schedule.draw_method"),
        )
        message_id = await notifier.post(post.chat, f"{announcement}\n\n{listing}"[:4096])
        if message_id is None:
            return None
        result = draws.draw(ids, post.chat.external_id, message_id, day, rule.winners)
        winners = t("schedule.list_separator").join(
            display_name(names.get(eligible[index].user)) or t("top.someone") for index in result.winners
        )
        numbers = ", ".join(str(index + 1) for index in result.winners)
        seed = draws.seed_text(post.chat.external_id, message_id, day, result.digest)
        try:
            await notifier.post(
                post.chat, t("schedule.draw_result", winners=winners, numbers=numbers, seed=seed, hash=result.seed), reply_to=message_id
            )
        except DeliveryDeferred as exc:  # announced already: retrying would announce twice
            logger.warning("draw %s in %s announced, but its result could not be posted: %s", post.entry.id, post.chat.external_id, exc)
        return message_id

    async def _milestones(self, post: Post, t: Translator) -> str | None:
        notifier = self._notifiers.get(post.chat.platform)
        assert notifier is not None
        today = post.scheduled_at.astimezone(post.zone).date()
        async with self._uow_factory(read_only=True) as uow:
            profiles = await uow.schedule.profiles(post.chat)
        lines = []
        for member, profile, info in profiles:
            if not profile.milestones or profile.birth_date is None:
                continue
            found = milestone(profile.birth_date, today)
            if found is not None:
                name = display_name(info) or t("top.someone")
                lines.append(t(f"schedule.milestone_{found[0]}", name=name, years=found[1]))
        if post.entry.private_tips:
            await self._stage_tips(post, profiles, today)
        if not lines:
            return ""  # nothing to celebrate today: done, nothing posted
        return await notifier.post(post.chat, "\n".join([t("schedule.milestones_header"), *lines]))

    async def _stage_tips(self, post: Post, profiles: Sequence[tuple[MemberRef, Profile, UserInfo]], today: date) -> None:
        """Each opted-in member's tip for her stage, in private and in her language."""
        bank = self._schedule.tips
        notifier = self._notifiers.get(post.chat.platform)
        if bank is None or notifier is None:
            return
        for member, profile, info in profiles:
            member_stage = stage(profile, today) if profile.milestones else None
            tip = stage_tip(bank, member_stage, today) if member_stage else None
            if tip is None:
                continue
            t = self._announcer.for_member(member, info)
            await notifier.to_user(member.user, t("schedule.stage_tip", text=pick(tip.text, t.language, "")))


def stage_tip(bank: Bank, member_stage: str, today: date) -> TextItem | None:
    """The tip of the day for a stage: the stage's tips in turn, one a day."""
    tips = [item for item in bank.items if isinstance(item, TextItem) and member_stage in item.stages]
    return tips[today.toordinal() % len(tips)] if tips else None


def poll_result(poll: PollRecord, votes: Sequence[tuple[int, ...]], t: Translator) -> str:
    answered = len(votes)
    if poll.kind == "quiz":
        right = sum(1 for vote in votes if list(vote) == [poll.correct])
        percent = round(100 * right / answered) if answered else 0
        answer = poll.options[poll.correct] if poll.correct is not None and poll.correct < len(poll.options) else ""
        key = "schedule.quiz_result" if answered else "schedule.quiz_result_none"
        return t(key, answered=answered, percent=percent, answer=answer)
    counts = [0] * len(poll.options)
    for vote in votes:
        for option in vote:
            if 0 <= option < len(counts):
                counts[option] += 1
    if not answered:
        return t("schedule.poll_result_none")
    lines = [
        t("schedule.poll_result_line", option=text, votes=count, percent=round(100 * count / answered))
        for text, count in zip(poll.options, counts)
    ]
    return "\n".join([t("schedule.poll_result", answered=answered), *lines])


def plan(
    schedule: Schedule,
    groups: Sequence[ChatRef],
    chats: ChatDirectory,
    now: datetime,
    paused: Collection[str] = (),
    *,
    limit: int | None = 10,
    days: int | None = None,
) -> list[Planned]:
    """Posts to come from ``now`` (within ``days``), soonest first; with no groups, each entry's times
    in the community's zone."""
    until = now + timedelta(days=days if days is not None else 35)
    planned: list[Planned] = []
    for entry in schedule.entries:
        targets: list[ChatRef | None] = [group.chat for group in schedule.targets(entry, groups)] if groups else [None]
        for chat in targets:
            zone = chats.timezone(chat) if chat is not None else chats.default_timezone
            group = schedule.group(chat) if chat is not None else None
            quiet = schedule.quiet(group) if group is not None else schedule.default_quiet
            for moment in entry.rule.times(zone, now, until):
                if schedule.skips(entry, moment, zone):
                    continue
                release = release_time(moment, zone, quiet, defer=entry.defer_in_quiet_hours)
                if release is not None:
                    planned.append(Planned(entry.id, entry.kind.value, chat, release, zone, entry.id in paused))
            if len(planned) > PREVIEW_LIMIT * 4:
                break
    planned.sort(key=lambda post: (post.at, post.entry_id, post.chat.external_id if post.chat else ""))
    return planned[:limit] if limit is not None else planned
