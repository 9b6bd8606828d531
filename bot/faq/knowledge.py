"""The FAQ knowledge base: one entry per catalogue topic (bot/faq/topics.toml, ids fixed), in zh-CN
and en, shipped in bot/faq/kb/*.toml; an operator's own file may add entries or override fields.

Problems are reported all at once, naming the file, the entry and the field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.members.profiles import STAGES

DATA = Path(__file__).parent
LANGUAGES = ("zh-CN", "en")
ANSWER_MAX = {"zh-CN": 700, "en": 1400}  # about 600 Chinese characters, with room for the bot's own lines
# A topic id travels in a "did you mean" button as "faq:<id>", and a button's data is at most 64 bytes.
BUTTON_DATA_MAX = 64
BUTTON_PREFIX = "faq:"
TOPIC_ID_MAX = BUTTON_DATA_MAX - len(BUTTON_PREFIX)


class KnowledgeError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Topic:
    id: str
    title: Mapping[str, str]
    answer: Mapping[str, str]  # empty for live topics
    questions: Mapping[str, tuple[str, ...]]
    keywords: Mapping[str, tuple[str, ...]]
    stages: frozenset[str] = frozenset()
    doctor: Mapping[str, str] = field(default_factory=dict)
    source: Mapping[str, str] = field(default_factory=dict)
    live: bool = False  # answered from the live configuration (points, rules)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _PerLanguage(_Model):
    zh_CN: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)


class _PerLanguageList(_Model):
    zh_CN: list[str] = Field(alias="zh-CN", min_length=1)
    en: list[str] = Field(min_length=1)


class _Entry(_Model):
    id: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    live: bool = False
    stages: list[str] = []
    keywords: _PerLanguageList | None = None
    questions: _PerLanguageList | None = None
    answer: _PerLanguage | None = None
    doctor: _PerLanguage | None = None
    source: _PerLanguage | None = None


def catalogue() -> dict[str, dict[str, str]]:
    """Topic id -> {"zh-CN": title, "en": title}, in catalogue order."""
    topics = tomllib.loads((DATA / "topics.toml").read_text(encoding="utf-8"))["topic"]
    return {topic["id"]: {"zh-CN": topic["zh"], "en": topic["en"]} for topic in topics}


def _pairs(model: _PerLanguage | None) -> dict[str, str]:
    return {"zh-CN": model.zh_CN, "en": model.en} if model else {}


def _lists(model: _PerLanguageList | None) -> dict[str, tuple[str, ...]]:
    return {"zh-CN": tuple(model.zh_CN), "en": tuple(model.en)} if model else {}


def _read(path: Path) -> tuple[list[tuple[int | None, _Entry]], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        return [], [f"{path}: file not found"]
    except tomllib.TOMLDecodeError as exc:
        return [], [f"{path}: not valid TOML: {exc}"]
    starts = [n for n, line in enumerate(text.splitlines(), start=1) if line.strip().startswith("[[entry]]")]
    entries, problems = [], []
    for index, raw in enumerate(data.get("entry", [])):
        line = starts[index] if index < len(starts) else None
        label = f"entry {raw.get('id')!r}" if isinstance(raw, dict) and raw.get("id") else f"entry {index + 1}"
        try:
            entries.append((line, _Entry(**raw)))
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                problems.append(f"{path}:{line or '?'}: {label}: {where}: {error['msg'].lower()}")
    if not data.get("entry"):
        problems.append(f"{path}: no [[entry]] tables")
    return entries, problems


def _check(path: Path, line: int | None, entry: _Entry, topic: Topic) -> list[str]:
    where = f"{path}:{line or '?'}: entry {entry.id!r}"
    problems = []
    if len(entry.id.encode()) > TOPIC_ID_MAX:
        problems.append(
            f"{where}: id: is {len(entry.id.encode())} characters; at most {TOPIC_ID_MAX} "
            f"(it travels in a button as {BUTTON_PREFIX}<id>, and Telegram allows {BUTTON_DATA_MAX} bytes)"
        )
    for stage in topic.stages - set(STAGES):
        problems.append(f"{where}: stages: unknown stage {stage!r} (stages: {', '.join(STAGES)})")
    if not topic.questions or not all(topic.questions.get(language) for language in LANGUAGES):
        problems.append(f"{where}: questions: needs phrasings in zh-CN and en")
    if not topic.live:
        for language in LANGUAGES:
            text = topic.answer.get(language, "")
            if not text:
                problems.append(f"{where}: answer: needs a {language} answer")
            elif len(text) > ANSWER_MAX[language]:
                problems.append(f"{where}: answer: {language} is {len(text)} characters; at most {ANSWER_MAX[language]}")
    return problems


def load(extra: str | Path | None = None, *, directory: Path = DATA / "kb") -> dict[str, Topic]:
    """The built-in entries, then the operator's file (new topics, or fields that replace built-in ones)."""
    titles = catalogue()
    topics: dict[str, Topic] = {}
    problems: list[str] = []
    sources = sorted(directory.glob("*.toml")) + ([Path(extra)] if extra else [])
    for path in sources:
        entries, found = _read(path)
        problems += found
        own = path.parent != directory
        for line, entry in entries:
            old = topics.get(entry.id)
            if old is not None and not own:
                problems.append(f"{path}:{line or '?'}: entry {entry.id!r}: id: defined twice in the built-in knowledge base")
                continue
            base = old or Topic(entry.id, titles.get(entry.id, {}), {}, {}, {})
            given = entry.model_fields_set
            topic = replace(
                base,
                title=base.title or {language: (_lists(entry.questions).get(language) or ("",))[0] for language in LANGUAGES},
                answer=_pairs(entry.answer) if "answer" in given else base.answer,
                questions=_lists(entry.questions) if "questions" in given else base.questions,
                keywords=_lists(entry.keywords) if "keywords" in given else base.keywords,
                stages=frozenset(entry.stages) if "stages" in given else base.stages,
                doctor=_pairs(entry.doctor) if "doctor" in given else base.doctor,
                source=_pairs(entry.source) if "source" in given else base.source,
                live=entry.live if "live" in given else base.live,
            )
            problems += _check(path, line, entry, topic)
            topics[entry.id] = topic
    missing = [topic_id for topic_id in titles if topic_id not in topics]
    if missing:
        problems.append(f"{directory}: no entry for catalogue topics: {', '.join(missing)}")
    if problems:
        raise KnowledgeError(problems)
    return topics

