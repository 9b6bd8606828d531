"""engagement

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 20:28:30.515365
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('season',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_season')),
    sa.UniqueConstraint('name', name=op.f('uq_season_name'))
    )
    op.create_table('shop_stock',
    sa.Column('item', sa.String(length=32), nullable=False),
    sa.Column('sold', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('sold >= 0', name=op.f('ck_shop_stock_sold_not_negative')),
    sa.PrimaryKeyConstraint('item', name=op.f('pk_shop_stock'))
    )
    op.create_table('member_badge',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('badge', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=16), server_default='', nullable=False),
    sa.Column('granted_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_member_badge_membership_id_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_badge')),
    sa.UniqueConstraint('membership_id', 'badge', 'period', name=op.f('uq_member_badge_membership_id_badge_period'))
    )
    with op.batch_alter_table('member_badge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_badge_membership_id'), ['membership_id'], unique=False)

    op.create_table('points_daily',
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('earned', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_points_daily_membership_id_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('membership_id', 'local_date', name=op.f('pk_points_daily'))
    )
    with op.batch_alter_table('points_daily', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_daily_local_date'), ['local_date'], unique=False)

    op.create_table('season_standing',
    sa.Column('season_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_season_standing_membership_id_membership'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['season_id'], ['season.id'], name=op.f('fk_season_standing_season_id_season'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('season_id', 'membership_id', name=op.f('pk_season_standing'))
    )
    op.create_table('shop_order',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('membership_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item', sa.String(length=32), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_shop_order_membership_id_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_order')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_shop_order_idempotency_key'))
    )
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_order_membership_id'), ['membership_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_status'), ['status'], unique=False)

    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('tier_warned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('freezes', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint('balance_not_negative', 'balance >= 0')

    # Earned points so far, by UTC day (the local day is not recoverable here; a few hours' shift at most).
    day = "date(created_at)" if op.get_bind().dialect.name == "sqlite" else "CAST(created_at AT TIME ZONE 'UTC' AS DATE)"
    op.execute(
        "INSERT INTO points_daily (membership_id, local_date, earned, updated_at) "
        f"SELECT membership_id, {day}, SUM(delta), MAX(created_at) FROM ledger_entry "
        f"WHERE reason NOT IN ('redeem', 'refund') GROUP BY membership_id, {day}"
    )


def downgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_membership_balance_not_negative'), type_='check')
        batch_op.drop_column('freezes')
        batch_op.drop_column('tier_warned_on')
        batch_op.drop_column('tier')

    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_order_status'))
        batch_op.drop_index(batch_op.f('ix_shop_order_membership_id'))

    op.drop_table('shop_order')
    op.drop_table('season_standing')
    with op.batch_alter_table('points_daily', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_daily_local_date'))

    op.drop_table('points_daily')
    with op.batch_alter_table('member_badge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_badge_membership_id'))

    op.drop_table('member_badge')
    op.drop_table('shop_stock')
    op.drop_table('season')
