"""Points for quiz answers: the scheduler (which knows each quiz's chat and right answer) calls this.

A member's first answer to a quiz is the one that counts, and a correct one pays once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.ports import LedgerEntry, UnitOfWork
from bot.domain import MemberRef
from bot.points import ledger
from bot.points.points_desk import PointsDesk

REASON = "quiz"


@dataclass(frozen=True, slots=True)
class QuizAnswer:
    member: MemberRef
    quiz_id: str
    correct: bool
    at: datetime


class QuizPoints:
    def __init__(self, desk: PointsDesk, points: int) -> None:
        self._points = points
        self._desk = desk
        desk.register(QuizAnswer, self._step)

    async def answer(self, answer: QuizAnswer) -> bool:
        """Record the answer; True when it paid (correct, first time)."""
        if not answer.correct or not self._points:
            return False
        return bool(await self._desk.submit(answer))

    async def _step(self, uow: UnitOfWork, answers: Sequence[QuizAnswer]) -> list[bool]:
        entries, keys = [], set()
        for answer in answers:
            key = quiz_key(answer)
            if key in keys:
                continue
            keys.add(key)
            entries.append(
                LedgerEntry(
                    member=answer.member,
                    delta=self._points,
                    reason=REASON,
                    reference=answer.quiz_id,
                    idempotency_key=key,
                    at=answer.at,
                )
            )
        paid = await ledger.post_many(uow, entries)
        results, counted = [], set()
        for answer in answers:
            key = quiz_key(answer)
            results.append(key in paid and key not in counted)
            counted.add(key)
        return results


def quiz_key(answer: QuizAnswer) -> str:
    member = answer.member
    return f"{REASON}:{answer.quiz_id}:{member.chat.platform}:{member.chat.external_id}:{member.user.external_id}"
