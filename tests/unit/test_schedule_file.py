"""The schedule file and the content banks: what loads, and what is refused with a precise message."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.cli import main
from bot.content.schedule import Kind, QuizItem, TextItem
from bot.members.profiles import STAGES
from bot.schedule_file import BANKS, BankLoader, ScheduleError, load_schedule

ROOT = Path(__file__).resolve().parents[2]
HEADER = 'tags = ["pregnancy", "0-1y"]\n[groups."-1001"]\ntags = ["pregnancy"]\n'


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "schedule.toml"
    path.write_text(header + body, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScheduleError) as caught:
        load_schedule(path)
    return caught.value.problems


def test_the_example_schedule_loads():
    schedule = load_schedule(ROOT / "schedule.example.toml")
    kinds = {entry.kind for entry in schedule.entries}
    assert kinds == set(Kind)
    assert schedule.grace.total_seconds() == 15 * 60
    assert str(schedule.default_quiet) == "22:00-07:00"


def test_the_built_in_banks_hold_the_promised_starter_content():
    banks = BankLoader(BANKS)
    tips, themes = banks.load("tips", "text"), banks.load("themes", "text")
    quizzes, polls = banks.load("quizzes", "quiz"), banks.load("polls", "poll")
    assert not any(isinstance(bank, list) for bank in (tips, themes, quizzes, polls)), "a built-in bank has problems"
    assert len(tips.items) >= 30 and len(themes.items) >= 12 and len(quizzes.items) >= 40 and len(polls.items) >= 10
    covered = set().union(*(item.stages for item in tips.items))
    assert covered >= set(STAGES) - {"child_3y_plus"}, "tips should cover every baby stage"
    for item in tips.items + themes.items:
        assert isinstance(item, TextItem) and set(item.text) == {"zh-CN", "en"}
    for quiz in quizzes.items:
        assert isinstance(quiz, QuizItem) and len(quiz.options["zh-CN"]) == 4 and set(quiz.explanation) == {"zh-CN", "en"}


def test_a_good_schedule_with_every_way_of_saying_when(tmp_path):
    path = write(
        tmp_path,
        """
[[entry]]
id = "a"
kind = "announcement"
cron = "30 8 * * *"
text = { zh-CN = "早上好", en = "Good morning" }
[[entry]]
id = "b"
kind = "tip"
daily = "08:30"
tags = ["pregnancy"]
bank = "tips"
stages = ["pregnant_late"]
[[entry]]
id = "c"
kind = "quiz"
weekly = "wed 20:00"
bank = "quizzes"
[[entry]]
id = "d"
kind = "leaderboard"
monthly = "1 10:00"
[[entry]]
id = "e"
kind = "announcement"
at = 2027-02-06T10:00:00
groups = [-1001]
text = { zh-CN = "春节快乐", en = "Happy Spring Festival" }
""",
    )
    schedule = load_schedule(path)
    assert [entry.id for entry in schedule.entries] == ["a", "b", "c", "d", "e"]
    assert schedule.entry("b").targets.tags == {"pregnancy"}
    assert schedule.entry("a").targets.everyone


def test_an_unknown_group_tag_is_named_with_file_entry_field_and_line(tmp_path):
    path = write(tmp_path, '\n[[entry]]\nid = "x"\nkind = "tip"\ndaily = "08:30"\ntags = ["toddlers"]\nbank = "tips"\n')
    [problem] = problems(path)
    assert problem.startswith(f"{path}:9: entry 'x': tags: unknown group tag 'toddlers'")


def test_an_invalid_cron_is_named(tmp_path):
    path = write(tmp_path, '\n[[entry]]\nid = "x"\nkind = "tip"\ncron = "99 8 * * *"\nbank = "tips"\n')
    [problem] = problems(path)
    assert f"{path}:8: entry 'x': cron: invalid cron expression '99 8 * * *'" in problem


def test_a_quiz_answer_out_of_range_is_named(tmp_path):
    path = write(
        tmp_path,
        """
