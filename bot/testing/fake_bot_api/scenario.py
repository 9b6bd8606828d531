"""What users do: tests inject messages, joins, edits, button presses, votes and reactions,
or raw updates, and the fake queues the updates Telegram would send."""

from __future__ import annotations

import logging
from typing import Any

from bot.testing.fake_bot_api.entities import command_entities
from bot.testing.fake_bot_api.state import FakeState, _strip_reply

logger = logging.getLogger(__name__)


class ScenarioMixin(FakeState):
    """Injection of what users (and Telegram) do."""

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
