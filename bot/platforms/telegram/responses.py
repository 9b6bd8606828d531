"""Keep aiogram's parsed response types alive.

aiogram parses every API answer with ``Response[method.__returning__]``. pydantic caches such
parametrised models only weakly, so after a garbage collection the next call rebuilds the
``Response[Message]`` schema (tens of milliseconds). Holding them here keeps sends cheap.
"""

from __future__ import annotations

from typing import Any

from aiogram import methods
from aiogram.methods.base import Response

_USED_METHODS = (
    methods.SendMessage,
    methods.SendPhoto,
    methods.SendDocument,
    methods.SendPoll,
    methods.StopPoll,
    methods.EditMessageText,
    methods.DeleteMessage,
    methods.PinChatMessage,
    methods.GetMe,
    methods.GetUpdates,
    methods.GetChatMember,
    methods.GetChatAdministrators,
    methods.BanChatMember,
    methods.UnbanChatMember,
    methods.RestrictChatMember,
    methods.AnswerCallbackQuery,
    methods.SetMyCommands,
    methods.SetWebhook,
    methods.DeleteWebhook,
)

_pinned: list[Any] = []


def pin_response_types() -> None:
    if not _pinned:
        _pinned.extend(Response[method.__returning__] for method in _USED_METHODS)  # type: ignore[name-defined]
