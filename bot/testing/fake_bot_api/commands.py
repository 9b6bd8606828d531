"""The bot itself: getMe, logOut/close, its command menu, and answers to button presses."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.testing.fake_bot_api.dispatch import _api
from bot.testing.fake_bot_api.errors import _bad
from bot.testing.fake_bot_api.state import FakeState

_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_CALLBACK_TEXT_MAX = 200  # answerCallbackQuery text: 0-200 characters


class CommandsMixin(FakeState):
    """getMe, logOut, close, set/get/deleteMyCommands and answerCallbackQuery."""

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope if isinstance(scope, dict) and scope else {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # ------------------------------------------------------------------ methods: bot & commands

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

    # ------------------------------------------------------------------ methods: callbacks

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
