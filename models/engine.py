"""Engine factory: one place that knows the per-database settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_READERS = 4


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """The engine for writes (and, on PostgreSQL, for reads too)."""
    if is_sqlite(url):
        # One writer connection: SQLite has a single writer anyway, and serialising in the pool
        # avoids "database is locked" when a read-then-write transaction races another writer.
        engine = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def make_read_engine(url: str, *, echo: bool = False) -> AsyncEngine | None:
    """Extra read-only connections for SQLite (WAL lets readers run beside the writer); None elsewhere."""
    if not is_sqlite(url):
        return None
    engine = create_async_engine(url, echo=echo, pool_size=SQLITE_READERS, max_overflow=0, pool_timeout=60)
    event.listen(engine.sync_engine, "connect", _sqlite_reader_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL is durable across application crashes; only an OS crash can lose the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_reader_pragmas(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()
