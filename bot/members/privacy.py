"""A member's own data: a copy on request (/mydata), and forgetting her (/forgetme).

Forgetting detaches her history from her identity instead of deleting it: her account gets a
random id and loses name, username and language, moderators' notes about her are cleared, and
ledger rows stay, so group totals and other members' standings remain right.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from bot.core.ports import UnitOfWorkFactory
from bot.domain import UserRef


class PrivacyService:
    def __init__(self, uow_factory: UnitOfWorkFactory, on_forgotten: Sequence[Callable[[UserRef], None]] = ()) -> None:
        self._uow_factory = uow_factory
        self._on_forgotten = on_forgotten

    async def export(self, user: UserRef) -> dict[str, Any] | None:
        """Everything stored about ``user``, as plain JSON-ready data; None if nothing is."""
        async with self._uow_factory(read_only=True) as uow:
            return await uow.privacy.export(user)

    async def forget(self, user: UserRef) -> bool:
        """Detach ``user``'s history from her identity; False if nothing was stored."""
        async with self._uow_factory() as uow:
            forgotten = await uow.privacy.forget(user, replacement_id=f"forgotten-{secrets.token_hex(8)}")
            await uow.commit()
        if forgotten:
            for drop_cached in self._on_forgotten:  # in-memory caches must not bring her back
                drop_cached(user)
        return forgotten
