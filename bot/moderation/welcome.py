"""New members: the greeting with the rules, the captcha, and the first day's limits.

A join is stored before anything is sent, so a restart does not forget a pending captcha: the
expiry pass (every few seconds) finds it by its deadline. A member who does not answer in time is
muted (the default, so a slow parent is not lost: moderators let her in from the log) or removed,
and the join message and the greeting are deleted.

The captcha's mute comes at the join itself (restricting is not paced like messages, so a raid's
accounts are muted at once), and is rolled back whenever the greeting with the button that lets her
out cannot be sent: she is never left muted without a way out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.ports import DONE, Clock, JoinRecord, NewAction, UnitOfWorkFactory
from bot.domain import ChatRef, UserRef
from bot.moderation.durations import restriction_until
from bot.moderation.guard import Guard
from bot.moderation.moderation import ModerationControls, ModerationService, Person

logger = logging.getLogger(__name__)

WRONG_ANSWERS_ALLOWED = 2  # the third wrong answer fails at once


@dataclass(frozen=True, slots=True)
class Question:
    text: dict[str, str]  # by language
    answers: tuple[dict[str, str], ...]
    correct: int


@dataclass(frozen=True, slots=True)
class WelcomePolicy:
    enabled: bool = True
    captcha: str = "button"  # button, question, off
    timeout: timedelta = timedelta(minutes=5)
    on_timeout: str = "mute"  # mute, remove
    questions: tuple[Question, ...] = ()
    newcomer: timedelta = timedelta(hours=24)  # text only for this long after joining


@dataclass(frozen=True, slots=True)
class Welcome:
    """What the adapter should post: a greeting, and a captcha when ``captcha`` is set."""

    join: JoinRecord
    captcha: str | None  # button, question, or None
    question: Question | None = None
    order: tuple[int, ...] = ()  # the question's answers in the order shown


@dataclass(frozen=True, slots=True)
class Answer:
    result: str  # passed, wrong, failed, not_yours, settled
    attempts_left: int = 0


class WelcomeService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        controls: ModerationControls,
        moderation: ModerationService,
        guard: Guard,
        policy: WelcomePolicy,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._controls = controls
        self._moderation = moderation
        self._guard = guard
        self.policy = policy
        self._rng = rng or random.Random()
        self._expiring = asyncio.Lock()  # one expiry pass at a time; close() waits for it
        self._closed = False
        self._greeting: set[tuple[ChatRef, UserRef]] = set()  # muted, greeting not sent yet (this process)

    async def joined(
        self, chat: ChatRef, person: Person, join_message_id: str | None, at: datetime, *, trusted: bool = False
    ) -> Welcome:
        """Record the join and apply the limits (a captcha's mute at once); the caller posts the greeting
        and calls ``posted`` with its message id, or None when it could not be sent (the mute is rolled back).

        ``trusted``: a moderator added her, or she is on the allow-list: no captcha and no first-day limits."""
        policy = self.policy
        self._controls.get(chat.platform)  # no control for this platform: fail before storing anything
        captcha = policy.captcha if policy.enabled and policy.captcha != "off" and not trusted else None
        question, order, answer = None, (), None
        if captcha == "question" and policy.questions:
            index = self._rng.randrange(len(policy.questions))
            question = policy.questions[index]
            order = tuple(self._rng.sample(range(len(question.answers)), len(question.answers)))
            answer = order.index(question.correct)
        elif captcha == "button":
            answer = 0
        join = JoinRecord(
            chat=chat, user=person.user, name=person.name, joined_at=at,
            status="verifying" if captcha else ("trusted" if trusted else "none"), join_message_id=join_message_id,
            question=policy.questions.index(question) if question is not None else None, answer=answer,
            deadline=self._clock.now() + policy.timeout if captcha else None,
        )  # fmt: skip
        async with self._uow() as uow:
            await uow.moderation.save_join(join)
            await uow.commit()
        if trusted:
            return Welcome(join, None)
        self._guard.joined(chat, person.user, at)
        if not captcha:  # the first day's limits end by themselves: nothing to wait for
            await self._newcomer_limits(join)
            return Welcome(join, None)
        self._greeting.add((chat, person.user))  # the expiry pass waits for her greeting (see expire)
        await self._mute_for_captcha(join)
        return Welcome(join, captcha, question, order)

    async def _mute_for_captcha(self, join: JoinRecord) -> None:
        """Mute her until she answers; if she was settled meanwhile (a quick answer, released before
        this mute landed), give her what the settlement gave her, so no mute outlives her captcha."""
        restricted = await self._controls.get(join.chat.platform).restrict(join.chat, join.user, None)
        if restricted != DONE:
            logger.warning("could not mute a new member for the captcha in %s: %s", join.chat.external_id, restricted)
            return
        async with self._uow(read_only=True) as uow:
            current = await uow.moderation.join(join.chat, join.user)
        if current is not None and current.status in ("passed", "none"):
            await self._let_in(current)

    async def posted(self, join: JoinRecord, welcome_message_id: str | None) -> None:
        """The greeting went out (``welcome_message_id``) or could not (None).

        Sent: her time to answer counts from now, the time the greeting tells her. Not sent: no button
        to press, so the captcha is settled as "none" and her mute reduced to the first day's limits."""
        try:
            if welcome_message_id is None:
                await self._no_greeting(join)
                return
            async with self._uow() as uow:
                # Hold her row (settling verifying -> verifying) so a quick answer cannot be overwritten.
                verifying = await uow.moderation.settle_join(join.chat, join.user, "verifying")
                current = await uow.moderation.join(join.chat, join.user) or join
                deadline = self._clock.now() + self.policy.timeout if verifying else current.deadline
                await uow.moderation.save_join(replace(current, welcome_message_id=welcome_message_id, deadline=deadline))
                await uow.commit()
        finally:
            self._greeting.discard((join.chat, join.user))

    def unsent(self, join: JoinRecord) -> None:
        """Her greeting will not be sent (the handler was cancelled or failed): the expiry pass lets her out."""
        self._greeting.discard((join.chat, join.user))

    async def _no_greeting(self, join: JoinRecord) -> None:
        if join.status != "verifying":
            return
        async with self._uow() as uow:
            settled = await uow.moderation.settle_join(join.chat, join.user, "none")
            await uow.commit()
        if settled:
            logger.warning("no greeting for a new member in %s: no captcha, first-day limits only", join.chat.external_id)
            await self._let_in(join)

    async def _let_in(self, join: JoinRecord) -> None:
        """The captcha is behind her: the first day's limits if any of her first day is left, else no limits."""
        if not await self._newcomer_limits(join):
            await self._controls.get(join.chat.platform).release(join.chat, join.user)

    async def _newcomer_limits(self, join: JoinRecord) -> bool:
        """Text only until her first ``newcomer`` hours are over, counted from the join; nothing (False)
        when (almost) over already, as a late-delivered join can be: an end in the past means forever."""
        if self.policy.newcomer <= timedelta(0):
            return False
        until = restriction_until(self._clock.now(), join.joined_at + self.policy.newcomer)
        if until is None:
            return False
        restricted = await self._controls.get(join.chat.platform).restrict(join.chat, join.user, until, text_only=True)
        if restricted != DONE:
            logger.warning("could not limit a new member in %s: %s", join.chat.external_id, restricted)
        return True

    async def answer(self, chat: ChatRef, user: UserRef, owner: UserRef, choice: int) -> Answer:
        """``user`` pressed button ``choice`` of ``owner``'s captcha."""
        if user != owner:
            return Answer("not_yours")
        async with self._uow() as uow:
            join = await uow.moderation.join(chat, user)
            if join is None or join.status != "verifying":
                return Answer("settled")
            right = choice == join.answer
            if right:
                passed = await uow.moderation.settle_join(chat, user, "passed")
            else:
                attempts = await uow.moderation.add_attempt(chat, user)
            await uow.commit()
        if not right:
            if attempts > WRONG_ANSWERS_ALLOWED:
                await self._fail(join)
                return Answer("failed")
            return Answer("wrong", WRONG_ANSWERS_ALLOWED + 1 - attempts)
        if not passed:
            return Answer("settled")
        await self._let_in(join)
        return Answer("passed")

    async def expire(self) -> list[JoinRecord]:
        """Settle the captchas whose time ran out; the ones this call settled."""
        async with self._expiring:
            if self._closed:
                return []
            async with self._uow(read_only=True) as uow:
                due = await uow.moderation.due_captchas(self._clock.now())
            settled = []
            for join in due:
                if join.welcome_message_id is None and (join.chat, join.user) in self._greeting:
                    continue  # her greeting is still waiting its turn here; its time starts when it is sent
                if await self._fail(join):
                    settled.append(join)
            return settled

    async def close(self) -> None:
        """Let a running expiry pass finish (shutting the scheduler down would cancel it halfway)."""
        async with self._expiring:
            self._closed = True

    async def load(self) -> None:
        """Give the filters the members still in their first day (after a restart)."""
        since = self._clock.now() - self.policy.newcomer
        async with self._uow(read_only=True) as uow:
            joins = await uow.moderation.joins_since(since)
        self._guard.load_joins((join.chat, join.user, join.joined_at) for join in joins if join.status not in ("failed", "trusted"))

    async def _fail(self, join: JoinRecord) -> bool:
        if join.welcome_message_id is None:  # no greeting went out (a crash in between): no way out, so let her in
            async with self._uow() as uow:
                settled = await uow.moderation.settle_join(join.chat, join.user, "none")
                await uow.commit()
            if settled:
                await self._let_in(join)
            return settled
        async with self._uow() as uow:
            failed = await uow.moderation.settle_join(join.chat, join.user, "failed")
            await uow.commit()
        if not failed:
            return False  # answered, or another instance got there first
        control = self._controls.get(join.chat.platform)
        for message_id in (join.join_message_id, join.welcome_message_id):
            if message_id is not None:
                await control.delete(join.chat, message_id)
        person = Person(join.user, join.name)
        if self.policy.on_timeout == "remove":
            await self._moderation.act("kick", join.chat, person, None, "captcha", filter="captcha")
        else:
            # Muted until a moderator lets her in (she already is, unless the bot lacked the right then);
            # not through act(), whose mutes always end.
            outcome = await control.restrict(join.chat, join.user, None)
            await self._moderation.record(
                NewAction(join.chat, person.user, person.name, None, "mute", "captcha", self._clock.now(), filter="captcha", outcome=outcome)
            )
        return True

