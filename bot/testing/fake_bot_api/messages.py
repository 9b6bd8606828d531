"""Messages the bot sends, edits, deletes and pins: send*, editMessageText, deleteMessage, pins."""

from __future__ import annotations

from typing import Any

from bot.testing.fake_bot_api.dispatch import _api
from bot.testing.fake_bot_api.entities import _EntityParseError, _TelegramHTML, utf16_len
from bot.testing.fake_bot_api.errors import _bad
from bot.testing.fake_bot_api.params import _REPLY_PARAMETERS, _flag
from bot.testing.fake_bot_api.state import FakeState, _strip_reply

_MAX_TEXT, _MAX_CAPTION = 4096, 1024
_DELETE_WINDOW = 48 * 3600  # deleteMessage: "a message can only be deleted if it was sent less than 48 hours ago"


class MessagesMixin(FakeState):
    """Text, caption and markup checks shared by send methods, and the message methods."""

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

    @_api("sendChatAction")
    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._target_chat(params)
        if not params.get("action"):
            raise _bad("action is empty")
        return True

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
