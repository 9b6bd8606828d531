"""The unit of work: the engines, what all units of work share, and one transaction per unit of work.

Which repositories a unit of work offers is decided in ``models.storage``, the one module that
imports them all; this module imports no repository, so repositories may depend on it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Self

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.errors import StorageConflict
from bot.core.ports import PointsMoved
from bot.domain import MemberRef
from models.engine import make_engine, make_read_engine
from models.resolvers import IdCache, MemberResolver
from models.tables import PointsDaily

daily_t = PointsDaily.__table__

logger = logging.getLogger(__name__)


class SqlDatabase:
    """A write engine and an optional read engine, with the id cache, dialect and observers units of work share."""

    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.ids = IdCache()
        self.insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        # The chat's local day of a points movement (the app sets the community's rule).
        self.day_of: Callable[[MemberRef, datetime], date] = lambda member, at: at.astimezone(UTC).date()
        upsert = self.insert(daily_t)
        self.add_daily_points = upsert.on_conflict_do_update(
            index_elements=["membership_id", "local_date"],
            set_={"earned": daily_t.c.earned + upsert.excluded.earned, "updated_at": upsert.excluded.updated_at},
        )
        # Told about every committed points movement (leaderboards, tiers, badges); must not block.
        self.points_observers: list[Callable[[Sequence[PointsMoved]], None]] = []

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False) -> Self:
        return cls(make_engine(url, echo=echo), make_read_engine(url, echo=echo))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


class SqlTransaction:
    """One transaction on one connection; ``commit`` must be called, leaving rolls back.

    A subclass (``models.storage.SqlUnitOfWork``) opens it with ``_begin`` and attaches its repositories.
    """

    def __init__(self, storage: SqlDatabase, *, read_only: bool = False) -> None:
        self._storage = storage
        self._engine = storage.read_engine if read_only else storage.engine
        self._connection: AsyncConnection | None = None
        self._new_ids = IdCache()
        self.moved: list[PointsMoved] = []

    async def _begin(self) -> tuple[AsyncConnection, MemberResolver]:
        """Connect and begin; the connection and a resolver over it, for the repositories."""
        self._connection = await self._engine.connect()
        await self._connection.begin()
        return self._connection, MemberResolver(self._connection, self._storage, self._new_ids)

    async def commit(self) -> None:
        assert self._connection is not None
        await self._connection.commit()
        self._storage.ids.merge(self._new_ids)
        if self.moved:
            moved, self.moved = self.moved, []
            for observer in self._storage.points_observers:
                try:
                    observer(moved)
                except Exception:  # an observer's bug must not undo or hide a committed award
                    logger.exception("points observer %r failed", observer)

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        assert self._connection is not None
        try:
            if self._connection.in_transaction():
                await self._connection.rollback()
        finally:
            await self._connection.close()
        if is_transient(exc):
            raise StorageConflict() from exc


# PostgreSQL's deadlock_detected and serialization_failure: the transaction may simply be run again.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


@asynccontextmanager
async def conflicts_are_transient() -> AsyncIterator[None]:
    try:
        yield
    except DBAPIError as exc:
        if is_transient(exc):
            raise StorageConflict() from exc
        raise


def is_transient(exc: BaseException | None) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return sqlstate in TRANSIENT_SQLSTATES
