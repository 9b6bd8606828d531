"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 18:40:14.772326
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chat',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=256), server_default='', nullable=False),
    sa.Column('kind', sa.String(length=16), server_default='group', nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat')),
    sa.UniqueConstraint('platform', 'external_id', name=op.f('uq_chat_platform_external_id'))
    )
    op.create_table('processed_update',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('first_id', sa.BigInteger(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('first_id <= last_id', name=op.f('ck_processed_update_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processed_update'))
    )
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_update_processed_at'), ['processed_at'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=256), server_default='', nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('platform', 'external_id', name=op.f('uq_user_account_platform_external_id'))
    )
    op.create_table('membership',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=16), server_default='member', nullable=False),
    sa.Column('balance', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_active_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chat_id'], ['chat.id'], name=op.f('fk_membership_chat_id_chat'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_membership_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership')),
    sa.UniqueConstraint('chat_id', 'user_id', name=op.f('uq_membership_chat_id_user_id'))
    )
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.create_index('ix_membership_chat_id_balance', ['chat_id', 'balance'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_user_id'), ['user_id'], unique=False)

    op.create_table('checkin',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('streak >= 1', name=op.f('ck_checkin_streak_positive')),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_checkin_membership_id_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin')),
    sa.UniqueConstraint('membership_id', 'local_date', name=op.f('uq_checkin_membership_id_local_date'))
    )
    op.create_table('daily_activity',
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('messages', sa.Integer(), server_default='0', nullable=False),
    sa.Column('media', sa.Integer(), server_default='0', nullable=False),
    sa.Column('links', sa.Integer(), server_default='0', nullable=False),
    sa.Column('checkins', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_daily_activity_membership_id_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('membership_id', 'local_date', name=op.f('pk_daily_activity'))
    )
    op.create_table('ledger_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('delta <> 0', name=op.f('ck_ledger_entry_delta_nonzero')),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_ledger_entry_membership_id_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_entry_idempotency_key'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entry_membership_id'), ['membership_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entry_membership_id'))

    op.drop_table('ledger_entry')
    op.drop_table('daily_activity')
    op.drop_table('checkin')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_user_id'))
        batch_op.drop_index('ix_membership_chat_id_balance')

    op.drop_table('membership')
    op.drop_table('user_account')
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_update_processed_at'))

    op.drop_table('processed_update')
    op.drop_table('chat')
