"""content fingerprints

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:40:43.207866
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('content_fingerprint',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fingerprint', sa.String(length=128), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chat.id'], name=op.f('fk_content_fingerprint_chat_id_chat'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_fingerprint')),
    sa.UniqueConstraint('chat_id', 'fingerprint', name=op.f('uq_content_fingerprint_chat_id_fingerprint'))
    )
    with op.batch_alter_table('content_fingerprint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_content_fingerprint_last_seen_at'), ['last_seen_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('content_fingerprint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_content_fingerprint_last_seen_at'))

    op.drop_table('content_fingerprint')
