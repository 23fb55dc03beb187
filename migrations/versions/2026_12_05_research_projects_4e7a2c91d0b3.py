"""Research projects: request, approval, expiry, the sealed pseudonym secret (issue 11, item 3).

Revision ID: 4e7a2c91d0b3
Revises: 09b9264c79fa
Create Date: 2026-12-05 11:55:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '4e7a2c91d0b3'
down_revision: str | None = '09b9264c79fa'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('research_project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('institution', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ethics_reference', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('aim', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('requested_files', sa.JSON(), nullable=False),
    sa.Column('approved_files', sa.JSON(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('sealed_secret', sqlmodel.sql.sqltypes.AutoString(length=200), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_research_project_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['app_user.id'], name=op.f('fk_research_project_requested_by_id_app_user')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['app_user.id'], name=op.f('fk_research_project_reviewed_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_research_project'))
    )
    with op.batch_alter_table('research_project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_research_project_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_research_project_requested_by_id'), ['requested_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_research_project_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('research_project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_research_project_state'))
        batch_op.drop_index(batch_op.f('ix_research_project_requested_by_id'))
        batch_op.drop_index(batch_op.f('ix_research_project_organisation_id'))

    op.drop_table('research_project')
