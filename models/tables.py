"""Tables. Singular snake_case names, ``_at`` timestamps, invariants enforced by the database."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT ids.
Id = BigInteger().with_variant(Integer(), "sqlite")
Timestamp = DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Chat(Base):
    __tablename__ = "chat"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256), server_default="")
    kind: Mapped[str] = mapped_column(String(16), server_default="group")
    timezone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))


class UserAccount(Base):
    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(256), server_default="")
    language: Mapped[str | None] = mapped_column(String(16))
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=text("CURRENT_TIMESTAMP"))


class Membership(Base):
    """A user in a chat. ``balance`` always equals the sum of the member's ledger entries."""

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("chat_id", "user_id"),
        Index("ix_membership_chat_id_balance", "chat_id", "balance"),
        # Spending can never overdraw, even when two redemptions race.
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), server_default="member")
    balance: Mapped[int] = mapped_column(BigInteger, server_default="0")
    joined_at: Mapped[datetime | None] = mapped_column(Timestamp)
    left_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_active_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Tier id from [tiers] (None: the lowest); when she was told privately that she is about to drop.
    tier: Mapped[str | None] = mapped_column(String(32))
    tier_warned_on: Mapped[date | None] = mapped_column(Date)
    # Streak freezes bought in the shop and not used yet.
    freezes: Mapped[int] = mapped_column(Integer, server_default="0")


class Checkin(Base):
    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("membership_id", "local_date"),
        CheckConstraint("streak >= 1", name="streak_positive"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    streak: Mapped[int] = mapped_column(Integer)
    # The last missed day forgiven in this streak, carried forward so the latest row tells it.
    freeze_used_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class LedgerEntry(Base):
    """Append-only points movements; the idempotency key makes every event pay at most once."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        CheckConstraint("delta <> 0", name="delta_nonzero"),
        # Daily caps count what one member gave: "thanks by her today".
        Index("ix_ledger_entry_actor_reason_reference", "actor", "reason", "reference"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    # Who made a manual change (platform user id) and why; empty for automatic awards.
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class PointsDaily(Base):
    """Points a member earned per local day (spending excluded), kept with every ledger write.

    Tiers (trailing window) and leaderboards (rolling week and month) read this, not the ledger.
    """

    __tablename__ = "points_daily"

    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    earned: Mapped[int] = mapped_column(BigInteger)
    # When the day's total last rose: leaderboard ties go to whoever got there first.
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class MemberBadge(Base):
    """An honour (荣誉) a member holds; monthly honours carry the month in ``period``."""

    __tablename__ = "member_badge"
    __table_args__ = (UniqueConstraint("membership_id", "badge", "period"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    badge: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16), server_default="")
    granted_by: Mapped[str | None] = mapped_column(String(64))  # moderator's platform id for manual badges
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Season(Base):
    """A leaderboard season; "all" boards count from the current season's start."""

    __tablename__ = "season"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    # Seasons turn at a community day boundary: points of this day on belong to the season.
    first_day: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)


class SeasonStanding(Base):
    """A closed season's final standings, per group."""

    __tablename__ = "season_standing"

    season_id: Mapped[int] = mapped_column(ForeignKey("season.id", ondelete="CASCADE"), primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger)
    rank: Mapped[int] = mapped_column(Integer)


class ShopStock(Base):
    """How many of a shop item are taken; the conditional increment is what prevents overselling."""

    __tablename__ = "shop_stock"
    __table_args__ = (CheckConstraint("sold >= 0", name="sold_not_negative"),)

    item: Mapped[str] = mapped_column(String(32), primary_key=True)
    sold: Mapped[int] = mapped_column(Integer, server_default="0")


