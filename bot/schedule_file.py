"""The operator's schedule file (schedule.toml) and content banks: read, check, turn into a Schedule.

Every problem is reported at once, one line each, naming the file, the line, the entry (or bank
item) and the field, e.g. ``schedule.toml:42: entry "wed-quiz": answer: there is no option 5 (4 options)``.
"""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config import Localised, error_message
from bot.content.schedule import (
    Bank,
    DrawRule,
    Entry,
    Group,
    Item,
    Kind,
    PollItem,
    QuizItem,
    Schedule,
    Targets,
    TextItem,
)
from bot.content.timing import BadRule, QuietHours, Rule, cron_rule, daily_rule, monthly_rule, weekly_rule
from bot.domain import ChatRef
from bot.members.profiles import STAGES

BANKS = Path(__file__).parent / "content" / "banks"
BUILT_IN_BANKS = {"tips": "tips.toml", "themes": "themes.toml", "quizzes": "quizzes.toml", "polls": "polls.toml"}
BUILT_IN_KINDS = {"tips": "text", "themes": "text", "quizzes": "quiz", "polls": "poll"}
PLATFORM = "telegram"
LANGUAGES = ("zh-CN", "en")

# Telegram's limits for polls (Bot API 9.x, as pinned through aiogram 3.2x-3.3x).
QUESTION_MAX, OPTION_MAX, OPTIONS_MIN, OPTIONS_MAX = 300, 100, 2, 12
EXPLANATION_MAX, EXPLANATION_LINE_BREAKS = 200, 2
OPEN_PERIOD_MIN, OPEN_PERIOD_MAX = timedelta(seconds=5), timedelta(seconds=2_628_000)
TEXT_MAX = 3500  # a post's own text; the bot's heading must still fit Telegram's 4096

Stage = Literal[STAGES]  # type: ignore[valid-type]
WHEN_FIELDS = ("cron", "daily", "weekly", "monthly", "at")
TEXT_KINDS = (Kind.TOPIC, Kind.TIP, Kind.ANNOUNCEMENT)


