"""Request parameters: decoding them as Telegram does and refusing the ones it does not have.

The fake is as strict as Telegram, and one check is stricter on purpose: a parameter the current
Bot API does not list for the method (``_PARAMS``) is refused, where Telegram would silently
ignore it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp

from bot.testing.fake_bot_api.errors import _bad

if TYPE_CHECKING:
    from bot.testing.fake_bot_api.telegram import FakeTelegram

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
