"""moderation actions keyed by their source message

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 10:20:00

A redelivered update (a second process, a webhook retry) must not warn, mute or notify twice: each
action of a kind is unique per chat and source message (the command, or the message a filter caught).
Rows stored before have no key (NULLs never conflict).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('moderation_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_moderation_action_chat_id_source_key_kind'), ['chat_id', 'source_key', 'kind'])


def downgrade() -> None:
    with op.batch_alter_table('moderation_action', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_moderation_action_chat_id_source_key_kind'), type_='unique')
        batch_op.drop_column('source_key')
