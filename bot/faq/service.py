"""Parenting questions: the best answer for /ask, a quiet judgement for group chat, and emergencies.

- /ask (and a question in private) always gets the best answer and up to two "did you mean" topics.
- In a group (passive mode), only a message that looks like a question and matches confidently is
  answered; the same topic is not answered twice within the cooldown (a pointer to the earlier answer
  instead).
- A message describing an emergency gets the emergency reply at once, whatever the mode or cooldown,
  and the moderators are alerted (the adapter does both).
- Questions without a confident answer are kept (for a limited time) so operators see content gaps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.ports import Clock, Gap, UnitOfWorkFactory
from bot.domain import ChatRef
from bot.faq.knowledge import Topic
from bot.faq.matcher import Match, Matcher, answered_unasked, looks_like_question
from bot.faq.urgent import RedFlag, detect
from bot.i18n import Translator, pick

SIGNATURE_MAX = 200  # characters of an unanswered question kept
GAP_SCORE = 0.3  # below this a group question is not about parenting at all, and is not kept


class Outcome(StrEnum):
    ANSWER = "answer"
    REPEAT = "repeat"  # answered recently in this group: point to it
    URGENT = "urgent"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Reply:
    outcome: Outcome
    text: str = ""
    topic: str | None = None
    alternatives: tuple[tuple[str, str], ...] = ()  # (topic id, title) for "did you mean"
    earlier_message: str | None = None  # REPEAT: the earlier answer's message id
    red_flag: RedFlag | None = None


class FaqService:
    def __init__(
        self,
        topics: Mapping[str, Topic],
        matcher: Matcher,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        live_answers: Mapping[str, Callable[[Translator], str]],
        *,
        emergency_number: str = "120",
        cooldown: timedelta = timedelta(minutes=10),
        keep_unanswered: timedelta = timedelta(days=30),
    ) -> None:
        self.topics = topics
        self._matcher = matcher
        self._uow_factory = uow_factory
        self._clock = clock
        self._live = live_answers
        self._emergency_number = emergency_number
        self._cooldown = cooldown
        self._keep = keep_unanswered
        self._recent: dict[tuple[ChatRef, str], tuple[datetime, str | None]] = {}
        self._gaps: list[Gap] = []

    async def ask(self, text: str, t: Translator, *, stage: str | None = None, chat: ChatRef | None = None) -> Reply:
        """An explicit question: the emergency reply, or the best answer with alternatives."""
        flag = detect(text)
        if flag is not None:
            return Reply(Outcome.URGENT, self.emergency_text(flag, t), red_flag=flag)
        found = self._matcher.match(text, stage)
        if not found.confident:
            await self._remember_unanswered(text, t.language, found, chat)
        if found.topic is None:
            return Reply(Outcome.NONE, t("faq.no_answer"))
        alternatives = tuple((topic_id, self.title(topic_id, t)) for topic_id in found.alternatives)
        return Reply(Outcome.ANSWER, self.answer_text(found.topic, t), found.topic, alternatives)

    async def consider(self, text: str, t: Translator, chat: ChatRef, *, passive: bool) -> Reply:
        """A group message nobody addressed to the bot: emergencies always, confident questions if passive."""
        flag = detect(text)
        if flag is not None:
            return Reply(Outcome.URGENT, self.emergency_text(flag, t), red_flag=flag)
        if not passive or not looks_like_question(text):  # most chat is no question: skip the matcher
            return Reply(Outcome.NONE)
        found = self._matcher.match(text)
        if not answered_unasked(text, found) or found.topic is None:
            if found.score >= GAP_SCORE:  # a parenting question we could not answer, not "what's for dinner?"
                await self._remember_unanswered(text, t.language, found, chat)
            return Reply(Outcome.NONE)
        earlier = self._recent.get((chat, found.topic))
        now = self._clock.now()
        if earlier is not None and now - earlier[0] < self._cooldown:
            return Reply(Outcome.REPEAT, t("faq.answered_recently", title=self.title(found.topic, t)), found.topic, earlier_message=earlier[1])
        return Reply(Outcome.ANSWER, self.answer_text(found.topic, t), found.topic)

    def answered(self, chat: ChatRef, topic: str, message_id: str | None) -> None:
        """The adapter posted an answer: the cooldown starts, and a repeat can point to it."""
        self._recent[(chat, topic)] = (self._clock.now(), message_id)
        if len(self._recent) > 10_000:
            horizon = self._clock.now() - self._cooldown
            self._recent = {key: value for key, value in self._recent.items() if value[0] >= horizon}

    def title(self, topic_id: str, t: Translator) -> str:
        return pick(self.topics[topic_id].title, t.language, topic_id)

    def answer_text(self, topic_id: str, t: Translator) -> str:
        topic = self.topics[topic_id]
        body = self._live[topic_id](t) if topic.live and topic_id in self._live else pick(topic.answer, t.language, "")
        parts = [t("faq.heading", title=self.title(topic_id, t)), body.strip()]
        if topic.doctor:
            parts.append(t("faq.doctor", text=pick(topic.doctor, t.language, "")))
        if topic.source:
            parts.append(t("faq.source", source=pick(topic.source, t.language, "")))
        if not topic.live:
            parts.append(t("faq.disclaimer"))
        return "\n\n".join(part for part in parts if part)

    def emergency_text(self, flag: RedFlag, t: Translator) -> str:
        return t("faq.urgent", number=self._emergency_number, advice=t(f"faq.urgent_{flag.kind}", number=self._emergency_number))

    async def _remember_unanswered(self, text: str, language: str, found: Match, chat: ChatRef | None) -> None:
        # Kept in memory and written by flush_gaps() (every minute, and at shutdown): no transaction
        # per chat message. Losing the last minute's gaps in a crash costs nothing that matters.
        self._gaps.append(Gap(chat, language, text[:SIGNATURE_MAX], found.topic, found.score, self._clock.now()))

    async def flush_gaps(self) -> int:
        gaps, self._gaps = self._gaps, []
        if not gaps:
            return 0
        now = self._clock.now()
        try:
            async with self._uow_factory() as uow:
                await uow.faq.add_unanswered(gaps, forget_before=now - self._keep)
                await uow.commit()
        except Exception:
            self._gaps = gaps + self._gaps  # try again next time
            raise
        return len(gaps)

    async def unanswered(self, limit: int = 50) -> list[tuple[datetime, str, str | None, float]]:
        await self.flush_gaps()
        async with self._uow_factory(read_only=True) as uow:
            return await uow.faq.unanswered(self._clock.now() - self._keep, limit)
