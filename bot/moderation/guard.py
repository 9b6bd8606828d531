"""The automatic filters: ads, QR codes, floods, the same text across groups, banned words, newcomers' links and media.

``Guard.check`` runs on every group message, in memory, so the common case (a plain chat line) costs a
few dictionary look-ups and the ad classifier's cheap pre-check. It only decides; the adapter checks
whether the sender is exempt (administrators, the allow-list) and ``ModerationService`` acts.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import ChatRef, UserRef
from bot.moderation import spam

# Sweep idle flood and cross-post memory after this many messages.
SWEEP_EVERY = 5_000


@dataclass(frozen=True, slots=True)
class FilterRule:
    enabled: bool = True
    action: str = "delete_warn"  # delete_warn, delete_mute, report; "delete" for the newcomer rule
    mute: timedelta = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """One group's filters (the community's, with that group's overrides)."""

    ads: FilterRule = FilterRule()
    ad_rules: spam.AdRules = spam.AdRules()
    qr: FilterRule = FilterRule()
    flood: FilterRule = FilterRule(action="delete_mute", mute=timedelta(hours=1))
    flood_messages: int = 8
    flood_seconds: int = 10
    crosspost: FilterRule = FilterRule()
    crosspost_groups: int = 2
    crosspost_minutes: int = 10
    crosspost_min_length: int = 12
    banned_words: FilterRule = FilterRule(enabled=False)
    words: tuple[str, ...] = ()
    newcomer_hours: int = 24


@dataclass(frozen=True, slots=True)
class Incoming:
    """A group message as the filters need it."""

    chat: ChatRef
    user: UserRef
    message_id: str
    at: datetime
    text: str = ""
    urls: tuple[str, ...] = ()  # links hidden behind text (Telegram text_link entities)
    media: bool = False
    edited: bool = False  # an edit: judged on its content, not counted again for floods and cross-posts


@dataclass(frozen=True, slots=True)
class Hit:
    filter: str  # ads, qr, flood, crosspost, banned_words, newcomer
    action: str
    evidence: str  # for the log: a domain, a word, "9 messages in 10 s"; never the whole message
    mute: timedelta = timedelta(0)
    # Earlier messages caught with this one (the rest of a flood, the other copies of a cross-post).
    others: tuple[tuple[ChatRef, str], ...] = ()


@dataclass(slots=True)
class _Copies:
    at: datetime
    places: list[tuple[ChatRef, str]] = field(default_factory=list)


