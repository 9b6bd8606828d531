from datetime import date

import pytest

from bot.domain import Profile
from bot.members.profiles import stage

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (Profile(), None),
        (Profile(trying_to_conceive=True), "ttc"),
        (Profile(due_date=date(2027, 7, 1)), "pregnant_early"),  # about 8 weeks
        (Profile(due_date=date(2027, 3, 20)), "pregnant_middle"),  # about 23 weeks
        (Profile(due_date=date(2026, 12, 20)), "pregnant_late"),  # about 36 weeks
        (Profile(due_date=date(2026, 11, 10)), "baby_0_3m"),  # due date passed: a newborn
        (Profile(birth_date=date(2026, 10, 1)), "baby_0_3m"),
        (Profile(birth_date=date(2026, 7, 1)), "baby_3_6m"),
        (Profile(birth_date=date(2026, 2, 1)), "baby_6_12m"),
        (Profile(birth_date=date(2024, 12, 1)), "toddler_1_3y"),
        (Profile(birth_date=date(2023, 11, 1)), "child_3y_plus"),
    ],
)
def test_stage_follows_the_date_given(profile, expected):
    assert stage(profile, TODAY) == expected


def test_three_months_start_on_the_monthly_birthday():
    born = Profile(birth_date=date(2026, 8, 24))
    assert stage(born, date(2026, 11, 23)) == "baby_0_3m"
    assert stage(born, date(2026, 11, 24)) == "baby_3_6m"
