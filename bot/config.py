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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_CONFIG_PATH = "config.toml"
CONFIG_ENV = "CRADLE_CONFIG"
LANGUAGES = ("zh-CN", "en")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localised(Section):
    """A text in both languages the bot speaks."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    zh_CN: str = Field(alias="zh-CN", min_length=1)
    en: str = Field(min_length=1)

    def by_language(self) -> dict[str, str]:
        """{"zh-CN": ..., "en": ...}, the shape services take names and texts in."""
        return {"zh-CN": self.zh_CN, "en": self.en}


class WebhookSettings(Section):
    url: str = ""
    secret: SecretStr = SecretStr("")
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    path: str = "/telegram/webhook"


class LimitSettings(Section):
    """Telegram's send limits, paced by the outbound sender (bot/platforms/telegram/sender.py)."""

    per_second: float = Field(default=30, gt=0)
    per_group_per_minute: float = Field(default=20, gt=0)
    per_chat_per_second: float = Field(default=1, gt=0)
    chat_burst: int = Field(default=3, ge=1)
    retries: int = Field(default=4, ge=0, le=10)


class TelegramSettings(Section):
    token: SecretStr = SecretStr("")
    api_base: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookSettings = WebhookSettings()
    limits: LimitSettings = LimitSettings()


class FaqSettings(Section):
    # An operator's own entries (new topics, or fields replacing the built-in ones); "" for none.
    extra: str = ""
    # Answer questions in groups without /ask, when the bot is confident.
    passive: bool = True
    # The same topic is not answered again in a group within this many minutes (a link instead).
    cooldown_minutes: int = Field(default=10, ge=0, le=24 * 60)
    # The number the emergency reply tells members to call.
    emergency_number: str = "120"
    # Questions without a confident answer are kept (for content gaps) this many days.
    unanswered_days: int = Field(default=30, ge=1, le=365)


class ScheduleSettings(Section):
    # The schedule file (topics, tips, quizzes, polls, draws...), relative to the working directory.
    file: str = "schedule.toml"
    # How often the running bot looks for a changed schedule file (it also reloads on SIGHUP).
    reload_check_seconds: int = Field(default=5, ge=1, le=3600)


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
    # The group rules (社群公约), shown when members ask about them.
    rules: Localised = Localised(
        zh_CN="1. 友善交流，尊重每一位妈妈的选择。\n2. 不发广告、代购、二维码和拉人链接。\n3. 医疗问题仅供交流，身体不适请及时就医。\n4. 保护隐私，不转发群内照片和聊天记录。",
        en="1. Be kind and respect every parent's choices.\n2. No ads, reselling, QR codes or invitation links.\n3. Medical talk is for sharing only; see a doctor when unwell.\n4. Protect privacy: do not forward photos or chats from the group.",
    )

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
    # Points for taking part in an event (a moderator records it with /event NAME).
    event: int = Field(default=10, ge=0)
    # A member may start a streak pause (/profile pause, at most 14 days) once per this many days.
    pause_every_days: int = Field(default=60, ge=0, le=3650)

    @field_validator("streak_bonus")
    @classmethod
    def _positive_days_and_bonus(cls, value: dict[int, int]) -> dict[int, int]:
        for day, bonus in value.items():
            if day < 2:
                raise ValueError(f"streak day must be >= 2 (got {day})")
            if bonus < 0:
                raise ValueError(f"bonus for day {day} must be >= 0 (got {bonus})")
        return value


def _checked_ids(kind: str, table: dict[str, Any]) -> dict[str, Any]:
    """Ids members type (/redeem freeze) and operators reference: short, lowercase, no spaces."""
    for key in table:
        if not re.fullmatch(r"[a-z0-9_]{1,32}", key):
            raise ValueError(f"{kind} id {key!r} must be 1-32 lowercase letters, digits or _")
    return table


class TierLevel(Section):
    id: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    name: Localised
    # Points earned in the trailing window needed to hold this tier (the first tier must start at 0).
    threshold: int = Field(ge=0)
    # What the tier unlocks, shown in /me (shop items name their minimum tier themselves).
    perks: list[Localised] = []


def _tier(id: str, zh: str, en: str, threshold: int, perks: list[tuple[str, str]] = []) -> TierLevel:
    return TierLevel(
        id=id,
        name=Localised(zh_CN=zh, en=en),
        threshold=threshold,
        perks=[Localised(zh_CN=pz, en=pe) for pz, pe in perks],
    )


