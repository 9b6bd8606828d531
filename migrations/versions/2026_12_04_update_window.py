"""processed update ids kept per bot

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 10:10:00

Telegram update ids are only unique for one bot, and only within about a week (after a quiet week the
next id may be chosen at random). Processed ids are now stored with the bot they came to, and the bot
dedupes only within Telegram's redelivery window (see bot/members/updates.py). Rows stored before
belong to no bot (''), so they never block an update again; they age out with the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bot_id', sa.String(length=32), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.drop_column('bot_id')
