"""Quiz points, through the shared points desk, on SQLite and PostgreSQL."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.domain import ChatRef, MemberRef, UserRef
from bot.engagement.quiz_points import QuizAnswer, QuizPoints
from bot.points.points_desk import PointsDesk
from models.engine import make_engine
from models.storage import SqlStorage
from models.tables import LedgerEntry

CHAT = ChatRef("telegram", "-100")
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def member(user: str) -> MemberRef:
    return MemberRef(CHAT, UserRef("telegram", user))


async def test_a_correct_first_answer_pays_once_and_a_wrong_one_never(database_url):
    storage = SqlStorage(make_engine(database_url))
    try:
        quiz = QuizPoints(PointsDesk(storage.unit_of_work), points=5)
        answers = [
            QuizAnswer(member("1"), "quiz-7", True, AT),
            QuizAnswer(member("1"), "quiz-7", True, AT),  # the same answer delivered twice
            QuizAnswer(member("2"), "quiz-7", False, AT),
            QuizAnswer(member("3"), "quiz-7", True, AT),
        ]
        paid = await asyncio.gather(*(quiz.answer(answer) for answer in answers))
        assert paid == [True, False, False, True]
        assert await quiz.answer(QuizAnswer(member("1"), "quiz-8", True, AT))  # another quiz pays again
        async with storage.engine.connect() as connection:
            total = (await connection.execute(select(func.sum(LedgerEntry.delta)).where(LedgerEntry.reason == "quiz"))).scalar()
        assert total == 15
    finally:
        await storage.dispose()
