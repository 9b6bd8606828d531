"""Moderation's pure parts: durations, the ladder, the filters' memory, and its configuration errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import pytest

from bot.config import ConfigError, load_settings
from bot.domain import ChatRef, UserRef
from bot.moderation.durations import format_duration, parse_duration
from bot.moderation.guard import Guard, GuardPolicy, Incoming
from bot.moderation.moderation import Policy, Step
from tests.unit.test_config import write

CHAT, OTHER, THIRD = (ChatRef("telegram", str(n)) for n in (-1, -2, -3))
MAMA = UserRef("telegram", "7")
T0 = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10m", timedelta(minutes=10)), ("2h", timedelta(hours=2)), ("1d", timedelta(days=1)), ("1h30m", timedelta(minutes=90)),
     ("30 分钟", timedelta(minutes=30)), ("2天", timedelta(days=2)), ("1w", timedelta(weeks=1)), ("5", None), ("0m", None),
     ("ten minutes", None), ("", None), ("2h spam", None)],
)  # fmt: skip
def test_durations_are_read_as_moderators_type_them(text, expected):
    assert parse_duration(text) == expected


def test_durations_print_back_short():
    assert format_duration(timedelta(days=1)) == "1d"
    assert format_duration(timedelta(hours=25, minutes=30)) == "1d1h30m"


def test_the_ladder_takes_the_highest_step_reached():
    policy = Policy((Step(3, "mute", timedelta(days=1)), Step(5, "remove")), timedelta(days=30), timedelta(hours=1))
    assert [policy.step_for(n) and policy.step_for(n).action for n in range(1, 7)] == [None, None, "mute", "mute", "remove", "remove"]  # type: ignore[union-attr]


def message(chat: ChatRef, at: datetime, text: str, number: int = 1) -> Incoming:
    return Incoming(chat, MAMA, str(number), at, text)


def test_a_flood_is_one_hit_with_the_earlier_messages():
    guard = Guard(lambda chat: GuardPolicy(flood_messages=3, flood_seconds=10))
    hits = [guard.check(message(CHAT, T0 + timedelta(seconds=n), f"hi {n}", n)) for n in range(5)]
    assert hits[:3] == [None, None, None]
    assert hits[3] is not None and hits[3].filter == "flood" and [m for _, m in hits[3].others] == ["0", "1", "2"]
    assert hits[4] is None  # counting starts again


def test_commands_do_not_count_towards_a_flood():
    guard = Guard(lambda chat: GuardPolicy(flood_messages=2, flood_seconds=10))
    assert all(guard.check(message(CHAT, T0, "/checkin", n)) is None for n in range(5))


def test_a_crosspost_needs_enough_groups_within_the_window():
    guard = Guard(lambda chat: GuardPolicy(crosspost_groups=3, crosspost_minutes=10))
    text = "Hello mums, see my profile for offers"
    assert guard.check(message(CHAT, T0, text, 1)) is None
    assert guard.check(message(OTHER, T0 + timedelta(minutes=2), text, 2)) is None
    hit = guard.check(message(THIRD, T0 + timedelta(minutes=4), text, 3))
    assert hit is not None and hit.filter == "crosspost" and set(hit.others) == {(CHAT, "1"), (OTHER, "2")}
    later = Guard(lambda chat: GuardPolicy(crosspost_groups=2, crosspost_minutes=10))
    assert later.check(message(CHAT, T0, text)) is None
    assert later.check(message(OTHER, T0 + timedelta(minutes=11), text)) is None


def test_newcomers_are_limited_only_for_their_first_hours():
    guard = Guard(lambda chat: GuardPolicy(newcomer_hours=24))
    guard.joined(CHAT, MAMA, T0)
    link = "看看 https://www.zhihu.com/question/1"
    hit = guard.check(message(CHAT, T0 + timedelta(hours=1), link))
    assert hit is not None and (hit.filter, hit.action) == ("newcomer", "delete")
    assert guard.check(message(OTHER, T0 + timedelta(hours=1), link)) is None  # joined only CHAT
    assert guard.check(message(CHAT, T0 + timedelta(hours=25), link)) is None


def test_a_bad_duration_names_the_key_and_line(tmp_path):
    path = write(tmp_path, '[moderation]\nwarning_days = 30\ndefault_mute = "forever"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert error.value.problems == [
        f'{path}: [moderation].default_mute: not a duration: \'forever\' (use e.g. "10m", "2h", "1d") (line 3)'
    ]


def test_a_bad_group_override_names_the_group_and_filter(tmp_path):
    path = write(tmp_path, '[moderation.groups."-1001".flood]\nmessages = 1\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    [problem] = error.value.problems
    assert problem.startswith(f"{path}: [moderation].groups: group -1001: flood.messages: must be >= 2 (got 1)")


def test_ladder_steps_must_increase(tmp_path):
    path = write(tmp_path, '[moderation]\nladder = [{ warnings = 3, action = "mute" }, { warnings = 2, action = "remove" }]\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert "ladder steps must have increasing, distinct warning counts (got [3, 2])" in error.value.problems[0]


def test_a_captcha_answer_index_must_exist(tmp_path):
    path = write(
        tmp_path,
        '[[moderation.welcome.questions]]\nquestion = { zh-CN = "问", en = "Q" }\n'
        'answers = [{ zh-CN = "甲", en = "A" }, { zh-CN = "乙", en = "B" }]\ncorrect = 2\n',
    )
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert "correct must be an index into answers (0 to 1, got 2)" in error.value.problems[0]
