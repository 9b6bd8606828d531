"""Which failures count as an outage (tried again, up to a day) and which as a bug (given up on after
MAX_ATTEMPTS): bot/middlewares/dedupe.py's ``is_transient``, against the real drivers' errors."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import asyncpg
import pytest
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.methods import GetMe
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.core.errors import StorageConflict
from bot.middlewares.dedupe import is_transient


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the socket is closed


async def raised(engine_url: str, statement: str = "SELECT 1") -> BaseException:
    engine = create_async_engine(engine_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    except Exception as error:  # noqa: BLE001 - the error is what the test looks at
        return error
    finally:
        await engine.dispose()
    raise AssertionError("no error")


async def test_a_database_that_refuses_connections_is_an_outage() -> None:
    error = await raised(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/test")
    assert is_transient(error)


async def test_a_missing_table_on_sqlite_is_a_bug_although_sqlite_calls_it_operational(tmp_path: Path) -> None:
    error = await raised(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "SELECT * FROM no_such_table")
    assert isinstance(error, OperationalError)
    assert not is_transient(error)


def test_a_locked_sqlite_database_is_an_outage(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            sqlite3.connect(path, timeout=0).execute("SELECT * FROM sqlite_master")
    finally:
        holder.close()
    wrapped = OperationalError("SELECT 1", {}, caught.value)
    wrapped.__cause__ = caught.value  # as SQLAlchemy raises it: ``raise ... from``
    assert is_transient(wrapped)


async def test_a_sqlite_file_that_cannot_be_opened_is_an_outage(tmp_path: Path) -> None:
    error = await raised(f"sqlite+aiosqlite:///{tmp_path / 'unmounted' / 'x.db'}")
    assert is_transient(error)


def test_a_dropped_connection_is_an_outage_whatever_sqlalchemy_calls_it() -> None:
    lost = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
    assert is_transient(lost)
    assert is_transient(DBAPIError("SELECT 1", {}, Exception("closed"), connection_invalidated=True))
    assert is_transient(asyncpg.exceptions.CannotConnectNowError("the database system is starting up"))


def test_a_wrapped_outage_counts_only_when_explicitly_chained() -> None:
    def wrap(explicitly: bool) -> RuntimeError:
        try:
            try:
                raise ConnectionResetError("reset by peer")
            except OSError as error:
                if explicitly:
                    raise RuntimeError("could not load") from error
                raise RuntimeError("a bug in the fallback")
        except RuntimeError as outer:
            return outer

    assert is_transient(wrap(explicitly=True))
    assert not is_transient(wrap(explicitly=False))


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError(),
    socket.gaierror(-3, "Temporary failure in name resolution"),
    OSError(101, "Network is unreachable"),
    OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432, 0, 0), [Errno 111] Connect call failed"),
    StorageConflict(),
    TelegramNetworkError(method=GetMe(), message="Request timeout error"),
    TelegramServerError(method=GetMe(), message="Bad Gateway"),
])  # fmt: skip
def test_outages(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    FileNotFoundError(2, "No such file or directory"),
    PermissionError(13, "Permission denied"),
    IsADirectoryError(21, "Is a directory"),
    OSError("something else"),
    RuntimeError("a bug"),
    KeyError("missing"),
])  # fmt: skip
def test_bugs(error: BaseException) -> None:
    assert not is_transient(error)
