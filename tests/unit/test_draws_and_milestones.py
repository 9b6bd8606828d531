import hashlib
from datetime import date

from bot.engagement.draws import draw, list_digest, seed_text
from bot.engagement.milestones import milestone


def test_a_draw_can_be_recomputed_from_what_was_published():
    ids = ["101", "102", "103", "104", "105"]
    result = draw(ids, "-1001", "77", date(2026, 12, 1), winners=2)
    # What a member does by hand with the announcement and sha256sum:
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    seed = hashlib.sha256(f"-1001:77:2026-12-01:{digest}".encode()).hexdigest()
    remaining = list(range(5))
    expected = []
    for k in range(2):
        expected.append(remaining.pop(int(hashlib.sha256(f"{seed}:{k}".encode()).hexdigest(), 16) % len(remaining)))
    assert result.digest == digest == list_digest(ids)
    assert result.seed == seed
    assert seed_text("-1001", "77", date(2026, 12, 1), digest) == f"-1001:77:2026-12-01:{digest}"
    assert result.winners == tuple(expected)
    assert len(set(result.winners)) == 2


def test_a_different_announcement_gives_an_independent_draw():
    ids = [str(n) for n in range(100)]
    picks = {draw(ids, "-1001", str(message), date(2026, 12, 1), 1).winners for message in range(50)}
    assert len(picks) > 20  # the message id really feeds the choice


def test_more_winners_than_members_draws_everyone_once():
    assert sorted(draw(["1", "2"], "-1", "5", date(2026, 1, 1), 5).winners) == [0, 1]


def test_milestones_hundredth_day_and_birthdays():
    born = date(2026, 8, 16)
    assert milestone(born, date(2026, 11, 23)) == ("hundred_days", 100)
    assert milestone(born, date(2026, 11, 24)) is None
    assert milestone(born, date(2027, 8, 16)) == ("birthday", 1)
    assert milestone(born, date(2026, 8, 16)) is None  # the day of birth itself


def test_a_leap_day_baby_celebrates_on_the_28th():
    assert milestone(date(2024, 2, 29), date(2025, 2, 28)) == ("birthday", 1)
    assert milestone(date(2024, 2, 29), date(2028, 2, 28)) is None
    assert milestone(date(2024, 2, 29), date(2028, 2, 29)) == ("birthday", 4)