class Guard:
    def __init__(self, policy_for: Callable[[ChatRef], GuardPolicy]) -> None:
        self._policy_for = policy_for
        self._policies: dict[ChatRef, GuardPolicy] = {}
        self._recent: dict[tuple[ChatRef, UserRef], deque[tuple[datetime, str]]] = {}
        self._texts: dict[UserRef, dict[str, _Copies]] = {}
        self._joined: dict[tuple[ChatRef, UserRef], datetime] = {}
        self._seen = 0

    def policy(self, chat: ChatRef) -> GuardPolicy:
        policy = self._policies.get(chat)
        if policy is None:
            policy = self._policies[chat] = self._policy_for(chat)
        return policy

    # ------------------------------------------------------------ newcomers

    def joined(self, chat: ChatRef, user: UserRef, at: datetime) -> None:
        self._joined[(chat, user)] = at

    def load_joins(self, joins: Iterable[tuple[ChatRef, UserRef, datetime]]) -> None:
        for chat, user, at in joins:
            self._joined[(chat, user)] = at

    def is_newcomer(self, chat: ChatRef, user: UserRef, at: datetime) -> bool:
        joined = self._joined.get((chat, user))
        if joined is None:
            return False
        if at - joined < timedelta(hours=self.policy(chat).newcomer_hours):
            return True
        del self._joined[(chat, user)]
        return False

    # ------------------------------------------------------------ checks

    def check(self, message: Incoming) -> Hit | None:
        """The first filter the message trips, in order of certainty; None for almost every message."""
        policy = self.policy(message.chat)
        self._seen += 1
        if self._seen % SWEEP_EVERY == 0:
            self._sweep(message.at)
        text = message.text
        if text and policy.banned_words.enabled and policy.words:
            word = spam.find_banned_word(text, policy.words)
            if word is not None:
                return Hit("banned_words", policy.banned_words.action, word, policy.banned_words.mute)
        if (text or message.urls) and policy.ads.enabled:
            ad = spam.find_ad(text, policy.ad_rules, urls=message.urls)
            if ad is not None:
                return Hit("ads", policy.ads.action, f"{ad.reason}: {ad.evidence}", policy.ads.mute)
        if (message.media or text or message.urls) and policy.newcomer_hours and self._joined:
            if self.is_newcomer(message.chat, message.user, message.at):
                if message.media:
                    return Hit("newcomer", "delete", "media")
                if spam.has_link(text, urls=message.urls):
                    return Hit("newcomer", "delete", "link")
        if message.edited:
            return None
        if text and policy.crosspost.enabled and len(text) >= policy.crosspost_min_length:
            hit = self._crosspost(message, policy)
            if hit is not None:
                return hit
        if policy.flood.enabled and not text.startswith("/"):  # commands are answered (and limited) by their handlers
            return self._flood(message, policy)
        return None

    def check_qr(self, message: Incoming, payloads: Iterable[str]) -> Hit | None:
        """Decoded QR codes from a photo; the adapter decodes only when ``wants_qr`` says so."""
        policy = self.policy(message.chat)
        for payload in payloads:
            verdict = spam.qr_verdict(payload, policy.ad_rules)
            if verdict is not None:
                return Hit("qr", policy.qr.action, f"{verdict.reason}: {verdict.evidence}", policy.qr.mute)
        return None

    def wants_qr(self, chat: ChatRef) -> bool:
        return self.policy(chat).qr.enabled

    def _flood(self, message: Incoming, policy: GuardPolicy) -> Hit | None:
        key = (message.chat, message.user)
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = deque()
        recent.append((message.at, message.message_id))
        window = timedelta(seconds=policy.flood_seconds)
        while recent and message.at - recent[0][0] >= window:
            recent.popleft()
        if len(recent) <= policy.flood_messages:
            return None
        others = tuple((message.chat, message_id) for _, message_id in list(recent)[:-1])
        count = len(recent)
        recent.clear()  # one flood, one hit
        evidence = f"{count} messages in {policy.flood_seconds} s"
        return Hit("flood", policy.flood.action, evidence, policy.flood.mute, others)

    def _crosspost(self, message: Incoming, policy: GuardPolicy) -> Hit | None:
        key = "".join(unicodedata.normalize("NFKC", message.text).lower().split())
        texts = self._texts.setdefault(message.user, {})
        window = timedelta(minutes=policy.crosspost_minutes)
        copies = texts.get(key)
        if copies is None or message.at - copies.at > window:
            copies = texts[key] = _Copies(message.at)
            if len(texts) > 8:  # only her latest few texts matter
                del texts[next(iter(texts))]
        copies.places.append((message.chat, message.message_id))
        chats = {chat for chat, _ in copies.places}
        if len(chats) < policy.crosspost_groups:
            return None
        others = tuple(place for place in copies.places if place != (message.chat, message.message_id))
        del texts[key]
        return Hit("crosspost", policy.crosspost.action, f"{len(chats)} groups", policy.crosspost.mute, others)

    def _sweep(self, now: datetime) -> None:
        """Forget members who went quiet, so memory follows recent activity, not all-time members."""
        stale = now - timedelta(minutes=30)
        self._recent = {key: recent for key, recent in self._recent.items() if recent and recent[-1][0] > stale}
        for user in list(self._texts):
            kept = {key: copies for key, copies in self._texts[user].items() if copies.at > now - timedelta(days=1)}
            if kept:
                self._texts[user] = kept
            else:
                del self._texts[user]
