"""Retention periods per organisation (issue 9); without a row, DESIGN.md's defaults.

Revision ID: 8b3d6e2f9a40
Revises: 5e1f0a3c7d21
Create Date: 2026-12-05 08:14:59.083590
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '8b3d6e2f9a40'
down_revision: str | None = '5e1f0a3c7d21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('retention_policy',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('contact_note_months', sa.Integer(), server_default='12', nullable=False),
    sa.Column('contact_months', sa.Integer(), server_default='24', nullable=False),
    sa.Column('conflict_months', sa.Integer(), server_default='24', nullable=False),
    sa.Column('walk_report_text_months', sa.Integer(), server_default='6', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_retention_policy_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['app_user.id'], name=op.f('fk_retention_policy_updated_by_id_app_user')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_retention_policy'))
    )


def downgrade() -> None:
    op.drop_table('retention_policy')
