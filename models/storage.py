"""Storage's composition: ``SqlStorage`` hands out units of work with every SQL repository attached.

All SQL of the bot lives in ``models/``: engines and the transaction in ``unit_of_work``, row ids in
``resolvers``, one module per repository. Only this module imports them all; no models module imports it back.

Statements are written set-based and run as executemany or with expanding IN lists, so a
batch of any size costs a handful of round trips and reuses one compiled statement.
"""

from __future__ import annotations

from models.checkins import SqlCheckinRepository
from models.content import SqlContentRepository
from models.engagement import SqlBadgeRepository, SqlShopRepository, SqlStandingsRepository
from models.faq import SqlFaqRepository
from models.ledger import SqlLedgerRepository
from models.members import SqlMemberRepository
from models.moderation import SqlModerationRepository
from models.privacy import SqlPrivacyRepository
from models.profiles import SqlProfileRepository
from models.schedule import SqlScheduleRepository
from models.unit_of_work import SqlDatabase, SqlTransaction


class SqlStorage(SqlDatabase):
    """Entry point to storage: builds units of work over a write engine and an optional read engine."""

    def unit_of_work(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self, read_only=read_only)


class SqlUnitOfWork(SqlTransaction):
    """One transaction with every repository on its connection; ``commit`` must be called, leaving rolls back."""

    async def __aenter__(self) -> SqlUnitOfWork:
        connection, resolver = await self._begin()
        storage = self._storage
        self.members = SqlMemberRepository(connection, resolver)
        self.checkins = SqlCheckinRepository(connection, resolver, storage)
        self.ledger = SqlLedgerRepository(connection, resolver, storage, self.moved)
        self.content = SqlContentRepository(connection, resolver, storage)
        self.privacy = SqlPrivacyRepository(connection)
        self.profiles = SqlProfileRepository(connection, resolver, storage)
        self.standings = SqlStandingsRepository(connection, resolver, storage)
        self.badges = SqlBadgeRepository(connection, resolver, storage)
        self.shop = SqlShopRepository(connection, resolver, storage)
        self.schedule = SqlScheduleRepository(connection, resolver, storage)
        self.faq = SqlFaqRepository(connection, resolver)
        self.moderation = SqlModerationRepository(connection, resolver, storage)
        return self
