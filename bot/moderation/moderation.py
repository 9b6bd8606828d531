"""Moderation: warnings with an escalation ladder, mutes and removals, undo, and the log.

Every step is stored (who, whom, what, why, when, the source message) whether a moderator or a filter
took it, and whether or not the platform carried it out: a refusal (the bot lacks the right, she is an
administrator) is stored with that outcome and reported to whoever asked. Platform steps go through
the ``GroupControl`` port, the log chat through ``ModerationLog``; both may be absent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.domain import ChatRef, UserInfo, UserRef
from bot.i18n import Translator
from bot.moderation.durations import RESTRICTION_MAX, RESTRICTION_MIN, format_duration, restriction_allowed, restriction_until
from bot.core.lengths import clip_reason
from bot.core.numbers import parse_count
from bot.core.errors import DomainError
from bot.core.ports import (
    DONE,
    ActionRecord,
    Clock,
    GroupControl,
    ModerationLog,
    NewAction,
    Outcome,
    UnitOfWorkFactory,
)

logger = logging.getLogger(__name__)

# Kinds that change something on the platform, and what undoes each.
UNDO = {"warn": "unwarn", "mute": "unmute", "ban": "unban", "kick": "unban"}


@dataclass(frozen=True, slots=True)
class Step:
    """At ``warnings`` active warnings: mute for ``duration``, remove, or ban."""

    warnings: int
    action: str  # mute, remove, ban
    duration: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    ladder: tuple[Step, ...]
    warning_lifetime: timedelta
    default_mute: timedelta

    def step_for(self, warnings: int) -> Step | None:
        """The highest step reached: the fourth warning on a 3 -> mute ladder mutes again."""
        reached = [step for step in self.ladder if step.warnings <= warnings]
        return reached[-1] if reached else None


@dataclass(frozen=True, slots=True)
class Person:
    """Someone moderation is about, as the adapter saw her."""

    user: UserRef
    name: str


@dataclass(frozen=True, slots=True)
class Done:
    """One stored action and what the platform answered."""

    record: ActionRecord
    # The same source message had this action already (its update was delivered twice, or to two
    # processes): nothing was done now, and nobody should be told again.
    repeated: bool = False

    @property
    def outcome(self) -> Outcome:
        return self.record.outcome

    @property
    def ok(self) -> bool:
        return self.record.outcome == DONE


@dataclass(frozen=True, slots=True)
class Warned:
    warning: ActionRecord
    active: int  # active warnings now, this one included
    limit: int | None  # the next ladder step's count, if any
    escalation: Done | None  # the ladder's mute or removal, when this warning reached a step
    # This source message was warned for already (a redelivery, or another process): the warning was
    # stored, and is told, by that first handling. ``escalation`` may still be new (not repeated) when the
    # first handling stopped before the ladder: each notice goes with the step done now.
    repeated: bool = False


class NothingToUndo(DomainError):
    code = "moderation.nothing_to_undo"


class MuteOutOfRange(DomainError):
    """A mute shorter than 30 seconds or longer than 366 days: Telegram would make it permanent."""

    code = "moderation.mute_range"


class ControlMissing(DomainError):
    code = "moderation.no_control"


class ModerationControls:
    """One GroupControl per platform, registered when the platform starts."""

    def __init__(self) -> None:
        self._by_platform: dict[str, GroupControl] = {}

    def register(self, platform: str, control: GroupControl) -> None:
        self._by_platform[platform] = control

    def get(self, platform: str) -> GroupControl:
        control = self._by_platform.get(platform)
        if control is None:
            raise ControlMissing()
        return control


class ModerationService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        controls: ModerationControls,
        policy: Policy,
        *,
        log_translator: Callable[[], Translator] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._controls = controls
        self.policy = policy
        self._log_translator = log_translator
        # The log chat, attached by the platform when it starts (none configured: actions are only stored).
        self.log: ModerationLog | None = None

    # ------------------------------------------------------------ warnings

    async def warn(
        self, chat: ChatRef, target: Person, actor: UserRef | None, reason: str, *,
        source_message_id: str | None = None, filter: str | None = None, key: str | None = None,
    ) -> Warned:  # fmt: skip
        """Store a warning; when active warnings reach a ladder step, carry the step out.

        ``key`` names the message this answers (the /warn, the message a filter caught): a second
        warning for the same key stores nothing, but still carries out the ladder's step if the first
        attempt stopped before it (the step is keyed too, so it happens once): ``Warned.repeated``
        for the warning, ``escalation.repeated`` for the step."""
        reason = clip_reason(reason)
        now = self._clock.now()
        async with self._uow() as uow:
            warning_id = await uow.moderation.add(NewAction(
                chat, target.user, target.name, actor, "warn", reason, now, filter=filter,
                source_message_id=source_message_id, until=now + self.policy.warning_lifetime, source_key=key,
            ))  # fmt: skip
            active = await uow.moderation.active_warnings(chat, target.user, now)
            if warning_id is None:
                assert key is not None
                warning = await uow.moderation.by_source(chat, key, "warn")
            else:
                warning = await uow.moderation.get(warning_id)
            await uow.commit()
        assert warning is not None
        repeated = warning_id is None
        if repeated:
            logger.info("warning for %s in chat %s was stored already (key %s)", target.user.external_id, chat.external_id, key)
        else:
            await self._publish(warning)
        # Counted up to this warning, so a redelivery climbs the step this warning reached (none if it
        # was withdrawn or expired meanwhile), not one a later warning reached.
        count = len([active_warning for active_warning in active if active_warning.id <= warning.id])
        in_force = any(active_warning.id == warning.id for active_warning in active)
        step = self.policy.step_for(count) if in_force else None
        escalation = None
        if step is not None:
            why = f"{count} warnings"
            kind = {"mute": "mute", "remove": "kick", "ban": "ban"}[step.action]
            escalation = await self.act(kind, chat, target, None, why, duration=step.duration, source_message_id=source_message_id, key=key)
        later = [step.warnings for step in self.policy.ladder if step.warnings > count]
        return Warned(warning, count, later[0] if later else None, escalation, repeated=repeated)

    async def unwarn(self, chat: ChatRef, target: Person, actor: UserRef, *, key: str | None = None) -> Done:
        """Withdraw her newest active warning (once per ``key``: a redelivered /unwarn withdraws no second one)."""
        active = await self.warnings(chat, target.user)
        if not active:
            raise NothingToUndo()
        return await self._withdraw(active[-1], actor, "", key=key)

    async def _withdraw(self, warning: ActionRecord, by: UserRef, reason: str, *, key: str | None = None) -> Done:
        """Mark a warning undone and store the withdrawal (once: a second attempt finds nothing to undo)."""
        now = self._clock.now()
        async with self._uow() as uow:
            new = NewAction(warning.chat, warning.target, warning.target_name, by, "unwarn", reason, now, source_key=key)
            record_id = await uow.moderation.add(new)
            if record_id is None:
                assert key is not None
                repeated = await uow.moderation.by_source(warning.chat, key, "unwarn")
                assert repeated is not None
                return Done(repeated, repeated=True)
            if not await uow.moderation.mark_undone(warning.id, by, now):
                raise NothingToUndo()
            record = await uow.moderation.get(record_id)
            await uow.commit()
        assert record is not None
        await self._amend_undone(warning, by)
        await self._publish(record)
        return Done(record)

    async def warnings(self, chat: ChatRef, target: UserRef) -> list[ActionRecord]:
        async with self._uow(read_only=True) as uow:
            return await uow.moderation.active_warnings(chat, target, self._clock.now())

    # ------------------------------------------------------------ platform steps

    async def act(
        self, kind: str, chat: ChatRef, target: Person, actor: UserRef | None, reason: str, *,
        duration: timedelta | None = None, source_message_id: str | None = None, filter: str | None = None,
        publish: bool = True, key: str | None = None,
    ) -> Done:  # fmt: skip
        """mute, unmute, kick, ban, unban or delete (``source_message_id`` is the message): do it, then store it.

        ``publish=False`` stores without a log-chat entry (the rest of a flood: one entry tells it).
        With a ``key`` (the message this answers) the action is claimed first, and only the first claim
        of that kind carries it out: a redelivered update gets ``Done.repeated`` and the platform is not
        asked again. If the platform call raises (the connection broke: not a refusal, which is an
        outcome), the claim is withdrawn before the error goes on, so the redelivery carries it out.
        The trade-off: a crash between the claim and the platform's answer (the process killed, or the
        withdrawal itself failing) leaves a row saying done, and the redelivery does nothing; asking the
        platform before claiming would instead let two deliveries both act."""
        control = self._controls.get(chat.platform)
        now = self._clock.now()
        until = self._mute_until(now, duration) if kind == "mute" else None
        reason = clip_reason(reason)
        action = NewAction(
            chat, target.user, target.name, actor, kind, reason, now, filter=filter,
            source_message_id=source_message_id, until=until, source_key=key,
        )  # fmt: skip
        if key is None:
            return await self.record(replace(action, outcome=await self._carry_out(control, action)), publish=publish)
        async with self._uow() as uow:
            action_id = await uow.moderation.add(action)
            repeated = await uow.moderation.by_source(chat, key, kind) if action_id is None else None
            await uow.commit()
        if action_id is None:
            assert repeated is not None
            logger.info("%s of %s in chat %s was done already (key %s)", kind, target.user.external_id, chat.external_id, key)
            return Done(repeated, repeated=True)
        try:
            outcome = await self._carry_out(control, action)
        except Exception:
            await self._withdraw_claim(action_id, action)
            raise
        async with self._uow() as uow:
            if outcome != DONE:
                await uow.moderation.set_outcome(action_id, outcome)
            record = await uow.moderation.get(action_id)
            await uow.commit()
        assert record is not None
        if publish:
            await self._publish(record)
        return Done(record)

    async def _withdraw_claim(self, action_id: int, action: NewAction) -> None:
        """Forget a claim whose platform step did not happen, so a redelivery of its update does it."""
        try:
            async with self._uow() as uow:
                await uow.moderation.remove(action_id)
                await uow.commit()
        except Exception:  # the platform's error is the one to report; this row now says done
            logger.exception("could not withdraw the claim of %s #%s after the platform call failed", action.kind, action_id)

    def _mute_until(self, now: datetime, duration: timedelta | None) -> datetime:
        """When a mute of ``duration`` ends, kept inside the window Telegram does not read as forever."""
        duration = duration or self.policy.default_mute
        if not restriction_allowed(duration):
            raise MuteOutOfRange(min=format_duration(RESTRICTION_MIN), max=format_duration(RESTRICTION_MAX))
        until = restriction_until(now, now + duration)
        assert until is not None  # at least the minimum, checked above
        return until

    async def _carry_out(self, control: GroupControl, action: NewAction) -> Outcome:
        kind, chat, user, until, source_message_id = action.kind, action.chat, action.target, action.until, action.source_message_id
        if kind == "mute":
            return await control.restrict(chat, user, until)
        if kind == "unmute":
            return await control.release(chat, user)
        if kind == "kick":
            return await control.remove(chat, user)
        if kind == "ban":
            return await control.ban(chat, user)
        if kind == "unban":
            return await control.unban(chat, user)
        if kind == "delete":
            assert source_message_id is not None
            return await control.delete(chat, source_message_id)
        raise ValueError(f"unknown moderation step {kind!r}")

    async def record(self, action: NewAction, *, publish: bool = True) -> Done:
        """Store an action taken elsewhere (a captcha mute, a refused attempt) and log it (once per ``source_key``)."""
        async with self._uow() as uow:
            action_id = await uow.moderation.add(action)
            if action_id is None:
                assert action.source_key is not None
                record = await uow.moderation.by_source(action.chat, action.source_key, action.kind)
            else:
                record = await uow.moderation.get(action_id)
            await uow.commit()
        assert record is not None
        if action_id is None:
            return Done(record, repeated=True)
        if publish and action.kind != "refused":
            await self._publish(record)
        return Done(record)

    async def undo(self, action_id: int, by: UserRef) -> tuple[ActionRecord, Done | None]:
        """Reverse an action from the log: withdraw a warning, lift a mute or a ban.

        Returns the original and the reversing step (None for a warning, which needs no platform step).
        """
        async with self._uow(read_only=True) as uow:
            original = await uow.moderation.get(action_id)
        if original is None or original.kind not in UNDO or original.undone_at is not None or original.outcome != DONE:
            raise NothingToUndo()
        if original.kind == "warn":
            await self._withdraw(original, by, f"undo #{original.id}")
            return original, None
        target = Person(original.target, original.target_name)
        reverse = await self.act(UNDO[original.kind], original.chat, target, by, f"undo #{original.id}")
        if not reverse.ok:
            return original, reverse
        async with self._uow() as uow:
            changed = await uow.moderation.mark_undone(original.id, by, self._clock.now())
            await uow.commit()
        if not changed:
            raise NothingToUndo()
        await self._amend_undone(original, by)
        return original, reverse

    async def find(self, chat: ChatRef, who: str) -> tuple[Person, UserInfo | None] | None:
        """A member named by @username (as last seen in this chat) or by her numeric id."""
        async with self._uow(read_only=True) as uow:
            if who.startswith("@"):
                found = await uow.members.find_by_username(chat, who[1:])
                if found is None:
                    return None
                user = found.user
            elif parse_count(who):  # ASCII digits within a database integer, not "²" or 2**70
                user = UserRef(chat.platform, who)
            else:
                return None
            info = (await uow.members.users([user])).get(user)
        name = (info.display_name if info else "") or who
        return Person(user, name), info

    async def action(self, action_id: int) -> ActionRecord | None:
        async with self._uow(read_only=True) as uow:
            return await uow.moderation.get(action_id)

    # ------------------------------------------------------------ the log chat

    def describe(self, record: ActionRecord, t: Translator) -> str:
        """One log line: what, whom, by whom, why, where."""
        actor = t("moderation.log_by_bot") if record.actor is None else record.actor.external_id
        extra = ""
        if record.kind == "mute" and record.until is not None:
            extra = t("moderation.log_for", duration=format_duration(record.until - record.at))
        if record.filter:
            extra += t("moderation.log_filter", filter=t(f"moderation.filter_{record.filter}"))
        if record.outcome != DONE:
            extra += t("moderation.log_refused", why=t(f"moderation.outcome_{record.outcome}"))
        return t(
            "moderation.log_line",
            id=record.id,
            action=t(f"moderation.kind_{record.kind}"),
            target=record.target_name or record.target.external_id,
            target_id=record.target.external_id,
            actor=actor,
            chat=record.chat.external_id,
            reason=record.reason or "-",
            extra=extra,
        )

    async def _publish(self, record: ActionRecord) -> None:
        log = self.log
        if log is None or self._log_translator is None:
            return
        t = self._log_translator()
        undo = (t("moderation.undo_button"), record.id) if record.kind in UNDO and record.outcome == DONE else None
        try:
            message_id = await log.publish(self.describe(record, t), undo=undo)
        except Exception:  # the log is a copy; the action is stored either way
            logger.exception("could not publish moderation action %s to the log chat", record.id)
            return
        if message_id is not None:
            async with self._uow() as uow:
                await uow.moderation.set_log_message(record.id, message_id)
                await uow.commit()

    async def _amend_undone(self, original: ActionRecord, by: UserRef | None) -> None:
        log = self.log
        if log is None or self._log_translator is None:
            return
        async with self._uow(read_only=True) as uow:
            current = await uow.moderation.get(original.id)
        if current is None or current.log_message_id is None:
            return
        t = self._log_translator()
        text = self.describe(current, t) + "\n" + t("moderation.log_undone", by=by.external_id if by else "-")
        try:
            await log.amend(current.log_message_id, text)
        except Exception:
            logger.exception("could not amend log entry of action %s", original.id)
