"""scheduled content

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 22:41:05.067835
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('schedule_pause',
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('paused_by', sa.String(length=64), nullable=False),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_schedule_pause'))
    )
    op.create_table('content_use',
    sa.Column('chat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bank', sa.String(length=255), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chat.id'], name=op.f('fk_content_use_chat_id_chat'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('chat_id', 'bank', 'item_id', name=op.f('pk_content_use'))
    )
    op.create_table('schedule_fire',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('chat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chat_id'], ['chat.id'], name=op.f('fk_schedule_fire_chat_id_chat'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_fire')),
    sa.UniqueConstraint('entry_id', 'chat_id', 'scheduled_at', name=op.f('uq_schedule_fire_entry_id_chat_id_scheduled_at'))
    )
    with op.batch_alter_table('schedule_fire', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_fire_scheduled_at'), ['scheduled_at'], unique=False)

    op.create_table('scheduled_poll',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fire_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('chat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('question', sa.String(length=400), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('correct_option', sa.Integer(), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chat.id'], name=op.f('fk_scheduled_poll_chat_id_chat'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['fire_id'], ['schedule_fire.id'], name=op.f('fk_scheduled_poll_fire_id_schedule_fire'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_poll')),
    sa.UniqueConstraint('external_id', name=op.f('uq_scheduled_poll_external_id'))
    )
    with op.batch_alter_table('scheduled_poll', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_poll_open', ['closes_at'], unique=False, postgresql_where=sa.text('closed_at IS NULL'))

    op.create_table('poll_vote',
    sa.Column('poll_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('options', sa.String(length=64), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['scheduled_poll.id'], name=op.f('fk_poll_vote_poll_id_scheduled_poll'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_poll_vote_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('poll_id', 'user_id', name=op.f('pk_poll_vote'))
    )
    with op.batch_alter_table('member_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('milestones', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('member_profile', schema=None) as batch_op:
        batch_op.drop_column('milestones')

    op.drop_table('poll_vote')
    with op.batch_alter_table('scheduled_poll', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_poll_open', postgresql_where=sa.text('closed_at IS NULL'))

    op.drop_table('scheduled_poll')
    with op.batch_alter_table('schedule_fire', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_fire_scheduled_at'))

    op.drop_table('schedule_fire')
    op.drop_table('content_use')
    op.drop_table('schedule_pause')
