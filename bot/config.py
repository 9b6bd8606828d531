"""Configuration: one TOML file mirrored by pydantic models, overridable by environment.

Errors name the file, the key path and the bad value, e.g.
``config.toml: [points].checkin: must be >= 0 (got -5)``.
"""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG_PATH = "config.toml"
CONFIG_ENV = "CRADLE_CONFIG"
LANGUAGES = ("zh-CN", "en")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookSettings(Section):
    url: str = ""
    secret: SecretStr = SecretStr("")
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    path: str = "/telegram/webhook"


class TelegramSettings(Section):
    token: SecretStr = SecretStr("")
    api_base: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookSettings = WebhookSettings()


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///cradle.db"
    echo: bool = False


class CommunitySettings(Section):
    name: str = "Cradle"
    timezone: str = "Asia/Shanghai"
    language: Literal["zh-CN", "en"] = "zh-CN"
    operators: list[int] = []
    admin_chat_id: int | None = None
    # When the community's day begins: parents feeding at 02:00 are still in yesterday.
    day_starts_at: time = time(4, 0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name such as Asia/Shanghai)") from None
        return value


class ThanksSettings(Section):
    # Points the thanked member gets when someone replies to her with thanks (0 turns this off).
    points: int = Field(default=2, ge=0)
    words: list[str] = ["谢谢", "感谢", "多谢", "有用", "有帮助", "thank", "thx", "helpful"]
    per_giver_per_day: int = Field(default=5, ge=0)
    per_pair_per_day: int = Field(default=1, ge=0)
    # Reactions that count as thanks (the bot must be a group admin to receive reactions).
    reactions: list[str] = ["👍", "❤", "🙏", "🥰", "👏", "💯"]


class SharesSettings(Section):
    # Points for a share: a photo or video with a caption, a link, or a long experience post (0 = off).
    points: int = Field(default=5, ge=0)
    daily_cap: int = Field(default=3, ge=0)
    # An experience post needs at least this many characters (spaces and punctuation not counted).
    min_post_length: int = Field(default=80, ge=1)
    # The same content posted again in the group within this many hours earns nothing.
    duplicate_window_hours: int = Field(default=24, ge=0)


class PointsSettings(Section):
    checkin: int = Field(default=10, ge=0)
    # One missed day is forgiven automatically once per this many days (0 = never).
    streak_freeze_every_days: int = Field(default=7, ge=0, le=365)
    # Extra points on the day a streak reaches N consecutive days: {N: bonus}.
    streak_bonus: dict[int, int] = {3: 2, 7: 5, 30: 10}
    thanks: ThanksSettings = ThanksSettings()
    shares: SharesSettings = SharesSettings()
    # Points for a correct answer to a scheduled quiz (the first answer counts).
    quiz_correct: int = Field(default=5, ge=0)
    # Points for the author of a post a moderator marks as featured (精华) with /feature.
    featured: int = Field(default=20, ge=0)
    # Pin featured posts in the group.
    pin_featured: bool = True

    @field_validator("streak_bonus")
    @classmethod
    def _positive_days_and_bonus(cls, value: dict[int, int]) -> dict[int, int]:
        for day, bonus in value.items():
            if day < 2:
                raise ValueError(f"streak day must be >= 2 (got {day})")
            if bonus < 0:
                raise ValueError(f"bonus for day {day} must be >= 0 (got {bonus})")
        return value


class Settings(BaseSettings):
    """The whole configuration. Environment overrides: CRADLE_<SECTION>__<KEY>."""

    model_config = SettingsConfigDict(
        env_prefix="CRADLE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    telegram: TelegramSettings = TelegramSettings()
    database: DatabaseSettings = DatabaseSettings()
    community: CommunitySettings = CommunitySettings()
    points: PointsSettings = PointsSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file (passed as init kwargs); no .env magic.
        return env_settings, init_settings


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` holds one readable line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def resolve_config_path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_settings(path: str | os.PathLike[str] | None = None, *, required: bool = False) -> Settings:
    """Read and validate the config file; a missing file means defaults unless ``required``."""
    file = resolve_config_path(path)
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{file}: not valid TOML: {exc}"]) from None
    elif required:
        raise ConfigError([f"{file}: file not found"])
    try:
        return Settings(**data)
    except ValidationError as exc:
        text = file.read_text(encoding="utf-8") if file.exists() else ""
        raise ConfigError([_describe(file, text, error) for error in exc.errors()]) from None


def _describe(file: Path, text: str, error: Any) -> str:
    loc = tuple(str(part) for part in error["loc"])
    line = _find_line(text, loc)
    where = f" (line {line})" if line else ""
    return f"{file}: {_key_path(loc)}: {_message(error)}{where}"


def _key_path(loc: tuple[str, ...]) -> str:
    """('points', 'checkin') -> '[points].checkin'; a bad top-level name is a section."""
    if len(loc) == 1:
        return f"[{loc[0]}]"
    return f"[{'.'.join(loc[:-1])}].{loc[-1]}"


def _find_line(text: str, loc: tuple[str, ...]) -> int | None:
    """Best-effort line number of a key in the TOML text (tomllib keeps no positions)."""
    section, key = ".".join(loc[:-1]), loc[-1]
    current = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]\s*(#.*)?", line)
        if header:
            current = header.group(1).replace('"', "")
            if len(loc) == 1 and current.split(".")[0] == key:
                return number
            if current == ".".join(loc):
                return number
            continue
        name = re.match(r'"?([A-Za-z0-9_-]+)"?\s*=', line)
        if name and name.group(1) == key and current == section:
            return number
    return None


def _message(error: Any) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden" and len(error["loc"]) == 1:
        return "unknown section (check the spelling against config.example.toml)"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against config.example.toml)"
    if kind == "missing":
        return "required"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        op = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()))
        return f"must be {op} {limit} (got {value!r})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')} (got {value!r})"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg'].lower()} (got {value!r})"
