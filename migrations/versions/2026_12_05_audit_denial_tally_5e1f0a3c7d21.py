"""Repeated denials: a count per actor and window, outside the audit chain (issue 9).

Revision ID: 5e1f0a3c7d21
Revises: 47cbbee41638
Create Date: 2026-12-05 08:09:35.200794
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '5e1f0a3c7d21'
down_revision: str | None = '47cbbee41638'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_denial_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_key', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('denials', sa.Integer(), server_default='0', nullable=False),
    sa.Column('written', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_denial_tally')),
    sa.UniqueConstraint('actor_key', 'window_start', name=op.f('uq_audit_denial_tally_actor_key_window_start'))
    )
    with op.batch_alter_table('audit_denial_tally', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_denial_tally_window_start'), ['window_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_denial_tally', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_denial_tally_window_start'))

    op.drop_table('audit_denial_tally')
