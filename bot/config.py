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


# What Telegram accepts as a webhook secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# The database drivers Cradle runs on (async SQLAlchemy URLs).
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class WebhookSettings(Section):
    url: str = ""
    # Required in webhook mode (checked in Settings): without it anyone could post forged updates.
    secret: SecretStr = SecretStr("")
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=1, le=65535)
    path: str = "/telegram/webhook"

    @field_validator("secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and not WEBHOOK_SECRET.fullmatch(secret):
            # The value is a secret: say what is wrong, not what it is.
            raise ValueError(
                f"Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - only (got {len(secret)} characters"
                + (", some of them not allowed)" if len(secret) <= 256 else ")")
            )
        return value


class LimitSettings(Section):
    """Telegram's send limits, paced by the outbound sender (bot/platforms/telegram/sender.py)."""

    per_second: float = Field(default=30, gt=0)
    per_group_per_minute: float = Field(default=20, gt=0)
    per_chat_per_second: float = Field(default=1, gt=0)
    chat_burst: int = Field(default=3, ge=1)
    retries: int = Field(default=4, ge=0, le=10)
    retry_for: float = Field(default=90, ge=1, le=600)


class TelegramSettings(Section):
    token: SecretStr = SecretStr("")
    api_base: str = ""
    mode: Literal["polling", "webhook"] = "polling"
    # Where updates the bot cannot read are saved (one JSON file each) instead of being asked for again.
    rejected_dir: str = "rejected_updates"
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

    @field_validator("url")
    @classmethod
    def _supported_driver(cls, value: str) -> str:
        driver = value.split("://", 1)[0] if "://" in value else ""
        if driver not in DATABASE_DRIVERS:
            shown = f"{driver}://..." if driver else "no scheme"
            raise ValueError(
                "must start with sqlite+aiosqlite:/// (a file) or postgresql+asyncpg:// (a server) "
                f"(got {shown})"
            )
        return value


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


Duration = str  # "10m", "2h", "1d": checked by _duration below


def _duration(value: str) -> str:
    from bot.moderation.durations import parse_duration

    if parse_duration(value) is None:
        raise ValueError(f"not a duration: {value!r} (use e.g. \"10m\", \"2h\", \"1d\")")
    return value


def _mute_duration(value: str) -> str:
    """A duration a member is restricted for: Telegram takes 30 seconds to 366 days (else: forever)."""
    from bot.moderation.durations import parse_duration, restriction_allowed

    duration = parse_duration(_duration(value))
    assert duration is not None
    if not restriction_allowed(duration):
        raise ValueError(f"a mute must last from 30s to 366d (got {value!r}; Telegram treats anything else as forever)")
    return value


FilterAction = Literal["delete_warn", "delete_mute", "report"]


class FilterSettings(Section):
    """What every automatic filter shares: on/off and what happens to a message it catches."""

    enabled: bool = True
    # delete_warn: delete and warn (warnings escalate); delete_mute: delete and mute for `mute`; report: only tell the moderators.
    action: FilterAction = "delete_warn"
    mute: str = "1d"

    _check_mute = field_validator("mute")(classmethod(lambda cls, value: _mute_duration(value)))


class AdFilterSettings(FilterSettings):
    # Sites added to the built-in allow-list (shops, WeChat articles, health authorities...); subdomains count.
    allow_domains: list[str] = []
    # Phrases added to the built-in spam vocabulary (代购, 刷单, 兼职...).
    extra_terms: list[str] = []


class FloodFilterSettings(FilterSettings):
    action: FilterAction = "delete_mute"
    mute: str = "1h"
    # More than `messages` messages within `seconds` from one member is a flood.
    messages: int = Field(default=8, ge=2, le=100)
    seconds: int = Field(default=10, ge=1, le=600)


class CrosspostFilterSettings(FilterSettings):
    # The same text from one member in this many groups within `minutes` (a mother forwarding a
    # useful post to two groups is fine; three in minutes looks like a spammer's round).
    groups: int = Field(default=3, ge=2, le=20)
    minutes: int = Field(default=10, ge=1, le=24 * 60)
    # Shorter texts ("好的", "谢谢") are never counted.
    min_length: int = Field(default=12, ge=1)


class BannedWordsSettings(FilterSettings):
    enabled: bool = False
    words: list[str] = []


class FiltersSettings(Section):
    ads: AdFilterSettings = AdFilterSettings()
    qr: FilterSettings = FilterSettings()
    flood: FloodFilterSettings = FloodFilterSettings()
    crosspost: CrosspostFilterSettings = CrosspostFilterSettings()
    banned_words: BannedWordsSettings = BannedWordsSettings()

    def merged(self, overrides: dict[str, Any]) -> FiltersSettings:
        """These settings with one group's overrides laid over them, filter by filter and key by key."""
        changed = {}
        for name, values in overrides.items():
            base = getattr(self, name)
            changed[name] = type(base).model_validate({**base.model_dump(), **values})
        return self.model_copy(update=changed)


class LadderStep(Section):
    # At this many active warnings...
    warnings: int = Field(ge=1, le=100)
    # ...mute her for `duration`, or remove her from the group (she may rejoin by invitation).
    action: Literal["mute", "remove", "ban"]
    duration: str = "1d"

    _check_duration = field_validator("duration")(classmethod(lambda cls, value: _mute_duration(value)))


class CaptchaQuestion(Section):
    question: Localised
    # The answers shown as shuffled buttons; `correct` is the index of the right one.
    answers: list[Localised] = Field(min_length=2, max_length=6)
    correct: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _correct_in_range(self) -> CaptchaQuestion:
        if self.correct >= len(self.answers):
            raise ValueError(f"correct must be an index into answers (0 to {len(self.answers) - 1}, got {self.correct})")
        return self


def _question(zh: str, en: str, answers: list[tuple[str, str]]) -> CaptchaQuestion:
    return CaptchaQuestion(
        question=Localised(zh_CN=zh, en=en), answers=[Localised(zh_CN=a, en=b) for a, b in answers], correct=0
    )


DEFAULT_QUESTIONS = [
    _question("宝宝一般在几个月左右开始添加辅食？", "Around what age do babies usually start solid food?",
              [("6个月左右", "Around 6 months"), ("出生第一周", "In the first week"), ("3岁以后", "After 3 years")]),
    _question("新生儿每天大约睡多久？", "About how long does a newborn sleep each day?",
              [("14到17小时", "14 to 17 hours"), ("2到3小时", "2 to 3 hours"), ("完全不睡", "Not at all")]),
    _question("坐车时宝宝应该坐在哪里？", "Where should a baby ride in a car?",
              [("安全座椅里", "In a car seat"), ("大人怀里", "On an adult's lap"), ("副驾驶座上", "Alone in the front seat")]),
]  # fmt: skip


class WelcomeSettings(Section):
    # Greet new members with the group rules.
    enabled: bool = True
    # "button": press "I am a parent, not a bot"; "question": pick the right answer among shuffled buttons; "off".
    captcha: Literal["button", "question", "off"] = "button"
    # How long she has to answer ("5m", "90s"...).
    timeout: str = "5m"
    # Without a right answer in time: "mute" (a moderator can let her in later: slow parents are not lost) or "remove".
    on_timeout: Literal["mute", "remove"] = "mute"
    questions: list[CaptchaQuestion] = Field(default=DEFAULT_QUESTIONS, min_length=1)

    _check_timeout = field_validator("timeout")(classmethod(lambda cls, value: _duration(value)))


class CleanupSettings(Section):
    # Regularly warn and then remove members inactive for `inactive_days` (定期清理不活跃用户). Off by default.
    enabled: bool = False
    # Only report to the admin chat what would happen; nobody is warned or removed.
    dry_run: bool = True
    inactive_days: int = Field(default=60, ge=7, le=3650)
    # Days between the warning and the removal (a member who speaks or checks in meanwhile stays).
    notice_days: int = Field(default=7, ge=1, le=90)
    # Never removes a member with a check-in within this many days (nor administrators).
    checkin_days: int = Field(default=60, ge=1, le=3650)
    # Local time of the daily pass.
    at: time = time(10, 0)


class ModerationSettings(Section):
    # Telegram user ids who may moderate every group, besides each group's own administrators and the operators.
    moderators: list[int] = []
    # Users the automatic filters never act on (a brand's official account, a doctor who shares links).
    exempt: list[int] = []
    # Where every moderation action is echoed, with an undo button (defaults to [community].admin_chat_id).
    log_chat_id: int | None = None
    # Warnings older than this no longer count towards the ladder.
    warning_days: int = Field(default=30, ge=1, le=3650)
    # /mute without a duration.
    default_mute: str = "1h"
    # What active warnings lead to; checked after every warning.
    ladder: list[LadderStep] = [
        LadderStep(warnings=3, action="mute", duration="1d"),
        LadderStep(warnings=5, action="remove"),
    ]
    # New members may send only text (no media, no links) for this many hours after joining (0 = off).
    newcomer_hours: int = Field(default=24, ge=0, le=24 * 30)
    filters: FiltersSettings = FiltersSettings()
    # Per-group overrides: [moderation.groups."-1001234567890".flood] messages = 15
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    welcome: WelcomeSettings = WelcomeSettings()
    cleanup: CleanupSettings = CleanupSettings()

    _check_mute = field_validator("default_mute")(classmethod(lambda cls, value: _mute_duration(value)))

    @field_validator("ladder")
    @classmethod
    def _increasing_steps(cls, ladder: list[LadderStep]) -> list[LadderStep]:
        counts = [step.warnings for step in ladder]
        if counts != sorted(set(counts)):
            raise ValueError(f"ladder steps must have increasing, distinct warning counts (got {counts})")
        return ladder

    @field_validator("groups")
    @classmethod
    def _valid_overrides(cls, groups: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, dict[str, Any]]]:
        for chat_id, overrides in groups.items():
            if not re.fullmatch(r"-?\d+", chat_id):
                raise ValueError(f"group {chat_id!r}: the key must be a chat id such as \"-1001234567890\"")
            unknown = set(overrides) - set(FiltersSettings.model_fields)
            if unknown:
                raise ValueError(f"group {chat_id}: unknown filter {sorted(unknown)[0]!r} (filters: {', '.join(FiltersSettings.model_fields)})")
            for name, values in overrides.items():
                try:
                    FiltersSettings().merged({name: values})
                except ValidationError as exc:
                    error = exc.errors()[0]
                    where = ".".join(map(str, (name, *error["loc"])))
                    raise ValueError(f"group {chat_id}: {where}: {error_message(error)}") from None
        return groups

    def filters_for(self, chat_id: int) -> FiltersSettings:
        overrides = self.groups.get(str(chat_id))
        return self.filters.merged(overrides) if overrides else self.filters


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
    moderation: ModerationSettings = ModerationSettings()

    @model_validator(mode="after")
    def _webhook_has_a_secret(self) -> Settings:
        if self.telegram.mode == "webhook" and not self.telegram.webhook.secret.get_secret_value():
            raise ValueError(
                "[telegram.webhook].secret: required in webhook mode, or anyone can post forged updates "
                "(1-256 characters of A-Z, a-z, 0-9, _ and -; or set CRADLE_TELEGRAM__WEBHOOK__SECRET)"
            )
        return self

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
