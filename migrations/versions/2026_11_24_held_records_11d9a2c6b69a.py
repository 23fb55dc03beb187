"""Held records: what a phone sent that needs correction by its author (issue 3).

Revision ID: 11d9a2c6b69a
Revises: af5928791104
Create Date: 2026-11-24 04:19:27.997020
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '11d9a2c6b69a'
down_revision: str | None = 'af5928791104'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('held_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_as', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_held_record_author_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_record')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_held_record_client_uuid'))
    )
    with op.batch_alter_table('held_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_record_author_id'), ['author_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('held_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_record_author_id'))

    op.drop_table('held_record')
