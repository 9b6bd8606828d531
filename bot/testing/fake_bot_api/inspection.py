"""What tests read: recorded calls, sent messages, current state, and awaiting a condition."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.testing.fake_bot_api.dispatch import ApiCall
from bot.testing.fake_bot_api.state import FakeState


class InspectionMixin(FakeState):
    """Read-only views of the fake and waits on its state."""

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


def _visible_text(message: Mapping[str, Any]) -> str:
    poll = message.get("poll") or {}
    return str(message.get("text") or message.get("caption") or poll.get("question") or "")
