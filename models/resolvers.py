"""Row ids of chats, users and memberships: the id cache all units of work share, and the resolver.

The resolver maps refs to row ids within one transaction, creating chat, user and membership rows
on first sight; ids reach the shared cache only after that transaction commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import ChatRef, MemberRef, UserRef
from models.common import MEMBERSHIPS, chat_t, membership_t, user_t


class IdCache:
    """Database ids of chats, users and memberships, shared by all units of work.

    Ids enter only after the transaction that created them commits, so a rolled-back
    insert never leaves a dangling id behind.
    """

    def __init__(self) -> None:
        self.chats: dict[ChatRef, int] = {}
        self.users: dict[UserRef, int] = {}
        self.members: dict[MemberRef, int] = {}

    def forget_user(self, user: UserRef) -> None:
        self.users.pop(user, None)
        for member in [member for member in self.members if member.user == user]:
            del self.members[member]

    def merge(self, other: IdCache) -> None:
        self.chats.update(other.chats)
        self.users.update(other.users)
        self.members.update(other.members)


class IdSource(Protocol):
    """What a resolver needs of storage: the id cache shared by all units of work, and the dialect's insert."""

    ids: IdCache
    insert: Callable[..., Any]


# Built once: constructing a statement per call costs more than running it on this hot path.
IN_CHAT = (chat_t.c.platform == bindparam("chat_platform"), chat_t.c.external_id == bindparam("chat_external_id"))
FIND_MEMBERSHIP = (
    select(membership_t.c.id)
    .select_from(MEMBERSHIPS)
    .where(
        *IN_CHAT,
        user_t.c.platform == bindparam("user_platform"),
        user_t.c.external_id == bindparam("user_external_id"),
    )
)
FIND_MEMBERSHIPS = select(membership_t.c.id, membership_t.c.chat_id, membership_t.c.user_id).where(
    membership_t.c.chat_id.in_(bindparam("chat_ids", expanding=True)),
    membership_t.c.user_id.in_(bindparam("user_ids", expanding=True)),
)


