"""Who wrote recent group messages: Telegram's reaction updates name the message, not its author."""

from __future__ import annotations

from bot.domain import MemberRef


class RecentAuthors:
    """The authors of the last ``capacity`` group messages seen by this process (oldest forgotten first).

    After a restart, reactions to messages from before it cannot be attributed and pay nothing.
    """

    # Reactions come within hours of a message; 50k messages is about 10 MB.
    def __init__(self, capacity: int = 50_000) -> None:
        self._authors: dict[tuple[int, int], MemberRef] = {}
        self._capacity = capacity

    def remember(self, chat_id: int, message_id: int, author: MemberRef) -> None:
        self._authors[(chat_id, message_id)] = author
        if len(self._authors) > self._capacity:
            del self._authors[next(iter(self._authors))]

    def author_of(self, chat_id: int, message_id: int) -> MemberRef | None:
        return self._authors.get((chat_id, message_id))
