"""The fake's state: users, chats, memberships and permissions, messages, and the update queue.

``FakeState`` holds every attribute of ``FakeTelegram`` (the method groups are mixins over it)
and the internals they share: creating users and chats, membership and rights, storing messages,
queueing updates, and reading the chat and user a request names.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.testing.fake_bot_api.errors import _ApiError, _bad
from bot.testing.fake_bot_api.limits import _Bucket
from bot.testing.fake_bot_api.signals import _Signal

if TYPE_CHECKING:
    from bot.testing.fake_bot_api.dispatch import ApiCall

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


def _strip_reply(message: dict[str, Any]) -> dict[str, Any]:
    # Telegram never nests reply_to_message more than one level.
    return {key: value for key, value in message.items() if key != "reply_to_message"}


class FakeState:
    """State of the fake and the internals every method group shares."""

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