[[entry]]
id = "q"
kind = "quiz"
daily = "20:00"
question = { zh-CN = "几个月加辅食？", en = "When do solids start?" }
options = { zh-CN = ["4 个月", "6 个月"], en = ["4 months", "6 months"] }
answer = 3
explanation = { zh-CN = "6 个月左右。", en = "Around 6 months." }
""",
    )
    [problem] = problems(path)
    assert problem == f"{path}:11: entry 'q': answer: there is no option 3 (the quiz has 2 options; 1 = the first)"


def test_an_empty_bank_is_named(tmp_path):
    (tmp_path / "my_tips.toml").write_text("# nothing yet\n", encoding="utf-8")
    path = write(tmp_path, '\n[[entry]]\nid = "t"\nkind = "tip"\ndaily = "08:30"\nbank = "my_tips.toml"\n')
    [problem] = problems(path)
    assert f"entry 't': bank: {tmp_path / 'my_tips.toml'}: the bank is empty" in problem
    assert problem.startswith(f"{path}:9:")


def test_telegram_limits_in_a_bank_quiz_are_named_with_the_item(tmp_path):
    long_question = "宝" * 301
    (tmp_path / "my_quiz.toml").write_text(
        f"""[[items]]
id = "long"
question = {{ zh-CN = "{long_question}", en = "Q?" }}
options = {{ zh-CN = ["甲", "乙"], en = ["A", "B"] }}
answer = 1
explanation = {{ zh-CN = "因为。", en = "Because." }}
""",
        encoding="utf-8",
    )
    path = write(tmp_path, '\n[[entry]]\nid = "q"\nkind = "quiz"\ndaily = "20:00"\nbank = "my_quiz.toml"\n')
    [problem] = problems(path)
    assert "my_quiz.toml:3: item 'long': question: zh-CN is 301 characters; Telegram allows 300" in problem


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path,
        """
[[entry]]
id = "a"
kind = "tip"
daily = "25:00"
bank = "tips"
[[entry]]
id = "a"
kind = "chat"
daily = "08:00"
[[entry]]
id = "c"
kind = "poll"
daily = "08:00"
text = { zh-CN = "你好", en = "Hello" }
""",
    )
    found = problems(path)
    assert any("entry 'a': daily: invalid time '25:00'" in p for p in found)
    assert any("entry 'a': kind: input should be 'topic', 'tip'" in p for p in found)
    assert any("entry 'c': text: a poll takes question and options" in p for p in found)


def test_group_settings_are_checked(tmp_path):
    path = write(
        tmp_path,
        "",
        header='tags = ["a"]\n[groups."-1001"]\ntags = ["b"]\ntimezone = "Mars/Olympus"\nquiet_hours = "22-7"\n',
    )
    found = problems(path)
    assert any("tags: unknown group tag 'b'" in p for p in found)
    assert any("timezone: unknown timezone 'Mars/Olympus'" in p for p in found)
    assert any("quiet_hours: invalid time" in p for p in found)


def test_cradle_schedule_check_prints_the_problems(tmp_path, capsys):
    path = write(tmp_path, '\n[[entry]]\nid = "x"\nkind = "tip"\ncron = "99 8 * * *"\nbank = "tips"\n')
    assert main(["schedule", "check", str(path)]) == 2
    assert "entry 'x': cron: invalid cron expression" in capsys.readouterr().err
    assert main(["schedule", "check", str(ROOT / "schedule.example.toml")]) == 0
    assert capsys.readouterr().out.startswith("OK:")


def test_cradle_schedule_preview_without_a_database_shows_community_times(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no config, no cradle.db here
    path = write(tmp_path, '\n[[entry]]\nid = "tip"\nkind = "tip"\ndaily = "08:30"\nbank = "tips"\n')
    assert main(["schedule", "preview", "--days", "3", "--file", str(path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if " tip " in line]
    assert len(lines) == 3
    assert all("08:30 Asia/Shanghai  every group  tip  tip  from bank tips" in line for line in lines)
    assert not (tmp_path / "cradle.db").exists()


def test_schedule_file_parses_as_plain_toml():
    # The example is documentation: keep it valid TOML for other tools too.
    tomllib.loads((ROOT / "schedule.example.toml").read_text(encoding="utf-8"))
