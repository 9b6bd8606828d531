"""Chats and members: getChat*, and moderation (ban, unban, restrict) with Telegram's rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.testing.fake_bot_api.dispatch import _api
from bot.testing.fake_bot_api.errors import _bad
from bot.testing.fake_bot_api.params import _flag
from bot.testing.fake_bot_api.state import PERMISSIONS, FakeState

_FOREVER_MIN, _FOREVER_MAX = 30, 366 * 86400  # until_date outside this window = forever

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


class MembersMixin(FakeState):
    """The chat and chat member methods."""

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
