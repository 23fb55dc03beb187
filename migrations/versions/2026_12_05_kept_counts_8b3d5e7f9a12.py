"""Counts kept per organisation and period (issue 13): the figures' months, the dashboard's
weeks of contacts per worker (interrupters/kept.py).

Revision ID: 8b3d5e7f9a12
Revises: 636b1b2f3268
Create Date: 2026-12-05 18:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '8b3d5e7f9a12'
down_revision: str | None = '636b1b2f3268'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('kept_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_kept_counts_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kept_counts')),
    sa.UniqueConstraint('kind', 'organisation_id', 'period', name=op.f('uq_kept_counts_kind_organisation_id_period'))
    )


def downgrade() -> None:
    op.drop_table('kept_counts')
