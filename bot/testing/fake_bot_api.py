"""In-memory fake of the Telegram Bot API.

``FakeTelegram`` answers Bot API calls the way Telegram does (same JSON shapes,
status codes and error descriptions) so aiogram parses results and raises its
usual exceptions.  Tests inject users, chats and updates, then inspect what the
bot did.  ``FakeBotAPIServer`` (``bot.testing.fake_bot_api_server``) exposes it
over HTTP and ``FakeSession`` (``bot.testing.session``) plugs it straight into
an aiogram ``Bot``.

Run ``python -m bot.testing.fake_bot_api --port 8081`` for a standalone server.

It is as strict as Telegram: limits (text and caption length, poll limits, callback data,
the 48-hour delete window, until_date's "forever" window...) answer 400 with Telegram's own
description where known (from the Bot API docs and tdlib/telegram-bot-api's Client.cpp).  One
check is stricter than Telegram on purpose: a parameter the current Bot API does not list for the
method (``_PARAMS``) is refused, where Telegram would silently ignore it.

Deliberate simplifications: MarkdownV2/Markdown text is kept verbatim (only HTML is
parsed into entities); bot messages get no auto-detected entities (urls, mentions);
polls never close by themselves after open_period; uploaded file contents are not
kept: only photos injected with ``user_message(photo_bytes=...)`` can be downloaded
(getFile, then ``/file/bot<token>/<file_path>``; other files answer 404); webhooks
accept plain http:// URLs so tests can use 127.0.0.1; methods outside the supported
set answer 400 like unknown ones.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

__all__ = [
    "ALL_UPDATE_TYPES",
    "NOT_FOUND",
    "UNAUTHORIZED",
    "ApiCall",
    "FakeTelegram",
    "decode_params",
    "read_multipart",
    "resolve_attachments",
]

# Fields Telegram treats as plain strings even when they look like JSON ("123", "true").
FREE_TEXT_FIELDS = frozenset(
    {
        "text", "caption", "question", "explanation", "title", "description",
        "short_description", "url", "secret_token", "parse_mode", "callback_query_id",
        "inline_query_id", "emoji", "data", "first_name", "last_name", "username", "name",
        "custom_title", "inline_message_id", "language_code", "business_connection_id",
        "message_effect_id", "action", "query", "ip_address", "sticker", "photo",
        "document", "video", "audio", "voice", "animation", "thumbnail", "file_id",
        "result_id", "error_message", "start_parameter", "payload", "currency",
    }
)

ALL_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post",
    "business_connection", "business_message", "edited_business_message",
    "deleted_business_messages", "message_reaction", "message_reaction_count",
    "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
    "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
    "my_chat_member", "chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
)
# What Telegram delivers when allowed_updates was never set (or set to []).
DEFAULT_UPDATE_TYPES = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member", "message_reaction", "message_reaction_count",
}

PERMISSIONS = (
    "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
    "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_send_polls",
    "can_send_other_messages", "can_add_web_page_previews", "can_react_to_messages",
    "can_edit_tag", "can_change_info", "can_invite_users", "can_pin_messages",
    "can_manage_topics",
)
ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
    "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
    "can_post_stories", "can_edit_stories", "can_delete_stories",
    "can_send_welcome_messages", "can_pin_messages", "can_manage_topics",
)

UNAUTHORIZED: dict[str, Any] = {"ok": False, "error_code": 401, "description": "Unauthorized"}
NOT_FOUND: dict[str, Any] = {"ok": False, "error_code": 404, "description": "Not Found"}
WEBHOOK_HEADER = "X-Telegram-Bot-Api-Secret-Token"

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_MAX_TEXT, _MAX_CAPTION = 4096, 1024
_FOREVER_MIN, _FOREVER_MAX = 30, 366 * 86400  # until_date outside this window = forever
# Sizes of a photo without real bytes: (file_id suffix, file_size, width, height).
_PHOTO_SIZES = (("-s", 1_200, 90, 67), ("-m", 14_000, 320, 240), ("-x", 62_000, 800, 600))

# The parameters each method takes in the current Bot API (core.telegram.org/bots/api, mirrored by
# aiogram's method classes minus the fields it marks deprecated).  Telegram silently ignores any
# other parameter; the fake refuses it instead, so a misspelt parameter, or one the API has dropped
# (``reply_to_message_id``/``allow_sending_without_reply``: use ``reply_parameters``;
# ``correct_option_id``: use ``correct_option_ids``), fails a test rather than being ignored in
# production.  tests/fake_api checks this table against aiogram's current fields.
_SEND_COMMON = (
    "chat_id business_connection_id message_thread_id direct_messages_topic_id disable_notification "
    "protect_content allow_paid_broadcast message_effect_id suggested_post_parameters reply_parameters "
    "reply_markup ephemeral_message_parameters "
)
_PARAMS: dict[str, frozenset[str]] = {
    method: frozenset(names.split())
    for method, names in {
        "getMe": "", "logOut": "", "close": "", "getWebhookInfo": "",
        "getUpdates": "offset limit timeout allowed_updates",
        "setWebhook": "url certificate ip_address max_connections allowed_updates drop_pending_updates "
                      "secret_token",
        "deleteWebhook": "drop_pending_updates",
        "setMyCommands": "commands scope language_code",
        "getMyCommands": "scope language_code",
        "deleteMyCommands": "scope language_code",
        "sendMessage": _SEND_COMMON + "text parse_mode entities link_preview_options",
        "sendPhoto": _SEND_COMMON + "photo caption parse_mode caption_entities show_caption_above_media "
                                    "has_spoiler",
        "sendDocument": _SEND_COMMON + "document thumbnail caption parse_mode caption_entities "
                                       "disable_content_type_detection",
        "getFile": "file_id",
        "sendChatAction": "chat_id action business_connection_id message_thread_id",
        "sendPoll": (
            "chat_id question options business_connection_id message_thread_id question_parse_mode "
            "question_entities is_anonymous type allows_multiple_answers allows_revoting shuffle_options "
            "allow_adding_options hide_results_until_closes members_only country_codes correct_option_ids "
            "explanation explanation_parse_mode explanation_entities explanation_media open_period "
            "close_date is_closed description description_parse_mode description_entities media "
            "disable_notification protect_content allow_paid_broadcast message_effect_id reply_parameters "
            "reply_markup"
        ),
        "stopPoll": "chat_id message_id business_connection_id reply_markup",
        "editMessageText": "text business_connection_id chat_id message_id inline_message_id parse_mode "
                           "entities link_preview_options reply_markup rich_message",
        "deleteMessage": "chat_id message_id",
        "pinChatMessage": "chat_id message_id business_connection_id disable_notification",
        "unpinChatMessage": "chat_id business_connection_id message_id",
        "answerCallbackQuery": "callback_query_id text show_alert url cache_time",
        "getChat": "chat_id",
        "getChatMember": "chat_id user_id",
        "getChatMemberCount": "chat_id",
        "getChatAdministrators": "chat_id return_bots",
        "banChatMember": "chat_id user_id until_date revoke_messages",
        "unbanChatMember": "chat_id user_id only_if_banned",
        "restrictChatMember": "chat_id user_id permissions use_independent_chat_permissions until_date",
    }.items()
}
# Fields of ReplyParameters and InputPollOption (objects inside parameters), for the same reason.
_REPLY_PARAMETERS = frozenset(
    "message_id chat_id allow_sending_without_reply quote quote_parse_mode quote_entities quote_position "
    "checklist_task_id poll_option_id ephemeral_message_id".split()
)
_POLL_OPTION_FIELDS = frozenset({"text", "text_parse_mode", "text_entities", "media"})
_REPLACED_BY = {
    "reply_to_message_id": "reply_parameters", "allow_sending_without_reply": "reply_parameters",
    "correct_option_id": "correct_option_ids", "disable_web_page_preview": "link_preview_options",
}
_DELETE_WINDOW = 48 * 3600  # deleteMessage: "a message can only be deleted if it was sent less than 48 hours ago"
_CALLBACK_TEXT_MAX = 200  # answerCallbackQuery text: 0-200 characters
_POLL_PERIOD_MIN, _POLL_PERIOD_MAX = 5, 2_628_000  # open_period / close_date distance, seconds


# --------------------------------------------------------------------------- params


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode request fields the way Telegram does.

    Form bodies carry every value as a string (objects and lists JSON-encoded,
    booleans "true"/"false"); free-text fields stay strings, anything else is
    parsed as JSON when possible.  Non-string values (JSON bodies) are kept.
    """
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in FREE_TEXT_FIELDS or key.endswith("parse_mode"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
        elif isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        params[key] = value
    return params


def resolve_attachments(params: dict[str, Any], uploads: Mapping[str, str]) -> None:
    """Replace uploaded parts (by field name or ``attach://name``) with their file ids."""
    if not uploads:
        return
    referenced: set[str] = set()

    def walk(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("attach://"):
            name = value[len("attach://"):]
            referenced.add(name)
            return uploads.get(name, value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    for key in list(params):
        params[key] = walk(params[key])
    for name, file_id in uploads.items():
        if name not in referenced:  # the part itself is the parameter (photo=<file>)
            params[name] = file_id


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str | None) -> list[dict[str, Any]]:
    match = _COMMAND_RE.match(text or "")
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


class _ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class _Described:
    """A successful result that carries Telegram's extra ``description`` (setWebhook...)."""

    result: Any
    description: str


@dataclass
class ApiCall:
    method: str  # canonical camelCase, or as sent when unknown
    params: dict[str, Any]
    status: int
    result_or_error: Any  # the result on success, the error body otherwise
    at: float  # monotonic() at completion

    @property
    def ok(self) -> bool:
        return self.status == 200


# --------------------------------------------------------------------------- helpers


class _Signal:
    """Broadcast "state changed" to any number of waiters.

    Used instead of ``asyncio.Condition`` because the injection helpers are plain
    (sync) methods and ``Condition.notify_all`` needs the lock held, which sync
    code can't acquire.  The Event is created lazily so it binds to the loop in use.
    """

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def fire(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait_for(self, predicate: Callable[[], Any], timeout: float | None) -> Any:
        # Always yield once, so a caller's polling loop around us can't starve the loop.
        await asyncio.sleep(0)
        async with asyncio.timeout(timeout):
            while not (result := predicate()):
                if self._event is None:
                    self._event = asyncio.Event()
                await self._event.wait()
        return result


@dataclass
class _Bucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    stamp: float

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class _EntityParseError(Exception):
    pass


_HTML_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "code": "code", "pre": "pre", "a": "text_link",
    "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: strips tags into entities, rejects unknown tags."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.position = 0  # UTF-16 units
        self.stack: list[tuple[str, dict[str, Any] | None]] = []
        self.entities: list[dict[str, Any]] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        lines = self.source.split("\n")
        index = sum(len(item) + 1 for item in lines[: line - 1]) + column
        return len(self.source[:index].encode())

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.position += utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        kind = _HTML_ENTITY_TYPES.get(tag)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            kind = None
        if kind is None:
            raise _EntityParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        entity: dict[str, Any] | None = {"type": kind, "offset": self.position}
        if tag == "a":
            href = attributes.get("href") or ""
            if user_id := re.fullmatch(r"tg://user\?id=(\d+)", href):
                entity = {"type": "text_mention", "offset": self.position,
                          "user": {"id": int(user_id.group(1)), "is_bot": False, "first_name": ""}}
            else:
                entity["url"] = href
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            pre = self.stack[-1][1]
            language = (attributes.get("class") or "").removeprefix("language-")
            if pre is not None and language:
                pre["language"] = language
            entity = None  # <pre><code> is a single pre entity
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        if entity is not None:
            self.entities.append(entity)
        self.stack.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise _EntityParseError(f"Unexpected end tag at byte offset {self._byte_offset()}")
        if self.stack[-1][0] != tag:  # Telegram's wording for crossed tags (<b><i></b></i>)
            raise _EntityParseError(
                f'Unmatched end tag at byte offset {self._byte_offset()}, '
                f'expected "</{self.stack[-1][0]}>", found "</{tag}>"'
            )
        _, entity = self.stack.pop()
        if entity is not None:
            entity["length"] = self.position - entity["offset"]

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        self.feed(self.source)
        self.close()
        if self.stack:
            raise _EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"'
            )
        return "".join(self.parts), [e for e in self.entities if e.get("length")]


def _strip_reply(message: dict[str, Any]) -> dict[str, Any]:
    # Telegram never nests reply_to_message more than one level.
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def _update_type(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


_MEDIA_PERMISSIONS = (
    "can_send_audios", "can_send_documents", "can_send_photos", "can_send_videos",
    "can_send_video_notes", "can_send_voice_notes",
)


def _chat_permissions(given: Mapping[str, Any], *, independent: bool) -> dict[str, bool]:
    """A ChatPermissions object as Telegram reads it (telegram-bot-api ``get_chat_permissions``).

    A field left out is False, not "unchanged": a release that sends only some fields leaves
    the member restricted.  A few fields default to another one when absent, and unless
    ``use_independent_chat_permissions`` is set, some imply others (documented on restrictChatMember).
    """
    if unknown := sorted(set(given) - set(PERMISSIONS) - {"can_send_media_messages"}):
        raise _bad(f'can\'t parse chat permissions: unknown field "{unknown[0]}"')
    for name, value in given.items():
        if not isinstance(value, bool):
            raise _bad(f'can\'t parse chat permissions: field "{name}" must be of type Boolean')
    granted = {name: bool(given.get(name, False)) for name in PERMISSIONS}
    granted["can_manage_topics"] = given.get("can_manage_topics", granted["can_pin_messages"])
    granted["can_edit_tag"] = given.get("can_edit_tag", granted["can_pin_messages"])
    granted["can_react_to_messages"] = given.get("can_react_to_messages", granted["can_send_messages"])
    if not any(name in given for name in _MEDIA_PERMISSIONS):  # the pre-6.5 single media flag
        media = bool(given.get("can_send_media_messages", False))
        granted.update(dict.fromkeys(_MEDIA_PERMISSIONS, media))
        if media and not independent:
            granted["can_send_messages"] = True
    if not independent:
        if granted["can_send_other_messages"] or granted["can_add_web_page_previews"]:
            granted.update(dict.fromkeys((*_MEDIA_PERMISSIONS, "can_send_messages"), True))
        if granted["can_send_polls"]:
            granted["can_send_messages"] = True
    return granted


def _check_params(method: str, params: Mapping[str, Any]) -> None:
    """Refuse parameters the current Bot API does not have (see ``_PARAMS``).  Fake-only: Telegram
    ignores them, which is how a misspelt or dropped parameter goes unnoticed in production."""
    allowed = _PARAMS.get(method)
    if allowed is None:
        return
    for key in params:
        if key not in allowed:
            hint = f"; use {_REPLACED_BY[key]}" if key in _REPLACED_BY else ""
            raise _bad(f'unknown parameter "{key}" for {method} in the current Bot API{hint}')


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


# --------------------------------------------------------------------------- core


_Handler = Callable[["FakeTelegram", dict[str, Any]], Any]
_HANDLERS: dict[str, tuple[str, _Handler, bool]] = {}  # lower name -> (name, fn, is_async)
_SEND_LIKE_EXCLUDED = frozenset({"sendChatAction"})


def _api(name: str) -> Callable[[_Handler], _Handler]:
    def register(fn: _Handler) -> _Handler:
        _HANDLERS[name.lower()] = (name, fn, inspect.iscoroutinefunction(fn))
        return fn

    return register


class FakeTelegram:
    """In-memory Telegram Bot API: state, method handlers, update queue, recorder."""

    def __init__(
        self,
        token: str = "42:TEST",
        *,
        bot_id: int = 42,
        bot_username: str = "cradle_test_bot",
        bot_name: str = "Cradle",
        can_read_all_group_messages: bool = True,
        enforce_limits: bool = False,
        per_bot_per_second: float = 30,
        per_group_per_minute: float = 20,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
        first_update_id: int = 1,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.can_read_all_group_messages = can_read_all_group_messages
        self.enforce_limits = enforce_limits
        self.per_bot_per_second = per_bot_per_second
        self.per_group_per_minute = per_group_per_minute
        self.webhook_retry_delay = webhook_retry_delay
        self._monotonic = monotonic
        self._clock = clock

        self.bot_user: dict[str, Any] = {
            "id": bot_id, "is_bot": True, "first_name": bot_name, "username": bot_username,
        }
        self.requests: list[ApiCall] = []
        self.rejected_429 = 0
        self.webhook_deliveries = 0
        self.webhook_failures = 0
        self.callback_answers: dict[str, dict[str, Any]] = {}

        self._users: dict[int, dict[str, Any]] = {bot_id: self.bot_user}
        self._chats: dict[int, dict[str, Any]] = {}
        self._members: dict[tuple[int, int], dict[str, Any]] = {}
        self._chat_permissions: dict[int, dict[str, bool]] = {}  # group defaults, for getChat
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._last_message_id: dict[int, int] = {}
        self._sent: dict[int, list[dict[str, Any]]] = {}
        self._pinned: dict[int, list[int]] = {}
        self._polls: dict[str, dict[str, Any]] = {}  # id -> {"chat_id", "message_id", "votes"}
        self._reactions: dict[tuple[int, int, int], list[dict[str, Any]]] = {}
        self._pending_callbacks: set[str] = set()
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._file_contents: dict[str, bytes] = {}  # file_id (of a photo size) -> bytes
        self._file_paths: dict[str, str] = {}  # file_id -> file_path, given out by getFile
        self._ids = itertools.count(1)

        self._updates: list[dict[str, Any]] = []
        self._redeliver: set[int] = set()  # id() of re-injected updates not yet delivered
        self._next_update_id = first_update_id
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._long_polls_waiting = 0
        self._closing = False
        self._webhook: dict[str, Any] | None = None
        self._webhook_error: tuple[int, str] | None = None

        self._bot_bucket = _Bucket(per_bot_per_second, per_bot_per_second, per_bot_per_second, monotonic())
        self._group_buckets: dict[int, _Bucket] = {}

        self._signal = _Signal()
        self._http: aiohttp.ClientSession | None = None
        self._delivery: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start webhook delivery (no-op when already running)."""
        self._closing = False
        if self._delivery is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            self._delivery = asyncio.create_task(self._deliver_webhooks(), name="fake-telegram-webhook")

    async def close(self) -> None:
        """Stop webhook delivery, end pending long polls and release the HTTP client."""
        self._closing = True  # lets a server shut down without waiting out getUpdates timeouts
        self._signal.fire()
        if self._delivery is not None:
            self._delivery.cancel()
            try:
                await self._delivery
            except asyncio.CancelledError:
                pass
            self._delivery = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ dispatch

    async def call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Run one Bot API method; returns (HTTP status, Telegram JSON body)."""
        entry = _HANDLERS.get(method.lower())
        name = entry[0] if entry else method
        result: Any
        try:
            if entry is None:
                # The project's contract for the fake: 400 with a description naming the method.
                # (api.telegram.org itself answers 404 "Not Found" here; both are errors, never success.)
                self._warn_unimplemented(method)
                raise _bad(f"method {method!r} not found")
            _, handler, is_async = entry
            _check_params(name, params)
            self._check_limits(name, params)
            result = await handler(self, params) if is_async else handler(self, params)
        except _ApiError as error:
            status, body = error.status, error.body()
            result = body
        except Exception:  # a bug in the fake: fail loudly, like a Telegram outage would
            logger.exception("FakeTelegram crashed in %s(%r)", name, params)
            status, body = 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            result = body
        else:
            status = 200
            if isinstance(result, _Described):
                body = {"ok": True, "result": result.result, "description": result.description}
                result = result.result
            else:
                body = {"ok": True, "result": result}
        self.requests.append(ApiCall(name, params, status, result, self._monotonic()))
        if status != 200:
            logger.debug("fake telegram %s -> %d %s", name, status, body["description"])
        self._signal.fire()
        return status, body

    @staticmethod
    def _warn_unimplemented(method: str) -> None:
        from aiogram import methods  # only to tell "unknown" from "not faked yet"

        known = {
            api_name.lower()
            for obj in vars(methods).values()
            if isinstance(obj, type) and isinstance(api_name := getattr(obj, "__api_method__", None), str)
        }
        if method.lower() in known:
            logger.warning("FakeTelegram does not implement %s; answering 400", method)

    def _check_limits(self, method: str, params: dict[str, Any]) -> None:
        if not self.enforce_limits or not method.startswith("send") or method in _SEND_LIKE_EXCLUDED:
            return
        now = self._monotonic()
        buckets = [self._bot_bucket]
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and chat_id < 0:
            per_minute = self.per_group_per_minute
            if chat_id not in self._group_buckets:
                self._group_buckets[chat_id] = _Bucket(per_minute, per_minute / 60, per_minute, now)
            buckets.append(self._group_buckets[chat_id])
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            self.rejected_429 += 1
            retry_after = max(1, math.ceil(wait))
            raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for bucket in buckets:
            bucket.tokens -= 1

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str) -> list[ApiCall]:
        wanted = method.lower()
        return [call for call in self.requests if call.method.lower() == wanted]

    def sent_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Messages the bot sent to the chat, as returned at send time (edits not applied)."""
        return list(self._sent.get(chat_id, ()))

    def get_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Current state of any message (edits applied); None when deleted/unknown."""
        return self._messages.get(chat_id, {}).get(message_id)

    def member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        """The ChatMember object getChatMember would return."""
        return self._member_dict(chat_id, user_id)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        return list(self._commands.get(self._commands_key(scope, language_code), ()))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._updates)

    @property
    def long_polls_waiting(self) -> int:
        """getUpdates calls currently blocked in long polling."""
        return self._long_polls_waiting

    @property
    def webhook_url(self) -> str:
        return self._webhook["url"] if self._webhook else ""

    async def wait_for_message(
        self, chat_id: int, *, contains: str | None = None, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot sent at least ``count`` matching messages to the chat."""

        def matching() -> list[dict[str, Any]] | None:
            found = [
                message for message in self._sent.get(chat_id, ())
                if contains is None or contains in _visible_text(message)
            ]
            return found if len(found) >= count else None

        try:
            return await self._signal.wait_for(matching, timeout)
        except TimeoutError:
            sent = [_visible_text(message) for message in self._sent.get(chat_id, ())]
            failed = [
                f"{call.method} {call.status}: {call.result_or_error.get('description')}"
                for call in self.requests if not call.ok
            ][-5:]
            wanted = f" containing {contains!r}" if contains is not None else ""
            raise TimeoutError(
                f"expected {count} bot message(s){wanted} in chat {chat_id} within {timeout}s; "
                f"sent there: {sent!r}; recent failed calls: {failed!r}"
            ) from None

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until ``predicate()`` (re-checked on every state change) is truthy; returns it."""
        try:
            return await self._signal.wait_for(predicate, timeout)
        except TimeoutError:
            raise TimeoutError(f"condition not met within {timeout}s") from None

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        count: int = 1,
    ) -> ApiCall:
        """Wait until ``count`` calls of ``method`` (matching ``predicate``) were recorded; returns the
        ``count``-th.  Calls made before the wait count too; calls are recorded when they complete."""

        def nth() -> ApiCall | None:
            matching = [c for c in self.calls(method) if predicate is None or predicate(c)]
            return matching[count - 1] if len(matching) >= count else None

        try:
            return await self._signal.wait_for(nth, timeout)
        except TimeoutError:
            seen = [f"{call.method} {call.status}" for call in self.requests][-10:]
            raise TimeoutError(
                f"fewer than {count} {method} call(s) within {timeout}s; last calls: {seen!r}"
            ) from None

    # ------------------------------------------------------------------ state injection

    def add_user(
        self,
        user_id: int,
        first_name: str = "Mama",
        language_code: str | None = "zh-hans",
        username: str | None = None,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def add_chat(
        self,
        chat_id: int,
        title: str = "Group",
        type: str = "supergroup",  # noqa: A002 - mirrors Telegram's field name
        *,
        username: str | None = None,
        bot_status: str = "administrator",
        permissions: Mapping[str, bool] | None = None,
    ) -> dict[str, Any]:
        """Create/refresh a chat the bot is in (as admin with all rights by default).

        ``permissions``: the group's default member permissions getChat reports (omitted
        fields are True; all True unless given, also on refresh).
        """
        if permissions is not None or chat_id not in self._chat_permissions:
            self._chat_permissions[chat_id] = dict.fromkeys(PERMISSIONS, True)
            self.set_chat_permissions(chat_id, **(permissions or {}))
        chat: dict[str, Any] = {"id": chat_id, "type": type}
        if type == "private":
            user = self._users.get(chat_id) or self.add_user(chat_id, first_name=title)
            chat["first_name"] = user["first_name"]
            if "username" in user:
                chat["username"] = user["username"]
        else:
            chat["title"] = title
            if username:
                chat["username"] = username
        self._chats[chat_id] = chat
        self._messages.setdefault(chat_id, {})
        # In private chats the bot's "membership" only records whether the user blocked it.
        self._members[(chat_id, self.bot_id)] = {"status": bot_status if type != "private" else "member"}
        return chat

    def set_chat_permissions(self, chat_id: int, **permissions: bool) -> dict[str, bool]:
        """Change some of the group's default member permissions (what getChat reports)."""
        if unknown := set(permissions) - set(PERMISSIONS):
            raise ValueError(f"unknown chat permissions: {sorted(unknown)}")
        current = self._chat_permissions.setdefault(chat_id, dict.fromkeys(PERMISSIONS, True))
        current.update(permissions)
        return dict(current)

    def restriction_end(self, chat_id: int, user_id: int) -> int | None:
        """When a member's restriction or ban ends: a Unix time, 0 for forever (Telegram's
        until_date for "forever"), None when she is neither restricted nor banned."""
        state = self._member_state(chat_id, user_id)
        if state["status"] not in ("restricted", "kicked"):
            return None
        return int(state.get("until_date") or 0)

    def set_admin(
        self, chat_id: int, user_id: int, status: str = "administrator", **rights: bool
    ) -> dict[str, Any]:
        """Set a member's status ("creator", "administrator", "member"...); rights override admin defaults."""
        self._ensure_chat(chat_id)
        self._ensure_user(user_id)
        self._members[(chat_id, user_id)] = {"status": status, "rights": rights}
        return self._member_dict(chat_id, user_id)

    def remove_bot(self, chat_id: int, *, date: int | None = None) -> dict[str, Any] | None:
        """Kick the bot (or, in a private chat, the user blocks it): later calls answer 403.

        Queues the my_chat_member update; ``add_chat`` brings the bot back.
        """
        chat = self._ensure_chat(chat_id)
        actor = self._users[chat_id] if chat["type"] == "private" else self._any_admin(chat_id)
        kicked = {"status": "kicked", "until_date": 0}
        return self._set_member(chat_id, self.bot_id, kicked, actor=actor, date=date)

    def user_message(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        *,
        photo: bool = False,
        photo_bytes: bytes | None = None,
        caption: str | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        date: int | None = None,
    ) -> dict[str, Any]:
        """A user writes to a chat.  Returns the update (without update_id if privacy mode hid it).

        ``photo_bytes`` (implies ``photo=True``) is the picture itself: the bot can download
        it with getFile, its largest size serving these exact bytes (see ``_keep_photo``).
        """
        photo = photo or photo_bytes is not None
        if text is None and not photo:
            raise ValueError("user_message needs text or photo=True")
        user = self._ensure_user(user_id)
        chat = self._ensure_chat(chat_id, user)
        self._check_user_can_write(chat_id, user_id)
        message = self._new_message(chat_id, user, date)
        if reply_to is not None:
            message["reply_to_message"] = _strip_reply(self._existing_message(chat_id, reply_to))
        if text is not None:
            message["text"] = text
            if found := (entities if entities is not None else command_entities(text)):
                message["entities"] = found
        if photo:
            file_id = self._new_file("photo")
            if photo_bytes is not None:
                self._keep_photo(file_id, photo_bytes)
            message["photo"] = self._photo_sizes(file_id)
            if caption is not None:
                message["caption"] = caption
                if found := command_entities(caption):
                    message["caption_entities"] = found
        self._store(message)
        if not self._bot_receives(chat, message):
            logger.debug("privacy mode: bot does not see message %s in %s", message["message_id"], chat_id)
            return {"message": message}
        return self._queue({"message": message})

    def user_joins(self, chat_id: int, user_id: int, *, date: int | None = None) -> dict[str, Any]:
        """Service message with new_chat_members plus a chat_member update (left -> member).

        Returns the message update; the chat_member one follows it in ``pending_updates``.
        """
        user = self._ensure_user(user_id)
        self._ensure_chat(chat_id)
        if self._member_state(chat_id, user_id)["status"] == "kicked":
            raise PermissionError(f"user {user_id} is banned in chat {chat_id}")
        message = self._new_message(chat_id, user, date)
        message["new_chat_members"] = [user]
        message["new_chat_member"] = user  # Telegram still sends the legacy field
        message["new_chat_participant"] = user
        self._store(message)
        update = self._queue({"message": message})
        self._set_member(chat_id, user_id, {"status": "member"}, actor=user, date=message["date"])
        return update

    def user_leaves(self, chat_id: int, user_id: int, *, date: int | None = None) -> dict[str, Any]:
        user = self._ensure_user(user_id)
        self._ensure_chat(chat_id)
        message = self._new_message(chat_id, user, date)
        message["left_chat_member"] = user
        message["left_chat_participant"] = user
        self._store(message)
        update = self._queue({"message": message})
        self._set_member(chat_id, user_id, {"status": "left"}, actor=user, date=message["date"])
        return update

    def edit_message(
        self, chat_id: int, message_id: int, text: str, *, edit_date: int | None = None
    ) -> dict[str, Any]:
        """A user edits their message: queues edited_message."""
        message = dict(self._existing_message(chat_id, message_id))
        message["text"] = text
        message.pop("entities", None)
        if found := command_entities(text):
            message["entities"] = found
        message["edit_date"] = edit_date or self._now()
        self._store(message)
        return self._queue({"edited_message": message})

    def callback_query(self, chat_id: int, user_id: int, message_id: int, data: str) -> dict[str, Any]:
        """A user presses an inline button under a message (normally the bot's)."""
        user = self._ensure_user(user_id)
        message = self._existing_message(chat_id, message_id)
        query_id = str(4_000_000_000_000_000_000 + next(self._ids))
        self._pending_callbacks.add(query_id)
        return self._queue({"callback_query": {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(abs(chat_id) * 1_000_003 + self.bot_id),
            "data": data,
        }})

    def poll_answer(
        self, poll_id: str, user_id: int, option_ids: list[int], *, voter_chat_id: int | None = None
    ) -> dict[str, Any]:
        """A user votes (or retracts with []) in a non-anonymous poll.

        ``voter_chat_id``: she votes as that chat (an anonymous admin or a channel); the update
        then carries ``voter_chat`` instead of ``user``, as in the current PollAnswer."""
        user = self._ensure_user(user_id)
        record = self._polls.get(poll_id)
        if record is not None:
            message = self._messages.get(record["chat_id"], {}).get(record["message_id"])
            poll = message["poll"] if message else record["poll"]
            if poll["is_anonymous"]:
                raise ValueError("Telegram sends no poll_answer for anonymous polls; use is_anonymous=False")
            if poll["is_closed"]:
                raise ValueError(f"poll {poll_id} is closed")
            if poll["type"] == "quiz" and len(option_ids) != 1:
                raise ValueError("quiz answers choose exactly one option and can't be retracted")
            record["votes"][user_id] = list(option_ids)
            self._refresh_poll(record)
        voter = {"voter_chat": self._ensure_chat(voter_chat_id)} if voter_chat_id is not None else {"user": user}
        return self._queue({"poll_answer": {
            "poll_id": poll_id,
            **voter,
            "option_ids": list(option_ids),
            "option_persistent_ids": [str(option) for option in option_ids],
        }})

    def reaction(
        self, chat_id: int, user_id: int, message_id: int, emoji: str | None, *, date: int | None = None
    ) -> dict[str, Any]:
        """A user sets (or clears with None/"") their reaction on a message."""
        user = self._ensure_user(user_id)
        chat = self._ensure_chat(chat_id)
        self._existing_message(chat_id, message_id)
        key = (chat_id, message_id, user_id)
        old = self._reactions.get(key, [])
        new = [{"type": "emoji", "emoji": emoji}] if emoji else []
        self._reactions[key] = new
        return self._queue({"message_reaction": {
            "chat": chat, "message_id": message_id, "user": user,
            "date": date or self._now(), "old_reaction": old, "new_reaction": new,
        }})

    def inject(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update; update_id is assigned when missing.

        An update that already has an id (e.g. one returned earlier) is delivered at
        least once more even if that id was confirmed: it simulates Telegram redelivering.
        """
        if "update_id" not in update:
            return self._queue(update)
        queued = dict(update)
        self._next_update_id = max(self._next_update_id, queued["update_id"] + 1)
        self._redeliver.add(id(queued))
        self._updates.append(queued)
        self._signal.fire()
        return queued

    def observe(self, update: dict[str, Any]) -> None:
        """Learn the chat, sender and message of an update that reaches the bot some other way
        (fed straight to a Dispatcher), so the bot's replies to it are valid; nothing is queued."""
        message = update.get("message") or update.get("edited_message")
        if not message:
            return
        sender = message.get("from")
        if sender and sender["id"] not in self._users:
            self._users[sender["id"]] = dict(sender)
        chat = message["chat"]
        if chat["id"] not in self._chats:
            self.add_chat(chat["id"], chat.get("title") or "Group", chat.get("type", "supergroup"))
        for size in message.get("photo") or ():  # the bot may getFile any photo it was shown
            self._files.setdefault(size["file_id"], {
                "file_id": size["file_id"], "file_unique_id": size.get("file_unique_id", size["file_id"]),
                "file_size": size.get("file_size"), "kind": "photo",
            })
        self._store(message)
        self._last_message_id[chat["id"]] = max(self._last_message_id.get(chat["id"], 0), message["message_id"])

    def file_content(self, file_path: str) -> bytes | None:
        """What ``/file/bot<token>/<file_path>`` serves: None (a 404) for a path getFile never
        gave out or a file whose bytes the fake does not have."""
        file_id = next((key for key, path in self._file_paths.items() if path == file_path), None)
        return self._file_contents.get(file_id) if file_id is not None else None

    def serve_file(self, file_id: str, content: bytes) -> None:
        """Give a file the fake knows (e.g. a photo size from an observed update) the bytes its
        download serves; without them getFile works but the download answers 404."""
        if file_id not in self._files:
            raise KeyError(f"unknown file_id {file_id!r}")
        self._file_contents[file_id] = content

    def register_upload(self, filename: str | None, size: int = 0) -> str:
        """Store an uploaded file (its name and size only) and return its new file_id."""
        file_id = self._new_file("document")
        self._files[file_id].update({"file_name": filename or "file", "file_size": size})
        return file_id

    # ------------------------------------------------------------------ internals: state

    def _now(self) -> int:
        return int(self._clock())

    def _clear_updates(self) -> None:
        self._set_queue([])

    def _set_queue(self, updates: list[dict[str, Any]]) -> None:
        self._updates = updates
        if self._redeliver:  # forget ids of dropped dicts: id() values get reused
            self._redeliver.intersection_update(id(u) for u in updates)

    def _queue(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, **update}
        self._next_update_id += 1
        self._updates.append(update)
        self._signal.fire()
        return update

    def _ensure_user(self, user_id: int) -> dict[str, Any]:
        return self._users.get(user_id) or self.add_user(user_id)

    def _ensure_chat(self, chat_id: int, user: dict[str, Any] | None = None) -> dict[str, Any]:
        if chat := self._chats.get(chat_id):
            return chat
        if chat_id > 0:
            if user is not None and user["id"] == chat_id:
                return self.add_chat(chat_id, user["first_name"], "private")
            return self.add_chat(chat_id, "User", "private")
        return self.add_chat(chat_id)

    def _new_message(self, chat_id: int, sender: dict[str, Any], date: int | None) -> dict[str, Any]:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        chat = self._chats[chat_id]
        return {"message_id": message_id, "from": sender, "chat": chat, "date": date or self._now()}

    def _store(self, message: dict[str, Any]) -> None:
        # Stored dicts are replaced, never mutated, so recorded results stay snapshots.
        self._messages.setdefault(message["chat"]["id"], {})[message["message_id"]] = message

    def _existing_message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        message = self._messages.get(chat_id, {}).get(message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return message

    def _new_file(self, kind: str) -> str:
        number = next(self._ids)
        prefix = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}[kind]
        file_id = f"{prefix}{number:08d}"
        self._files[file_id] = {"file_id": file_id, "file_unique_id": f"AQAD{number:08d}"}
        return file_id

    def _keep_photo(self, file_id: str, content: bytes) -> None:
        """Give a photo real sizes: a JPEG per Telegram size box below the picture, and
        ``content`` itself as the largest.  Bytes Pillow can't read serve every size as given."""
        from bot.testing.images import photo_sizes  # Pillow: only when a test brings a picture

        try:
            versions = photo_sizes(content)
        except ValueError:
            versions = [(suffix[1:], width, height, content) for suffix, _, width, height in _PHOTO_SIZES]
        unique = self._files[file_id]["file_unique_id"]
        sizes = []
        for letter, width, height, data in versions:
            size_id = f"{file_id}-{letter}"
            self._file_contents[size_id] = data
            sizes.append({"file_id": size_id, "file_unique_id": f"{unique}-{letter}",
                          "file_size": len(data), "width": width, "height": height})
        self._files[file_id]["photo_sizes"] = sizes

    def _file_record(self, file_id: str) -> dict[str, Any] | None:
        """The File fields (without file_path) of a document, a photo or one size of a photo."""
        if not file_id.startswith("AgAC"):
            record = self._files.get(file_id)
            fields = ("file_id", "file_unique_id", "file_size")
            return {key: record[key] for key in fields if record.get(key)} if record else None
        # A photo reaches the bot only as its sizes ("<photo id>-x"); the photo's own id is the fake's.
        photo_id = file_id.rpartition("-")[0]
        sizes = self._photo_sizes(photo_id) if photo_id in self._files else []
        size = next((size for size in sizes if size["file_id"] == file_id), None)
        if size is None:
            return None
        return {"file_id": file_id, "file_unique_id": size["file_unique_id"], "file_size": size["file_size"]}

    def _photo_sizes(self, file_id: str) -> list[dict[str, Any]]:
        if sizes := self._files.get(file_id, {}).get("photo_sizes"):
            return list(sizes)
        unique = self._files.get(file_id, {}).get("file_unique_id", f"AQAD{file_id[-8:]}")
        return [
            {"file_id": f"{file_id}{suffix}", "file_unique_id": f"{unique}{suffix}",
             "file_size": size, "width": width, "height": height}
            for suffix, size, width, height in _PHOTO_SIZES
        ]

    def _member_state(self, chat_id: int, user_id: int) -> dict[str, Any]:
        state = self._members.get((chat_id, user_id)) or {"status": "left"}
        until = state.get("until_date") or 0
        if state["status"] in ("restricted", "kicked") and until and until <= self._now():
            state = {"status": "member" if state.get("is_member") else "left"}
            self._members[(chat_id, user_id)] = state
        return state

    def _member_dict(self, chat_id: int, user_id: int) -> dict[str, Any]:
        state = self._member_state(chat_id, user_id)
        user = self._ensure_user(user_id)
        status = state["status"]
        member: dict[str, Any] = {"user": user, "status": status}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = state.get("rights") or {}
            member.update({"can_be_edited": False, "is_anonymous": False})
            member.update({right: rights.get(right, True) for right in ADMIN_RIGHTS})
        elif status == "restricted":
            member["is_member"] = state.get("is_member", True)
            member.update(state["permissions"])
            member["until_date"] = state.get("until_date", 0)
        elif status == "kicked":
            member["until_date"] = state.get("until_date", 0)
        return member

    def _set_member(
        self, chat_id: int, user_id: int, state: dict[str, Any], *, actor: dict[str, Any], date: int | None
    ) -> dict[str, Any] | None:
        """Change a membership and queue chat_member / my_chat_member when it changed."""
        old = self._member_dict(chat_id, user_id)
        self._members[(chat_id, user_id)] = state
        new = self._member_dict(chat_id, user_id)
        if old == new:
            return None
        kind = "my_chat_member" if user_id == self.bot_id else "chat_member"
        return self._queue({kind: {
            "chat": self._chats[chat_id], "from": actor, "date": date or self._now(),
            "old_chat_member": old, "new_chat_member": new,
        }})

    def _any_admin(self, chat_id: int) -> dict[str, Any]:
        for (member_chat, user_id), state in self._members.items():
            is_admin = state["status"] in ("creator", "administrator")
            if member_chat == chat_id and user_id != self.bot_id and is_admin:
                return self._users[user_id]
        return self._ensure_user(777_000)  # Telegram's service account

    def _bot_can(self, chat: dict[str, Any], right: str) -> bool:
        if chat["type"] == "private":
            return True
        state = self._member_state(chat["id"], self.bot_id)
        if state["status"] == "creator":
            return True
        return state["status"] == "administrator" and (state.get("rights") or {}).get(right, True)

    def _bot_receives(self, chat: dict[str, Any], message: dict[str, Any]) -> bool:
        """Privacy mode: without it (or as admin) the bot sees everything in groups."""
        if self.can_read_all_group_messages or chat["type"] in ("private", "channel"):
            return True
        if self._member_state(chat["id"], self.bot_id)["status"] in ("creator", "administrator"):
            return True
        text = message.get("text") or message.get("caption") or ""
        replied = message.get("reply_to_message") or {}
        return text.startswith("/") or replied.get("from", {}).get("id") == self.bot_id

    def _check_user_can_write(self, chat_id: int, user_id: int) -> None:
        state = self._member_state(chat_id, user_id)
        if state["status"] == "kicked":
            raise PermissionError(f"user {user_id} is banned in chat {chat_id}")
        if state["status"] == "restricted" and not state["permissions"].get("can_send_messages"):
            raise PermissionError(f"user {user_id} is restricted in chat {chat_id}")
        defaults = self._chat_permissions.get(chat_id, {})
        if state["status"] in ("member", "restricted", "left") and defaults.get("can_send_messages") is False:
            raise PermissionError(f"members may not write in chat {chat_id} (its default permissions)")
        if state["status"] == "left" and chat_id < 0:
            self._members[(chat_id, user_id)] = {"status": "member"}

    def _refresh_poll(self, record: dict[str, Any]) -> None:
        message = self._messages.get(record["chat_id"], {}).get(record["message_id"])
        poll = dict(message["poll"] if message else record["poll"])
        counts = [0] * len(poll["options"])
        for options in record["votes"].values():
            for option in options:
                if 0 <= option < len(counts):
                    counts[option] += 1
        poll["options"] = [dict(option, voter_count=n) for option, n in zip(poll["options"], counts)]
        poll["total_voter_count"] = sum(1 for options in record["votes"].values() if options)
        record["poll"] = poll
        if message:
            self._store({**message, "poll": poll})

    # ------------------------------------------------------------------ internals: params

    def _target_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        chat: dict[str, Any] | None = None
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next((c for c in self._chats.values() if c.get("username") == chat_id[1:]), None)
        elif isinstance(chat_id, int) and not isinstance(chat_id, bool):
            chat = self._chats.get(chat_id)
            if chat is None and chat_id > 0 and chat_id in self._users:
                raise _ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat is None:
            raise _bad("chat not found")
        bot_status = self._member_state(chat["id"], self.bot_id)["status"]
        if bot_status == "kicked":
            if chat["type"] == "private":
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            raise _ApiError(403, f"Forbidden: bot was kicked from the {chat['type']} chat")
        if bot_status == "left":
            raise _ApiError(403, f"Forbidden: bot is not a member of the {chat['type']} chat")
        return chat

    @staticmethod
    def _int(
        params: dict[str, Any], name: str, *, required: bool = True, default: int | None = None
    ) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            if required:
                raise _bad(f"{name} is empty")
            return default
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise _bad(f"invalid {name} specified")
        try:
            return int(value)
        except ValueError:
            raise _bad(f"invalid {name} specified") from None

    def _user_param(self, params: dict[str, Any]) -> dict[str, Any]:
        # The Bot API server reads user_id as a positive 64-bit integer; anything else (missing,
        # zero, negative, not a number, out of range) is "invalid user_id specified".
        value = params.get("user_id")
        try:
            user_id = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else 0
        except ValueError:
            user_id = 0
        if not 0 < user_id < 2**63:
            raise _bad("invalid user_id specified")
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        return user

    @staticmethod
    def _formatted(
        params: dict[str, Any], field: str, limit: int, too_long: str, *, prefix: str = ""
    ) -> tuple[str, list[dict[str, Any]]]:
        """Text plus entities: explicit ``<field>_entities``/``entities`` or parsed parse_mode."""
        text = params.get(field)
        text = "" if text is None else str(text)
        entities = params.get(f"{prefix}entities" if prefix or field == "text" else f"{field}_entities")
        parse_mode = params.get(f"{prefix}parse_mode")
        if entities:
            pass
        elif parse_mode in (None, ""):
            entities = []
        elif str(parse_mode).lower() == "html":
            try:
                text, entities = _TelegramHTML(text).result()
            except _EntityParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif str(parse_mode).lower() in ("markdown", "markdownv2"):
            entities = []  # not parsed: text is kept verbatim (see module docs)
        else:
            raise _bad("unsupported parse_mode")
        # The Bot API says "1-4096 characters after entities parsing" without saying which characters;
        # entity offsets are UTF-16 code units, and so is this count: stricter than counting code
        # points (an emoji is 2 units), so a text the fake accepts is never one Telegram refuses.
        if utf16_len(text) > limit:
            raise _bad(too_long)
        return text, list(entities)

    def _reply_to(self, chat: dict[str, Any], params: dict[str, Any]) -> dict[str, Any] | None:
        """The replied message from ``reply_parameters`` (the only way to reply in the current API)."""
        reply = params.get("reply_parameters")
        if reply is None:
            return None
        if not isinstance(reply, dict):
            raise _bad("can't parse reply parameters JSON object")
        if unknown := sorted(set(reply) - _REPLY_PARAMETERS):
            raise _bad(f'unknown field "{unknown[0]}" in reply_parameters')
        message_id = reply.get("message_id")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise _bad("can't parse reply parameters: field \"message_id\" must be a number")
        source = chat
        if reply.get("chat_id") not in (None, "", chat["id"]):  # a reply to a message in another chat
            source = self._target_chat({"chat_id": reply["chat_id"]})
        replied = self._messages.get(source["id"], {}).get(message_id)
        if replied is None and not _flag(reply.get("allow_sending_without_reply")):
            raise _bad("message to be replied not found")
        return _strip_reply(replied) if replied else None

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        """Validate like Telegram; only inline keyboards are echoed in the Message."""
        if not isinstance(markup, dict):
            return None
        rows = markup.get("inline_keyboard")
        if rows is None:
            return None
        for row in rows:
            for button in row:
                if not button.get("text"):
                    raise _bad("BUTTON_TEXT_INVALID")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _send(self, chat: dict[str, Any], params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        """Common tail of send*: build, store and record the bot's message."""
        message = self._new_message(chat["id"], self.bot_user, None)
        if (thread_id := params.get("message_thread_id")) is not None:
            message["message_thread_id"] = thread_id
        if replied := self._reply_to(chat, params):
            message["reply_to_message"] = replied
        message.update(content)
        if markup := self._check_markup(params.get("reply_markup")):
            message["reply_markup"] = markup
        self._store(message)
        self._sent.setdefault(chat["id"], []).append(message)
        return message

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        caption, entities = self._formatted(params, "caption", _MAX_CAPTION, "message caption is too long")
        content: dict[str, Any] = {}
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # ------------------------------------------------------------------ methods: bot & updates

    @_api("getMe")
    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @_api("logOut")
    def _log_out(self, params: dict[str, Any]) -> bool:
        return True

    @_api("close")
    def _close(self, params: dict[str, Any]) -> bool:
        return True

    def _allowed(self) -> frozenset[str]:
        return frozenset(self._allowed_updates) if self._allowed_updates else DEFAULT_UPDATE_TYPES

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        # Telegram never creates updates of types the bot did not subscribe to; dropping
        # them when met keeps tests independent of when allowed_updates was sent.
        allowed = self._allowed()
        if any(_update_type(u) not in allowed for u in self._updates):
            self._set_queue([u for u in self._updates if _update_type(u) in allowed])
        return self._updates[:limit]

    _WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; "
                         "use deleteWebhook to delete the webhook first")

    @_api("getUpdates")
    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook:
            raise _ApiError(409, self._WEBHOOK_CONFLICT)
        offset = self._int(params, "offset", required=False, default=0) or 0
        limit = min(max(self._int(params, "limit", required=False, default=100) or 100, 1), 100)
        # Telegram clamps the long-poll timeout to 0..50 seconds (telegram-bot-api LONG_POLL_MAX_TIMEOUT).
        timeout = min(max(self._int(params, "timeout", required=False, default=0) or 0, 0), 50)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"]
        if offset < 0:  # the last -offset updates; older ones are forgotten
            self._set_queue(self._updates[offset:])
        elif offset:
            self._set_queue([u for u in self._updates if u["update_id"] >= offset or id(u) in self._redeliver])
        self._poll_generation += 1
        generation = self._poll_generation
        if timeout and not self._closing and not self._deliverable(limit):
            self._long_polls_waiting += 1
            self._signal.fire()
            try:
                await self._signal.wait_for(
                    lambda: (generation != self._poll_generation or self._closing
                             or self._webhook or self._deliverable(limit)),
                    timeout,
                )
            except TimeoutError:
                pass
            finally:
                self._long_polls_waiting -= 1
        if generation != self._poll_generation:
            raise _ApiError(409, "Conflict: terminated by other getUpdates request; "
                                 "make sure that only one bot instance is running")
        if self._webhook:  # set while we waited: these updates now belong to the webhook
            raise _ApiError(409, self._WEBHOOK_CONFLICT)
        updates = self._deliverable(limit)
        self._redeliver.difference_update(id(u) for u in updates)
        return updates

    @_api("setWebhook")
    def _set_webhook(self, params: dict[str, Any]) -> _Described:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        if not url.startswith(("https://", "http://")):  # http accepted for local tests
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"]
        if _flag(params.get("drop_pending_updates")):
            self._clear_updates()
        max_connections = self._int(params, "max_connections", required=False, default=40)
        webhook = {"url": url, "secret_token": secret, "max_connections": max_connections}
        already = self._webhook == webhook
        self._webhook = webhook
        self._webhook_error = None
        if self._delivery is None:
            logger.warning("webhook set to %s but delivery is not running; call FakeTelegram.start()", url)
        self._signal.fire()
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    @_api("deleteWebhook")
    def _delete_webhook(self, params: dict[str, Any]) -> _Described:
        if _flag(params.get("drop_pending_updates")):
            self._clear_updates()
        existed, self._webhook = self._webhook is not None, None
        self._signal.fire()
        return _Described(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    @_api("getWebhookInfo")
    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": sum(1 for u in self._updates if _update_type(u) in self._allowed()),
        }
        if self._webhook:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    @_api("setMyCommands")
    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands is empty" if commands is None else "can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict) or not _BOT_COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params.get("scope"), params.get("language_code"))] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    @_api("getMyCommands")
    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return list(self._commands.get(key, ()))

    @_api("deleteMyCommands")
    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params.get("scope"), params.get("language_code")), None)
        return True

    # ------------------------------------------------------------------ methods: messages

    @_api("sendMessage")
    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        text, entities = self._formatted(params, "text", _MAX_TEXT, "message is too long")
        if not text.strip():
            raise _bad("message text is empty")
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self._send(chat, params, content)

    @_api("sendPhoto")
    def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        photo = params.get("photo")
        if photo in (None, ""):
            raise _bad("there is no photo in the request")
        known = isinstance(photo, str) and photo in self._files and photo.startswith("AgAC")
        file_id = photo if known else self._new_file("photo")  # uploads and URLs get a new photo
        return self._send(chat, params, {"photo": self._photo_sizes(file_id), **self._caption(params)})

    @_api("sendDocument")
    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        document = params.get("document")
        if document in (None, ""):
            raise _bad("there is no document in the request")
        known = isinstance(document, str) and document in self._files
        info = self._files[document if known else self.register_upload("file")]
        fields = ("file_id", "file_unique_id", "file_name", "file_size")
        content = {"document": {key: info[key] for key in fields if key in info}}
        return self._send(chat, params, {**content, **self._caption(params)})

    @_api("getFile")
    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file_id")
        record = self._file_record(file_id) if isinstance(file_id, str) and file_id else None
        if record is None:
            raise _bad("invalid file_id")
        if file_id not in self._file_paths:  # Telegram numbers a bot's file paths from 0
            if file_id.startswith("AgAC") or self._files.get(file_id, {}).get("kind") == "photo":
                path = f"photos/file_{len(self._file_paths)}.jpg"
            else:
                name = str(self._files[file_id].get("file_name", ""))
                extension = name.rpartition(".")[2] if "." in name else ""
                path = f"documents/file_{len(self._file_paths)}" + (f".{extension}" if extension else "")
            self._file_paths[file_id] = path
        return {**record, "file_path": self._file_paths[file_id]}

    @_api("sendChatAction")
    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        if not params.get("action"):
            raise _bad("action is empty")
        return True

    @_api("sendPoll")
    def _send_poll(self, params: dict[str, Any]) -> dict[str, Any]:
        # Limits from the sendPoll docs; wordings from TDLib where it has one (poll_option.cpp).
        chat = self._target_chat(params)
        question, question_entities = self._formatted(
            params, "question", 300, "poll question length must not exceed 300", prefix="question_"
        )
        if not question.strip():
            raise _bad("poll question must be non-empty")
        options = params.get("options")
        if not isinstance(options, list):
            raise _bad("can't parse options JSON object")
        if not options:
            raise _bad("poll must have at least one answer option")
        if len(options) > 12:
            raise _bad("poll can't have more than 12 options")
        texts = []
        for option in options:  # InputPollOption objects; the server still takes plain strings
            if isinstance(option, dict):
                if unknown := sorted(set(option) - _POLL_OPTION_FIELDS):
                    raise _bad(f'unknown field "{unknown[0]}" in InputPollOption')
                option = option.get("text")
            if not isinstance(option, str):
                raise _bad("expected an option to be of type String")
            texts.append(option)
        if not all(text.strip() for text in texts):
            raise _bad("poll options must be non-empty")
        if not all(utf16_len(text) <= 100 for text in texts):
            raise _bad("poll options length must not exceed 100")
        kind = str(params.get("type") or "regular")
        if kind not in ("regular", "quiz"):
            raise _bad("unsupported poll type specified")
        poll: dict[str, Any] = {
            "id": str(5_000_000_000_000_000_000 + next(self._ids)),
            "question": question,
            "options": [{"persistent_id": str(i), "text": t, "voter_count": 0} for i, t in enumerate(texts)],
            "total_voter_count": 0,
            "is_closed": _flag(params.get("is_closed")),
            "is_anonymous": _flag(params.get("is_anonymous", True)),
            "type": kind,
            "allows_multiple_answers": _flag(params.get("allows_multiple_answers")) and kind == "regular",
            "allows_revoting": _flag(params.get("allows_revoting", kind == "regular")),
            "members_only": _flag(params.get("members_only")),
        }
        if question_entities:
            poll["question_entities"] = question_entities
        if kind == "quiz":
            correct = params.get("correct_option_ids")
            # "monotonically increasing 0-based identifiers of the correct answer options"
            if not isinstance(correct, list) or not correct or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(texts) for i in correct
            ) or correct != sorted(set(correct)):
                raise _bad("wrong correct option ids specified")
            poll["correct_option_ids"] = correct
            poll["correct_option_id"] = correct[0]  # pre-9.6 field, still read by older code
        elif params.get("correct_option_ids") is not None:
            raise _bad("correct option ids can be specified only for quizzes")
        if params.get("explanation"):
            if kind != "quiz":
                raise _bad("explanation can be specified only for quizzes")
            explanation, explanation_entities = self._formatted(
                params, "explanation", 200, "explanation is too long", prefix="explanation_"
            )
            if explanation.count("\n") > 2:  # "0-200 characters with at most 2 line feeds"
                raise _bad("explanation can't contain more than 2 line feeds")
            poll["explanation"] = explanation
            if explanation_entities:
                poll["explanation_entities"] = explanation_entities
        open_period = self._int(params, "open_period", required=False)
        close_date = self._int(params, "close_date", required=False)
        if open_period is not None and close_date is not None:
            raise _bad("open_period and close_date can't be used together")
        if open_period is not None:
            if not _POLL_PERIOD_MIN <= open_period <= _POLL_PERIOD_MAX:
                raise _bad(f"open_period must be {_POLL_PERIOD_MIN}-{_POLL_PERIOD_MAX} seconds")
            poll["open_period"] = open_period
            poll["close_date"] = self._now() + open_period
        elif close_date is not None:
            if not _POLL_PERIOD_MIN <= close_date - self._now() <= _POLL_PERIOD_MAX:
                raise _bad(f"close_date must be {_POLL_PERIOD_MIN}-{_POLL_PERIOD_MAX} seconds in the future")
            poll["close_date"] = close_date
        if params.get("description"):
            description, _ = self._formatted(
                params, "description", _MAX_CAPTION, "poll description is too long", prefix="description_"
            )
            poll["description"] = description
        message = self._send(chat, params, {"poll": poll})
        self._polls[poll["id"]] = {
            "chat_id": chat["id"], "message_id": message["message_id"], "poll": poll, "votes": {},
        }
        return message

    @_api("stopPoll")
    def _stop_poll(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        message_id = self._int(params, "message_id")
        message = self._messages.get(chat["id"], {}).get(message_id)  # type: ignore[arg-type]
        if message is None or "poll" not in message:
            raise _bad("message with poll to stop not found")
        if message["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        if message["poll"]["is_closed"]:
            raise _bad("poll has already been closed")
        poll = {**message["poll"], "is_closed": True}
        updated = {**message, "poll": poll}
        if markup := self._check_markup(params.get("reply_markup")):
            updated["reply_markup"] = markup
        self._store(updated)
        self._polls[poll["id"]]["poll"] = poll
        return poll

    @_api("editMessageText")
    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text, entities = self._formatted(params, "text", _MAX_TEXT, "message is too long")
        if not text.strip():
            raise _bad("message text is empty")
        if params.get("inline_message_id"):
            return True  # inline messages are not tracked; Telegram answers True too
        chat = self._target_chat(params)
        message_id = self._int(params, "message_id")
        message = self._messages.get(chat["id"], {}).get(message_id)  # type: ignore[arg-type]
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_id or "text" not in message:
            raise _bad("message can't be edited")
        markup = self._check_markup(params.get("reply_markup"))
        unchanged = (message["text"], message.get("entities", []), message.get("reply_markup"))
        if unchanged == (text, entities, markup):
            raise _bad("message is not modified: specified new message content and reply markup are "
                       "exactly the same as a current content and reply markup of the message")
        updated = {key: value for key, value in message.items() if key not in ("entities", "reply_markup")}
        updated.update({"edit_date": self._now(), "text": text})
        if entities:
            updated["entities"] = entities
        if markup:
            updated["reply_markup"] = markup
        self._store(updated)
        return updated

    @_api("deleteMessage")
    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        message_id = self._int(params, "message_id", required=False, default=0) or 0
        if message_id <= 0:  # the Bot API server reads a missing or negative id as 0
            raise _bad("message identifier is not specified")
        message = self._messages.get(chat["id"], {}).get(message_id)
        if message is None:
            raise _bad("message to delete not found")
        if message["from"]["id"] != self.bot_id and not self._bot_can(chat, "can_delete_messages"):
            raise _bad("message can't be deleted")
        # deleteMessage docs: "A message can only be deleted if it was sent less than 48 hours ago"
        # (Telegram answers MESSAGE_DELETE_FORBIDDEN, which the Bot API words as below).
        if self._now() - int(message["date"]) >= _DELETE_WINDOW:
            raise _bad("message can't be deleted")
        del self._messages[chat["id"]][message_id]
        return True

    @_api("pinChatMessage")
    def _pin_chat_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        message_id = self._int(params, "message_id")
        if message_id not in self._messages.get(chat["id"], {}):
            raise _bad("message to pin not found")
        if not self._bot_can(chat, "can_pin_messages"):
            raise _bad("not enough rights to manage pinned messages in the chat")
        pinned = self._pinned.setdefault(chat["id"], [])
        if message_id in pinned:
            pinned.remove(message_id)
        pinned.append(message_id)  # type: ignore[arg-type]
        return True

    @_api("unpinChatMessage")
    def _unpin_chat_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        if not self._bot_can(chat, "can_pin_messages"):
            raise _bad("not enough rights to manage pinned messages in the chat")
        pinned = self._pinned.get(chat["id"], [])
        message_id = self._int(params, "message_id", required=False)
        if message_id is None and pinned:
            message_id = pinned[-1]
        if message_id not in pinned:
            raise _bad("message to unpin not found")
        pinned.remove(message_id)
        return True

    @_api("answerCallbackQuery")
    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise _bad("callback_query_id is empty")
        if query_id not in self._pending_callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        # answerCallbackQuery text is "0-200 characters"; Telegram refuses longer with MESSAGE_TOO_LONG.
        if len(str(params.get("text") or "")) > _CALLBACK_TEXT_MAX:
            raise _bad("MESSAGE_TOO_LONG")
        self._pending_callbacks.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    # ------------------------------------------------------------------ methods: chats & members

    @_api("getChat")
    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        info: dict[str, Any] = {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }
        if chat["type"] in ("group", "supergroup"):
            info["permissions"] = dict(self._chat_permissions.get(chat["id"]) or dict.fromkeys(PERMISSIONS, True))
        if pinned := self._pinned.get(chat["id"]):
            if message := self.get_message(chat["id"], pinned[-1]):
                info["pinned_message"] = message
        return info

    @_api("getChatMember")
    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        return self._member_dict(chat["id"], self._user_param(params)["id"])

    @_api("getChatMemberCount")
    def _get_chat_member_count(self, params: dict[str, Any]) -> int:
        chat = self._target_chat(params)
        if chat["type"] == "private":
            return 2
        members = [self._member_dict(chat["id"], user_id) for chat_id, user_id in list(self._members)
                   if chat_id == chat["id"]]
        return sum(1 for m in members if m["status"] in ("creator", "administrator", "member") or m.get("is_member"))

    @_api("getChatAdministrators")
    def _get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._target_chat(params)
        if chat["type"] == "private":
            raise _bad("there are no administrators in the private chat")
        admins = [
            self._member_dict(chat_id, user_id) for (chat_id, user_id) in list(self._members) if chat_id == chat["id"]
        ]
        return [m for m in admins if m["status"] in ("creator", "administrator")]

    def _moderation_target(self, params: dict[str, Any], verb: str) -> tuple[dict[str, Any], dict[str, Any]]:
        chat = self._target_chat(params)
        user = self._user_param(params)
        if chat["type"] == "private":
            raise _bad("chat member status can't be changed in private chats")
        if not self._bot_can(chat, "can_restrict_members"):
            raise _bad("not enough rights to restrict/unrestrict chat member")
        if user["id"] == self.bot_id:
            raise _bad(f"can't {verb} self")
        status = self._member_state(chat["id"], user["id"])["status"]
        if status == "creator":
            raise _bad(f"can't {verb} chat owner")
        if status == "administrator":
            raise _bad("user is an administrator of the chat")
        return chat, user

    def _until(self, params: dict[str, Any]) -> int:
        until = self._int(params, "until_date", required=False, default=0) or 0
        delta = until - self._now()
        return until if _FOREVER_MIN <= delta <= _FOREVER_MAX else 0

    @_api("banChatMember")
    def _ban_chat_member(self, params: dict[str, Any]) -> bool:
        chat, user = self._moderation_target(params, "remove")
        state = {"status": "kicked", "until_date": self._until(params)}
        self._set_member(chat["id"], user["id"], state, actor=self.bot_user, date=None)
        if _flag(params.get("revoke_messages")):
            messages = self._messages.get(chat["id"], {})
            for message_id in [i for i, m in messages.items() if m["from"]["id"] == user["id"]]:
                del messages[message_id]
        return True

    @_api("unbanChatMember")
    def _unban_chat_member(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        if chat["type"] not in ("supergroup", "channel"):  # Bot API server's own check and wording
            raise _bad("method is available for supergroup and channel chats only")
        chat, user = self._moderation_target(params, "remove")
        status = self._member_state(chat["id"], user["id"])["status"]
        # Without only_if_banned Telegram also removes a current member from the chat.
        removes_member = not _flag(params.get("only_if_banned")) and status in ("member", "restricted")
        if status == "kicked" or removes_member:
            self._set_member(chat["id"], user["id"], {"status": "left"}, actor=self.bot_user, date=None)
        return True

    @_api("restrictChatMember")
    def _restrict_chat_member(self, params: dict[str, Any]) -> bool:
        chat, user = self._moderation_target(params, "restrict")
        if chat["type"] != "supergroup":
            raise _bad("method is available only for supergroups")
        permissions = params.get("permissions")
        if not isinstance(permissions, dict):
            raise _bad("permissions is empty" if permissions is None else "can't parse permissions JSON object")
        granted = _chat_permissions(permissions, independent=_flag(params.get("use_independent_chat_permissions")))
        previous = self._member_state(chat["id"], user["id"])
        is_member = previous["status"] in ("member", "restricted") and previous.get("is_member", True)
        if all(granted.values()):  # equal to the chat defaults: the restriction is lifted
            state: dict[str, Any] = {"status": "member" if is_member else "left"}
        else:
            state = {"status": "restricted", "is_member": is_member, "permissions": granted,
                     "until_date": self._until(params)}
        self._set_member(chat["id"], user["id"], state, actor=self.bot_user, date=None)
        return True

    # ------------------------------------------------------------------ webhook delivery

    def _next_webhook_update(self) -> dict[str, Any] | None:
        if not self._webhook:
            return None
        pending = self._deliverable(1)
        return pending[0] if pending else None

    async def _deliver_webhooks(self) -> None:
        """Post queued updates one at a time, in order; keep each until a 2xx answer."""
        failures_in_row = 0
        while True:
            update = await self._signal.wait_for(self._next_webhook_update, None)
            webhook = self._webhook
            assert webhook is not None and self._http is not None
            headers = {WEBHOOK_HEADER: webhook["secret_token"]} if webhook["secret_token"] else {}
            self.webhook_deliveries += 1
            try:
                async with self._http.post(webhook["url"], json=update, headers=headers) as response:
                    if 200 <= response.status < 300:
                        reply = await self._read_webhook_reply(response)
                    else:
                        answer = f"{response.status} {response.reason}"
                        raise _WebhookError(f"Wrong response from the webhook: {answer}")
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, _WebhookError) as error:
                self.webhook_failures += 1
                failures_in_row += 1
                message = str(error) or type(error).__name__
                self._webhook_error = (self._now(), message)
                logger.info("webhook delivery of update %s failed: %s", update["update_id"], message)
                await asyncio.sleep(self.webhook_retry_delay * 2 ** min(failures_in_row - 1, 5))
                continue
            failures_in_row = 0
            self._set_queue([u for u in self._updates if u is not update])
            self._signal.fire()
            if reply:  # "reply to webhook": the answer body is itself a method call
                method = reply.pop("method")
                status, body = await self.call(str(method), reply)
                if status != 200:
                    logger.warning("webhook reply %s failed: %s", method, body.get("description"))

    async def _read_webhook_reply(self, response: aiohttp.ClientResponse) -> dict[str, Any] | None:
        content_type = response.content_type
        raw: dict[str, Any] = {}
        uploads: dict[str, str] = {}
        if content_type == "application/json":
            try:
                body = await response.json()
            except ValueError:
                return None
            raw = body if isinstance(body, dict) else {}
        elif content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader(response.headers, response.content)
            raw, uploads = await read_multipart(reader, self)
        if not raw.get("method"):
            return None
        params = decode_params(raw)
        resolve_attachments(params, uploads)
        return params


class _WebhookError(Exception):
    pass


async def read_multipart(
    reader: aiohttp.MultipartReader, fake: FakeTelegram
) -> tuple[dict[str, str], dict[str, str]]:
    """Read a multipart body into (string fields, uploaded part name -> file_id)."""
    fields: dict[str, str] = {}
    uploads: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
            continue
        if part.filename:
            uploads[part.name] = fake.register_upload(part.filename, len(await part.read()))
        else:
            fields[part.name] = await part.text()
    return fields, uploads


def _visible_text(message: Mapping[str, Any]) -> str:
    poll = message.get("poll") or {}
    return str(message.get("text") or message.get("caption") or poll.get("question") or "")


def main(argv: Iterable[str] | None = None) -> None:
    from bot.testing.fake_bot_api_server import main as server_main

    server_main(argv)


if __name__ == "__main__":
    main()