class ShopOrder(Base):
    __tablename__ = "shop_order"
    __table_args__ = (UniqueConstraint("idempotency_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), index=True)
    item: Mapped[str] = mapped_column(String(32))
    cost: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="pending", index=True)  # pending, fulfilled, cancelled
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    handled_at: Mapped[datetime | None] = mapped_column(Timestamp)
    handled_by: Mapped[str | None] = mapped_column(String(64))


class ContentFingerprint(Base):
    """When a piece of content (a file, a link, a normalised text) was last posted in a chat."""

    __tablename__ = "content_fingerprint"
    __table_args__ = (UniqueConstraint("chat_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(128))
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class MemberProfile(Base):
    """What a member chose to tell (private chat): one date about her child at most, and a language."""

    __tablename__ = "member_profile"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    trying_to_conceive: Mapped[bool] = mapped_column(Boolean, server_default=false())
    due_date: Mapped[date | None] = mapped_column(Date)
    birth_date: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str | None] = mapped_column(String(8))
    streak_paused_from: Mapped[date | None] = mapped_column(Date)
    streak_paused_until: Mapped[date | None] = mapped_column(Date)
    milestones: Mapped[bool] = mapped_column(Boolean, server_default=false())  # greet her baby's 100th day and birthdays
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class ScheduleFire(Base):
    """Each scheduled post (entry, group, scheduled time) is recorded before it is sent: the unique
    constraint is what keeps a restart or a second instance from posting it twice."""

    __tablename__ = "schedule_fire"
    __table_args__ = (UniqueConstraint("entry_id", "chat_id", "scheduled_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    scheduled_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    # claimed, sent, failed (for good), retry (failed for a passing reason: claimed again by a later tick,
    # or missed once none can plan it), missed, quiet; see bot/content/scheduled_posts.py
    status: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime | None] = mapped_column(Timestamp)


class SchedulePause(Base):
    __tablename__ = "schedule_pause"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_by: Mapped[str] = mapped_column(String(64))
    paused_at: Mapped[datetime] = mapped_column(Timestamp)


class ContentUse(Base):
    """Bank items a group has seen in the current round (rotation without repeats)."""

    __tablename__ = "content_use"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    bank: Mapped[str] = mapped_column(String(255), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(Timestamp)


class ScheduledPoll(Base):
    __tablename__ = "scheduled_poll"
    __table_args__ = (UniqueConstraint("external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    fire_id: Mapped[int | None] = mapped_column(ForeignKey("schedule_fire.id", ondelete="SET NULL"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    entry_id: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(String(400))
    options: Mapped[str] = mapped_column(Text)  # JSON list of the option texts as posted
    correct_option: Mapped[int | None] = mapped_column(Integer)
    closes_at: Mapped[datetime] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)


# Open polls are looked up by closing time on every tick.
Index("ix_scheduled_poll_open", ScheduledPoll.closes_at, postgresql_where=ScheduledPoll.closed_at.is_(None))


class PollVote(Base):
    __tablename__ = "poll_vote"

    poll_id: Mapped[int] = mapped_column(ForeignKey("scheduled_poll.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    options: Mapped[str] = mapped_column(String(64))  # "0" or "0,2"
    answered_at: Mapped[datetime] = mapped_column(Timestamp)


class FaqQuestion(Base):
    """A question the FAQ had no confident answer for: content gaps for operators, kept 30 days."""

    __tablename__ = "faq_question"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(String(400))
    best_topic: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class DailyActivity(Base):
    __tablename__ = "daily_activity"

    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id", ondelete="CASCADE"), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, server_default="0")
    media: Mapped[int] = mapped_column(Integer, server_default="0")
    links: Mapped[int] = mapped_column(Integer, server_default="0")
    checkins: Mapped[int] = mapped_column(Integer, server_default="0")


class ProcessedUpdate(Base):
    """Update ids already handled (inclusive runs), so a redelivered update has no second effect."""

    __tablename__ = "processed_update"
    __table_args__ = (CheckConstraint("first_id <= last_id", name="ordered"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    # The bot the updates came to (Telegram: the id in its token); update ids are per bot.
    bot_id: Mapped[str] = mapped_column(String(32), server_default="")
    first_id: Mapped[int] = mapped_column(BigInteger)
    last_id: Mapped[int] = mapped_column(BigInteger)
    processed_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class ModerationAction(Base):
    """Every moderation step, by a moderator or a filter: who, whom, what, why, when and the source message.

    Users are kept as platform ids (not user rows), so a member's /forget leaves the record of a ban.
    """

    __tablename__ = "moderation_action"
    __table_args__ = (
        Index("ix_moderation_action_target", "chat_id", "target_id", "kind"),
        # One action of a kind per source message: a redelivered update (another process, a retry) acts once.
        UniqueConstraint("chat_id", "source_key", "kind"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    target_id: Mapped[str] = mapped_column(String(64))
    target_name: Mapped[str] = mapped_column(String(256), server_default="")
    actor_id: Mapped[str | None] = mapped_column(String(64))  # None: the bot on its own (a filter, the ladder, captcha)
    kind: Mapped[str] = mapped_column(String(16))  # warn, unwarn, mute, unmute, kick, ban, unban, delete, refused
    reason: Mapped[str] = mapped_column(String(400), server_default="")
    filter: Mapped[str | None] = mapped_column(String(32))
    source_message_id: Mapped[str | None] = mapped_column(String(32))
    until_at: Mapped[datetime | None] = mapped_column(Timestamp)  # a warning's expiry, a mute's end
    outcome: Mapped[str] = mapped_column(String(16), server_default="done")  # done, or why the platform refused
    created_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    undone_at: Mapped[datetime | None] = mapped_column(Timestamp)
    undone_by: Mapped[str | None] = mapped_column(String(64))
    log_message_id: Mapped[str | None] = mapped_column(String(32))
    # The message (or edit) the action answers: a moderator's command or the message a filter caught,
    # "123" or "123@<edit date>"; None for actions without one (undo, captcha, clean-up).
    source_key: Mapped[str | None] = mapped_column(String(64))


class MemberJoin(Base):
    """A join seen by the bot: the newcomer period, and the captcha while she has not answered it."""

    __tablename__ = "member_join"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), server_default="")
    joined_at: Mapped[datetime] = mapped_column(Timestamp)
    status: Mapped[str] = mapped_column(String(16))  # verifying, passed, failed, none (no captcha), trusted (added by a moderator)
    join_message_id: Mapped[str | None] = mapped_column(String(32))
    welcome_message_id: Mapped[str | None] = mapped_column(String(32))
    question: Mapped[int | None] = mapped_column(Integer)  # index into the configured questions
    answer: Mapped[int | None] = mapped_column(Integer)  # the button that is right
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    deadline_at: Mapped[datetime | None] = mapped_column(Timestamp, index=True)


class ReportedMessage(Base):
    """A message members reported; further reports of it are merged into one moderators' alert."""

    __tablename__ = "reported_message"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    target_id: Mapped[str | None] = mapped_column(String(64))
    alert_message_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Report(Base):
    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("chat_id", "message_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(32))
    reporter_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(400), server_default="")
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class CleanupNotice(Base):
    """An inactive member told she will be removed; removal comes `notice_days` later unless she returns."""

    __tablename__ = "cleanup_notice"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column(Timestamp)
    removed_at: Mapped[datetime | None] = mapped_column(Timestamp)


__all__ = [
    "Base",
    "Chat",
    "Checkin",
    "CleanupNotice",
    "ContentFingerprint",
    "DailyActivity",
    "LedgerEntry",
    "MemberBadge",
    "MemberJoin",
    "MemberProfile",
    "Membership",
    "ModerationAction",
    "PointsDaily",
    "ProcessedUpdate",
    "Report",
    "ReportedMessage",
    "Season",
    "SeasonStanding",
    "ShopOrder",
    "ShopStock",
    "UserAccount",
]
