"""A field phone's app PIN and the resume cookie that outlives a browser restart (issue 9, item 5).

Revision ID: c4f1a2b3d5e6
Revises: 4e7a2c91d0b3
Create Date: 2026-12-05 11:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = 'c4f1a2b3d5e6'
down_revision: str | None = '4e7a2c91d0b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('device_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.add_column(sa.Column('pin_set_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('pin_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('pin_declined_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_active_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resume_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('resume_prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('resume_rotated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resume_confirmed', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_unique_constraint(batch_op.f('uq_device_session_resume_hash'), ['resume_hash'])
        batch_op.create_index(batch_op.f('ix_device_session_resume_prev_hash'), ['resume_prev_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('device_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_session_resume_prev_hash'))
        batch_op.drop_constraint(batch_op.f('uq_device_session_resume_hash'), type_='unique')
        batch_op.drop_column('resume_confirmed')
        batch_op.drop_column('resume_rotated_at')
        batch_op.drop_column('resume_prev_hash')
        batch_op.drop_column('resume_hash')
        batch_op.drop_column('last_active_at')
        batch_op.drop_column('locked_at')
        batch_op.drop_column('pin_declined_at')
        batch_op.drop_column('pin_failures')
        batch_op.drop_column('pin_set_at')
        batch_op.drop_column('pin_hash')