class MemberResolver:
    """Maps refs to row ids, creating chat, user and membership rows on first sight."""

    def __init__(self, connection: AsyncConnection, storage: IdSource, new_ids: IdCache) -> None:
        self._connection = connection
        self._storage = storage
        self._new = new_ids

    def known(self, member: MemberRef) -> int | None:
        return self._storage.ids.members.get(member) or self._new.members.get(member)

    async def find(self, member: MemberRef) -> int | None:
        """The membership id without creating anything."""
        known = self.known(member)
        if known is not None:
            return known
        params = {
            "chat_platform": member.chat.platform,
            "chat_external_id": member.chat.external_id,
            "user_platform": member.user.platform,
            "user_external_id": member.user.external_id,
        }
        return (await self._connection.execute(FIND_MEMBERSHIP, params)).scalar_one_or_none()

    async def find_many(self, members: Iterable[MemberRef]) -> dict[MemberRef, int]:
        """Membership ids of the members that exist, creating nothing (safe on a read-only unit of work)."""
        ids, missing = self._split_known(members)
        if missing:
            # Chats and users by their unique (platform, external id) index, then memberships by
            # (chat_id, user_id): row-value IN lists are not index-friendly on SQLite.
            chats = await _ids_of(self._connection, chat_t, list({m.chat for m in missing}))
            users = await _ids_of(self._connection, user_t, list({m.user for m in missing}))
            pairs = {(chats[m.chat], users[m.user]): m for m in missing if m.chat in chats and m.user in users}
            ids.update(await self._membership_ids(pairs))
        return ids

    def _split_known(self, members: Iterable[MemberRef]) -> tuple[dict[MemberRef, int], list[MemberRef]]:
        """({member: id} for the cached ones, the others), each member once."""
        ids: dict[MemberRef, int] = {}
        missing: list[MemberRef] = []
        for member in dict.fromkeys(members):
            known = self.known(member)
            if known is None:
                missing.append(member)
            else:
                ids[member] = known
        return ids, missing

    async def _membership_ids(self, pairs: dict[tuple[int, int], MemberRef]) -> dict[MemberRef, int]:
        """Ids of the memberships at (chat_id, user_id): two plain IN lists, then keep the wanted pairs."""
        if not pairs:
            return {}
        rows = await self._connection.execute(
            FIND_MEMBERSHIPS, {"chat_ids": sorted({c for c, _ in pairs}), "user_ids": sorted({u for _, u in pairs})}
        )
        return {pairs[(row.chat_id, row.user_id)]: row.id for row in rows if (row.chat_id, row.user_id) in pairs}

    async def ensure(self, members: Iterable[MemberRef]) -> dict[MemberRef, int]:
        """Membership ids for all ``members``, creating the missing rows."""
        ids, missing = self._split_known(members)
        if not missing:
            return ids
        chats = await self._ref_ids(chat_t, {m.chat for m in missing}, self._storage.ids.chats, self._new.chats)
        users = await self._ref_ids(user_t, {m.user for m in missing}, self._storage.ids.users, self._new.users)
        now = datetime.now(UTC)
        pairs = {(chats[m.chat], users[m.user]): m for m in missing}
        await self._connection.execute(
            self._storage.insert(membership_t).on_conflict_do_nothing(index_elements=["chat_id", "user_id"]),
            [{"chat_id": chat_id, "user_id": user_id, "joined_at": now} for chat_id, user_id in sorted(pairs)],
        )
        created = await self._membership_ids(pairs)
        self._new.members.update(created)
        ids.update(created)
        return ids

    async def chat_ids(self, chats: Iterable[ChatRef]) -> dict[ChatRef, int]:
        """Row ids of the chats, creating the missing rows."""
        return await self._ref_ids(chat_t, set(chats), self._storage.ids.chats, self._new.chats)

    async def chat_id(self, chat: ChatRef) -> int:
        """The row id of one chat, creating the row if missing."""
        [chat_id] = (await self.chat_ids([chat])).values()
        return chat_id

    async def user_ids(self, users: Iterable[UserRef]) -> dict[UserRef, int]:
        """Row ids of the users, creating the missing rows."""
        return await self._ref_ids(user_t, set(users), self._storage.ids.users, self._new.users)

    async def _ref_ids(self, table: Any, refs: set[Any], cache: dict[Any, int], new: dict[Any, int]) -> dict[Any, int]:
        ids = {ref: cache.get(ref) or new.get(ref) for ref in refs}
        missing = [ref for ref, known in ids.items() if known is None]
        if missing:
            await self._connection.execute(
                self._storage.insert(table).on_conflict_do_nothing(index_elements=["platform", "external_id"]),
                [{"platform": ref.platform, "external_id": ref.external_id} for ref in missing],
            )
            for ref, row_id in (await _ids_of(self._connection, table, missing)).items():
                ids[ref] = new[ref] = row_id
        return ids  # type: ignore[return-value]


async def _ids_of(connection: AsyncConnection, table: Any, refs: Sequence[Any]) -> dict[Any, int]:
    by_platform: dict[str, dict[str, Any]] = defaultdict(dict)
    for ref in refs:
        by_platform[ref.platform][ref.external_id] = ref
    ids: dict[Any, int] = {}
    for platform, wanted in by_platform.items():
        rows = await connection.execute(
            select(table.c.id, table.c.external_id).where(
                table.c.platform == platform, table.c.external_id.in_(bindparam("external_ids", expanding=True))
            ),
            {"external_ids": list(wanted)},
        )
        for row in rows:
            ids[wanted[row.external_id]] = row.id
    return ids


async def find_user_id(connection: AsyncConnection, user: UserRef) -> int | None:
    found = select(user_t.c.id).where(user_t.c.platform == user.platform, user_t.c.external_id == user.external_id)
    return (await connection.execute(found)).scalar_one_or_none()