class TiersSettings(Section):
    # Tiers follow points earned in this many recent days, so members who stop taking part move down.
    window_days: int = Field(default=90, ge=7, le=3650)
    # Days of private notice before a demotion (only members who have started the bot can be told).
    warn_days_before: int = Field(default=7, ge=0, le=60)
    ladder: list[TierLevel] = [
        _tier("newcomer", "新手妈妈", "New mum", 0),
        _tier("active", "活跃妈妈", "Active mum", 100),
        _tier("senior", "资深妈妈", "Seasoned mum", 400, [("可兑换更多礼品", "More gifts in the shop")]),
        _tier(
            "gold",
            "金牌妈妈",
            "Gold mum",
            1000,
            [("优先参加新品试用", "First in line for product trials"), ("可兑换全部礼品", "Every gift in the shop")],
        ),
    ]

    @field_validator("ladder")
    @classmethod
    def _increasing_ladder(cls, ladder: list[TierLevel]) -> list[TierLevel]:
        if not ladder:
            raise ValueError("the ladder needs at least one tier")
        if ladder[0].threshold != 0:
            raise ValueError(f"the first tier ({ladder[0].id}) must have threshold 0 (got {ladder[0].threshold})")
        for lower, upper in zip(ladder, ladder[1:]):
            if upper.threshold <= lower.threshold:
                raise ValueError(
                    f"thresholds must increase: {upper.id} ({upper.threshold}) is not above {lower.id} ({lower.threshold})"
                )
        ids = [tier.id for tier in ladder]
        if len(set(ids)) != len(ids):
            raise ValueError(f"tier ids must be unique (got {ids})")
        return ladder


BadgeRule = Literal[
    "streak", "shares", "thanks_received", "quiz_correct", "monthly_top_contributor", "monthly_most_active", "manual"
]


class Badge(Section):
    # streak: a check-in streak of `count` days; shares / thanks_received / quiz_correct: `count` of them;
    # monthly_*: the group's leader of the past month; manual: granted by moderators with /badge.
    rule: BadgeRule
    count: int = Field(default=1, ge=1)
    name: Localised


def _badge(rule: BadgeRule, count: int, zh: str, en: str) -> Badge:
    return Badge(rule=rule, count=count, name=Localised(zh_CN=zh, en=en))


DEFAULT_BADGES = {
    "streak_7": _badge("streak", 7, "坚持打卡7天", "7-day streak"),
    "streak_30": _badge("streak", 30, "坚持打卡30天", "30-day streak"),
    "first_share": _badge("shares", 1, "第一次分享", "First share"),
    "helpful_10": _badge("thanks_received", 10, "热心妈妈", "Helpful mum"),
    "quiz_10": _badge("quiz_correct", 10, "答题达人", "Quiz whiz"),
    "top_contributor": _badge("monthly_top_contributor", 1, "优秀贡献者", "Top contributor"),
    "most_active": _badge("monthly_most_active", 1, "活跃分子", "Most active"),
    "helper": _badge("manual", 1, "暖心助手", "Kind helper"),
}


class BadgesSettings(Section):
    # Say in the group when a member earns a badge.
    announce: bool = True
    rules: dict[str, Badge] = DEFAULT_BADGES

    @field_validator("rules")
    @classmethod
    def _badge_ids(cls, rules: dict[str, Badge]) -> dict[str, Badge]:
        return _checked_ids("badge", rules)


class ShopItem(Section):
    name: Localised
    cost: int = Field(ge=1)
    # How many exist (omit for unlimited); per_member: how many one member may redeem (omit for no limit).
    stock: int | None = Field(default=None, ge=0)
    per_member: int | None = Field(default=None, ge=1)
    # The lowest tier (id from [tiers]) that may redeem it; omit for everyone.
    min_tier: str | None = None
    # gift: an order for an operator to fulfil; streak_freeze: a bought streak freeze, delivered at once.
    kind: Literal["gift", "streak_freeze"] = "gift"


def _item(zh: str, en: str, cost: int, **kwargs: Any) -> ShopItem:
    return ShopItem(name=Localised(zh_CN=zh, en=en), cost=cost, **kwargs)


DEFAULT_SHOP = {
    "freeze": _item("补签卡（保护连续打卡一天）", "Streak freeze (covers one missed day)", 30, kind="streak_freeze", per_member=5),
    "diapers": _item("纸尿裤试用装", "Diaper sample pack", 200, stock=50, per_member=1),
    "coupon50": _item("母婴店50元优惠券", "50 CNY baby-store coupon", 500, stock=20, per_member=1, min_tier="senior"),
}


class ShopSettings(Section):
    items: dict[str, ShopItem] = DEFAULT_SHOP

    @field_validator("items")
    @classmethod
    def _item_ids(cls, items: dict[str, ShopItem]) -> dict[str, ShopItem]:
        return _checked_ids("item", items)


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
    tiers: TiersSettings = TiersSettings()
    badges: BadgesSettings = BadgesSettings()
    shop: ShopSettings = ShopSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    faq: FaqSettings = FaqSettings()

    @model_validator(mode="after")
    def _shop_tiers_exist(self) -> Settings:
        tiers = [tier.id for tier in self.tiers.ladder]
        for item_id, item in self.shop.items.items():
            if item.min_tier is not None and item.min_tier not in tiers:
                raise ValueError(f"[shop.items.{item_id}].min_tier: unknown tier {item.min_tier!r} (tiers: {', '.join(tiers)})")
        return self

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
    message = error_message(error)
    if not loc:
        # Checks across sections name their key themselves: "[shop.items.x].min_tier: ...".
        named = re.match(r"\[([^\]]+)\]\.(\w+): (.*)", message)
        if named is None:
            return f"{file}: {message}"
        loc, message = (*named.group(1).split("."), named.group(2)), named.group(3)
    line = _find_line(text, loc)
    where = f" (line {line})" if line else ""
    return f"{file}: {_key_path(loc)}: {message}{where}"


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
        header = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?", line)
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


def error_message(error: Any) -> str:
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
