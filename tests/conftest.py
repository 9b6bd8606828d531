"""Shared fixtures: databases (SQLite always, PostgreSQL when CRADLE_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import hypothesis  # noqa: F401 - imported up front; a late import inside pytest has tripped a CPython 3.11.7 AST bug
import pytest

from models import migrate

PG_ENV = "CRADLE_TEST_DATABASE_URL"
PG_SKIP = f"{PG_ENV} is not set: PostgreSQL tests skipped (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
TABLES = (
    "moderation_action",
    "member_join",
    "report",
    "reported_message",
    "cleanup_notice",
    "faq_question",
    "poll_vote",
    "scheduled_poll",
    "schedule_fire",
    "schedule_pause",
    "content_use",
    "season_standing",
    "season",
    "shop_order",
    "shop_stock",
    "member_badge",
    "points_daily",
    "ledger_entry",
    "checkin",
    "daily_activity",
    "content_fingerprint",
    "member_profile",
    "membership",
    "user_account",
    "chat",
    "processed_update",
)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_plain_dsn(url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class PostgresDatabases:
    """Creates throwaway databases next to the one named by CRADLE_TEST_DATABASE_URL."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    def create(self) -> str:
        name = f"cradle_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(self.server_url, f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        base, _, _ = self.server_url.rpartition("/")
        return f"{base}/{name}"

    def drop_all(self) -> None:
        for name in self.created:
            asyncio.run(_admin(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases | None]:
    url = os.environ.get(PG_ENV)
    if not url:
        yield None
        return
    databases = PostgresDatabases(url)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating per test would be slow)."""
    path = tmp_path_factory.mktemp("template") / "cradle.db"
    migrate.upgrade(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
def postgres_migrated(postgres: PostgresDatabases | None) -> str | None:
    if postgres is None:
        return None
    url = postgres.create()
    migrate.upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres_migrated: str | None) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "cradle.db"
        shutil.copy(sqlite_template, path)
        return sqlite_url(path)
    if postgres_migrated is None:
        pytest.skip(PG_SKIP)
    asyncio.run(_admin(postgres_migrated, f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    return postgres_migrated


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path, postgres: PostgresDatabases | None) -> str:
    """A database with no schema at all, for migration tests."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "empty.db")
    if postgres is None:
        pytest.skip(PG_SKIP)
    return postgres.create()
