"""faq questions

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 00:01:33.986700
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('faq_question',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('text', sa.String(length=400), nullable=False),
    sa.Column('best_topic', sa.String(length=64), nullable=True),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chat_id'], ['chat.id'], name=op.f('fk_faq_question_chat_id_chat'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_question'))
    )
    with op.batch_alter_table('faq_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_question_created_at'), ['created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('faq_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_question_created_at'))

    op.drop_table('faq_question')