class ScheduleError(Exception):
    """The schedule cannot be used; ``problems`` holds one readable line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PerLanguageOptions(_Model):
    zh_CN: list[str] = Field(alias="zh-CN")
    en: list[str]


class GroupModel(_Model):
    tags: list[str] = []
    timezone: str | None = None
    quiet_hours: str | None = None  # None: the schedule's default; "" none


class EntryModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: Kind
    cron: str | None = None
    daily: str | None = None
    weekly: str | None = None
    monthly: str | None = None
    at: datetime | None = None
    groups: list[int] = []
    tags: list[str] = []
    text: Localised | None = None
    bank: str | None = None
    stages: list[Stage] = []  # type: ignore[valid-type]
    quiet: Literal["defer", "skip"] = "defer"
    skip_dates: list[date] = []
    close_after: str = "12h"
    question: Localised | None = None
    options: PerLanguageOptions | None = None
    answer: int | None = None
    explanation: Localised | None = None
    min_checkins: int = Field(default=20, ge=1)
    period_days: int = Field(default=30, ge=1, le=366)
    winners: int = Field(default=1, ge=1, le=50)
    prize: Localised | None = None
    period: Literal["week", "month", "all"] = "week"
    private_tips: bool = False


class ScheduleModel(_Model):
    tags: list[str] = []
    skip_dates: list[date] = []
    quiet_hours: str = "22:00-07:00"
    grace_minutes: int = Field(default=15, ge=0, le=24 * 60)
    groups: dict[str, GroupModel] = {}
    entry: list[dict[str, Any]] = []


class QuizModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    stages: list[Stage] = []  # type: ignore[valid-type]
    question: Localised
    options: PerLanguageOptions
    answer: int
    explanation: Localised


class PollModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    stages: list[Stage] = []  # type: ignore[valid-type]
    question: Localised
    options: PerLanguageOptions


class TextModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    stages: list[Stage] = []  # type: ignore[valid-type]
    zh_CN: str = Field(alias="zh-CN", min_length=1, max_length=TEXT_MAX)
    en: str = Field(min_length=1, max_length=TEXT_MAX)


def _options(value: PerLanguageOptions) -> dict[str, tuple[str, ...]]:
    return {"zh-CN": tuple(value.zh_CN), "en": tuple(value.en)}


def poll_problems(question: Localised, options: PerLanguageOptions, answer: int | None, explanation: Localised | None, *, quiz: bool) -> list[tuple[str, str]]:
    """(field, problem) for everything Telegram would refuse in this poll or quiz."""
    problems = []
    for language, text in question.by_language().items():
        if len(text) > QUESTION_MAX:
            problems.append(("question", f"{language} is {len(text)} characters; Telegram allows {QUESTION_MAX}"))
    counts = {language: len(texts) for language, texts in _options(options).items()}
    for language, texts in _options(options).items():
        if not OPTIONS_MIN <= len(texts) <= OPTIONS_MAX:
            problems.append(("options", f"{language} has {len(texts)} options; Telegram needs {OPTIONS_MIN}-{OPTIONS_MAX}"))
        for number, text in enumerate(texts, start=1):
            if not 1 <= len(text.strip()) <= OPTION_MAX:
                problems.append(("options", f"{language} option {number} must be 1-{OPTION_MAX} characters (is {len(text)})"))
    if len(set(counts.values())) > 1:
        problems.append(("options", f"the languages have different numbers of options ({counts['zh-CN']} and {counts['en']})"))
    if quiz:
        size = min(counts.values())
        if answer is None:
            problems.append(("answer", "required: the number of the correct option (1 = the first)"))
        elif not 1 <= answer <= size:
            problems.append(("answer", f"there is no option {answer} (the quiz has {size} options; 1 = the first)"))
        if explanation is not None:
            for language, text in explanation.by_language().items():
                if len(text) > EXPLANATION_MAX:
                    problems.append(("explanation", f"{language} is {len(text)} characters; Telegram allows {EXPLANATION_MAX}"))
                if text.count("\n") > EXPLANATION_LINE_BREAKS:
                    problems.append(("explanation", f"{language} has more than {EXPLANATION_LINE_BREAKS} line breaks"))
    return problems


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if match is None:
        raise ValueError(f"invalid duration {text!r} (use e.g. 30m, 12h or 2d)")
    number, unit = int(match.group(1)), match.group(2)
    return timedelta(minutes=number) if unit == "m" else timedelta(hours=number) if unit == "h" else timedelta(days=number)


class _Lines:
    """Line numbers in a TOML text (tomllib keeps none): array-of-tables blocks and keys within them."""

    def __init__(self, text: str, array: str) -> None:
        self.lines = text.splitlines()
        self.starts = [number for number, line in enumerate(self.lines, start=1) if line.strip().startswith(f"[[{array}]]")]

    def block(self, index: int) -> int | None:
        return self.starts[index] if index < len(self.starts) else None

    def key(self, index: int, key: str) -> int | None:
        start = self.block(index)
        if start is None:
            return None
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.lines) + 1
        for number in range(start + 1, end):
            if re.match(rf'\s*"?{re.escape(key)}"?\s*[=.]', self.lines[number - 1]):
                return number
        return start

    def find(self, pattern: str) -> int | None:
        return next((n for n, line in enumerate(self.lines, start=1) if re.search(pattern, line)), None)


def _read_toml(path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScheduleError([f"{path}: file not found"]) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError([f"{path}: not valid TOML: {exc}"]) from None


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(entry)"


class BankLoader:
    """Reads each bank file once per schedule load, checking every item."""

    def __init__(self, base: Path) -> None:
        self._base = base
        self._loaded: dict[tuple[Path, str], Bank | list[str]] = {}

    def path(self, name: str) -> Path:
        return BANKS / BUILT_IN_BANKS[name] if name in BUILT_IN_BANKS else (self._base / name)

    def own_files(self) -> list[str]:
        return sorted({str(path) for path, _ in self._loaded if path.parent != BANKS})

    def load(self, name: str, kind: str) -> Bank | list[str]:
        """The bank, or its problems."""
        path = self.path(name)
        key = (path, kind)
        if key not in self._loaded:
            self._loaded[key] = self._read(name, path, kind)
        return self._loaded[key]

    def _read(self, name: str, path: Path, kind: str) -> Bank | list[str]:
        try:
            data, text = _read_toml(path)
        except ScheduleError as exc:
            return exc.problems
        lines = _Lines(text, "items")
        raw = data.get("items")
        if not isinstance(raw, list) or not raw:
            return [f"{path}: the bank is empty (add [[items]] tables)"]
        problems, items, seen = [], [], set()
        model = {"quiz": QuizModel, "poll": PollModel}.get(kind, TextModel)
        for index, table in enumerate(raw):
            label = f"item {table.get('id')!r}" if isinstance(table, dict) and table.get("id") else f"item {index + 1}"
            try:
                item = model(**table)
            except ValidationError as exc:
                for error in exc.errors():
                    field = str(error["loc"][0]) if error["loc"] else ""
                    problems.append(f"{path}:{lines.key(index, field) or '?'}: {label}: {_field(error['loc'])}: {error_message(error)}")
                continue
            if item.id in seen:
                problems.append(f"{path}:{lines.key(index, 'id')}: {label}: id: used twice in this bank")
            seen.add(item.id)
            if isinstance(item, (QuizModel, PollModel)):
                found = poll_problems(
                    item.question, item.options, getattr(item, "answer", None), getattr(item, "explanation", None),
                    quiz=isinstance(item, QuizModel),
                )
                problems += [f"{path}:{lines.key(index, field)}: {label}: {field}: {problem}" for field, problem in found]
            items.append(_item(item))
        return problems or Bank(name, tuple(items))


def _item(model: QuizModel | PollModel | TextModel) -> Item:
    stages = frozenset(model.stages)
    if isinstance(model, QuizModel):
        return QuizItem(model.id, model.question.by_language(), _options(model.options), model.answer - 1, model.explanation.by_language(), stages)
    if isinstance(model, PollModel):
        return PollItem(model.id, model.question.by_language(), _options(model.options), stages)
    return TextItem(model.id, {"zh-CN": model.zh_CN, "en": model.en}, stages)


def load_schedule(path: str | Path) -> Schedule:
    """Read and check the whole schedule; raises ScheduleError listing every problem."""
    path = Path(path)
    data, text = _read_toml(path)
    try:
        model = ScheduleModel(**data)
    except ValidationError as exc:
        raise ScheduleError([f"{path}: {_field(error['loc'])}: {error_message(error)}" for error in exc.errors()]) from None
    lines = _Lines(text, "entry")
    problems: list[str] = []
    declared = set(model.tags)

    try:
        default_quiet = QuietHours.parse(model.quiet_hours)
    except BadRule as exc:
        line = lines.find(r"^\s*quiet_hours") or "?"
        problems.append(f"{path}:{line}: quiet_hours: {exc}")
        default_quiet = None

    groups: dict[ChatRef, Group] = {}
    for key, group in model.groups.items():
        where = f"{path}:{lines.find(re.escape(key)) or '?'}: [groups.\"{key}\"]"
        if not re.fullmatch(r"-?\d+", key):
            problems.append(f"{where}: the key must be the group's chat id, e.g. \"-1001234567890\"")
            continue
        for tag in group.tags:
            if tag not in declared:
                problems.append(f"{where}: tags: unknown group tag {tag!r} (declare it in the top-level tags list)")
        if group.timezone is not None and not _zone_ok(group.timezone):
            problems.append(f"{where}: timezone: unknown timezone {group.timezone!r} (use an IANA name such as Asia/Shanghai)")
        quiet = None
        if group.quiet_hours is not None:
            try:
                quiet = QuietHours.parse(group.quiet_hours)
            except BadRule as exc:
                problems.append(f"{where}: quiet_hours: {exc}")
        chat = ChatRef(PLATFORM, key)
        groups[chat] = Group(chat, frozenset(group.tags), group.timezone, quiet, group.quiet_hours is not None)

    banks = BankLoader(path.parent)
    entries: list[Entry] = []
    seen: set[str] = set()
    for index, raw in enumerate(model.entry):
        entry_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        label = f"entry {entry_id!r}" if entry_id else f"entry {index + 1}"

        def report(field: str, problem: str, *, _index: int = index, _label: str = label) -> None:
            problems.append(f"{path}:{lines.key(_index, field.split('.')[0]) or '?'}: {_label}: {field}: {problem}")

        try:
            entry_model = EntryModel(**raw)
        except ValidationError as exc:
            for error in exc.errors():
                report(_field(error["loc"]), error_message(error))
            continue
        if entry_model.id in seen:
            report("id", "used twice in this schedule")
        seen.add(entry_model.id)
        entry = _entry(entry_model, declared, groups, banks, report)
        if entry is not None:
            entries.append(entry)

    if problems:
        raise ScheduleError(problems)
    tips = banks.load("tips", "text")
    return Schedule(
        entries=tuple(entries),
        groups=groups,
        default_quiet=default_quiet,
        grace=timedelta(minutes=model.grace_minutes),
        skip_dates=frozenset(model.skip_dates),
        tips=tips if isinstance(tips, Bank) else None,
        sources=(str(path), *banks.own_files()),
    )


def _zone_ok(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _rule(model: EntryModel, report: Callable[[str, str], None]) -> tuple[Rule, str] | None:
    given = [name for name in WHEN_FIELDS if getattr(model, name) is not None]
    if len(given) != 1:
        report("when", f"give exactly one of {', '.join(WHEN_FIELDS)} (found {', '.join(given) or 'none'})")
        return None
    name = given[0]
    value = getattr(model, name)
    try:
        if name == "at":
            if value.tzinfo is not None:
                raise BadRule("write a local date and time without an offset, e.g. 2027-02-16T09:00 (the group's timezone applies)")
            return Rule(at=value), f"at {value:%Y-%m-%d %H:%M}"
        build = {"cron": cron_rule, "daily": daily_rule, "weekly": weekly_rule, "monthly": monthly_rule}[name]
        return build(value), f"{name} {value}"
    except BadRule as exc:
        report(name, str(exc))
        return None


def _entry(
    model: EntryModel,
    declared: set[str],
    groups: dict[ChatRef, Group],
    banks: BankLoader,
    report: Callable[[str, str], None],
) -> Entry | None:
    before = _Counter(report)
    rule = _rule(model, before)
    for tag in model.tags:
        if tag not in declared:
            before("tags", f"unknown group tag {tag!r} (tags: {', '.join(sorted(declared)) or 'none declared'})")
    for chat_id in model.groups:
        if ChatRef(PLATFORM, str(chat_id)) not in groups:
            before("groups", f"group {chat_id} is not listed under [groups]")
    try:
        close_after = parse_duration(model.close_after)
        if model.kind in (Kind.QUIZ, Kind.POLL) and not OPEN_PERIOD_MIN <= close_after <= OPEN_PERIOD_MAX:
            before("close_after", "must be between 1m and 30d (Telegram closes polls within 30 days)")
    except ValueError as exc:
        before("close_after", str(exc))
        close_after = timedelta(hours=12)

    content = _content(model, banks, before)
    if before.count or rule is None:
        return None
    inline_text, quiz, poll, bank = content
    return Entry(
        id=model.id,
        kind=model.kind,
        rule=rule[0],
        when=rule[1],
        targets=Targets(
            everyone=not model.groups and not model.tags,
            chats=frozenset(ChatRef(PLATFORM, str(chat_id)) for chat_id in model.groups),
            tags=frozenset(model.tags),
        ),
        text=inline_text,
        quiz=quiz,
        poll=poll,
        bank=bank,
        stages=frozenset(model.stages),
        defer_in_quiet_hours=model.quiet == "defer",
        skip_dates=frozenset(model.skip_dates),
        close_after=close_after,
        draw=DrawRule(model.min_checkins, model.period_days, model.winners, model.prize.by_language() if model.prize else {})
        if model.kind is Kind.DRAW
        else None,
        period=model.period,
        private_tips=model.private_tips,
    )


class _Counter:
    def __init__(self, report: Callable[[str, str], None]) -> None:
        self._report = report
        self.count = 0

    def __call__(self, field: str, problem: str) -> None:
        self.count += 1
        self._report(field, problem)


def _content(
    model: EntryModel, banks: BankLoader, report: Callable[[str, str], None]
) -> tuple[dict[str, str] | None, QuizItem | None, PollItem | None, Bank | None]:
    kind = model.kind
    inline_poll = model.question is not None or model.options is not None
    if kind in (Kind.QUIZ, Kind.POLL):
        if model.text is not None:
            report("text", f"a {kind} takes question and options (or a bank), not text")
        if inline_poll == (model.bank is not None):
            report("bank", f"give a {kind} either a bank or an inline question and options")
            return None, None, None, None
        if inline_poll:
            if model.question is None or model.options is None:
                report("question" if model.question is None else "options", "required for an inline " + kind)
                return None, None, None, None
            if kind is Kind.QUIZ and model.explanation is None:
                report("explanation", "required: one line shown after answering (up to 200 characters)")
            for field, problem in poll_problems(model.question, model.options, model.answer, model.explanation, quiz=kind is Kind.QUIZ):
                report(field, problem)
            if kind is Kind.QUIZ:
                explanation = model.explanation.by_language() if model.explanation else {}
                return None, QuizItem(model.id, model.question.by_language(), _options(model.options), (model.answer or 1) - 1, explanation), None, None
            return None, None, PollItem(model.id, model.question.by_language(), _options(model.options)), None
        return None, None, None, _bank(model, banks, kind.value, report)
    if inline_poll or model.answer is not None:
        report("question", f"only a quiz or a poll takes question, options and answer (this is a {kind})")
    if kind in TEXT_KINDS:
        if (model.text is None) == (model.bank is None):
            report("text", f"give a {kind} either an inline text = {{ zh-CN = \"…\", en = \"…\" }} or a bank")
            return None, None, None, None
        if model.text is not None:
            for language, text in model.text.by_language().items():
                if len(text) > TEXT_MAX:
                    report("text", f"{language} is {len(text)} characters; at most {TEXT_MAX}")
            return model.text.by_language(), None, None, None
        return None, None, None, _bank(model, banks, "text", report)
    if model.text is not None or model.bank is not None:
        report("text" if model.text is not None else "bank", f"a {kind} post is written by the bot; remove this field")
    return None, None, None, None


def _bank(model: EntryModel, banks: BankLoader, kind: str, report: Callable[[str, str], None]) -> Bank | None:
    assert model.bank is not None
    if model.bank not in BUILT_IN_BANKS and not banks.path(model.bank).exists():
        report("bank", f"no bank {model.bank!r}: use {', '.join(BUILT_IN_BANKS)} or a file path relative to the schedule")
        return None
    if BUILT_IN_KINDS.get(model.bank, kind) != kind:
        report("bank", f"the built-in bank {model.bank!r} does not hold {model.kind} content")
        return None
    loaded = banks.load(model.bank, kind)
    if isinstance(loaded, list):
        for problem in loaded:
            report("bank", problem)
        return None
    stages = frozenset(model.stages)
    if stages and not any(not item.stages or item.stages & stages for item in loaded.items):
        report("stages", f"no item in bank {model.bank!r} is for stages {', '.join(sorted(stages))}")
        return None
    return loaded
