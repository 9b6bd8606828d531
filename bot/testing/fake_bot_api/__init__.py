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
method (``_PARAMS``, in ``params``) is refused, where Telegram would silently ignore it.  Each
module states the simplifications it makes.

Layout, one concept per module; ``FakeTelegram`` (``telegram``) combines the mixins:

- ``errors``: ``_ApiError`` and the fixed 401/404 bodies
- ``params``: decoding request fields, the parameter table and its check, multipart bodies
- ``entities``: UTF-16 lengths, command entities, the HTML parse mode
- ``signals``, ``limits``: waking waiters on state changes; flood-limit buckets
- ``state``: ``FakeState``, users, chats, members and rights, messages, the update queue
- ``dispatch``: the method table (``_api``), ``call``, ``ApiCall`` records
- ``updates``: getUpdates, webhooks and their delivery
- ``messages``, ``polls``, ``files``, ``members``, ``commands``: the method groups
- ``scenario``: what users do (tests inject it); ``inspection``: what tests read
"""

from __future__ import annotations

from collections.abc import Iterable

# Every name the single module had stays importable from here (tests use _PARAMS and PERMISSIONS).
from bot.testing.fake_bot_api.dispatch import ApiCall
from bot.testing.fake_bot_api.entities import command_entities, utf16_len
from bot.testing.fake_bot_api.errors import NOT_FOUND, UNAUTHORIZED
from bot.testing.fake_bot_api.params import (
    _PARAMS,
    FREE_TEXT_FIELDS,
    decode_params,
    read_multipart,
    resolve_attachments,
)
from bot.testing.fake_bot_api.state import ADMIN_RIGHTS, PERMISSIONS
from bot.testing.fake_bot_api.telegram import FakeTelegram
from bot.testing.fake_bot_api.updates import ALL_UPDATE_TYPES, DEFAULT_UPDATE_TYPES, WEBHOOK_HEADER

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


def main(argv: Iterable[str] | None = None) -> None:
    from bot.testing.fake_bot_api_server import main as server_main

    server_main(argv)
