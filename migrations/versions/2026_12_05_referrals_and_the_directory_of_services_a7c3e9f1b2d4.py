"""Referrals, their status changes and the directory of services (issue 11, item 5).

Revision ID: a7c3e9f1b2d4
Revises: e85b74aba9a0
Create Date: 2026-12-05 08:56:27.193837
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = 'a7c3e9f1b2d4'
down_revision: str | None = 'e85b74aba9a0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referral_service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('district_ids', sa.JSON(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('opening_hours', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('visiting_address', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_service'))
    )
    with op.batch_alter_table('referral_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_service_kind'), ['kind'], unique=False)

    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('made_by_id', sa.Integer(), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consent_given', sa.Boolean(), nullable=False),
    sa.Column('consent_scope', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('reminded_for', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['made_by_id'], ['app_user.id'], name=op.f('fk_referral_made_by_id_app_user')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_referral_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_referral_participant_id_participant')),
    sa.ForeignKeyConstraint(['service_id'], ['referral_service.id'], name=op.f('fk_referral_service_id_referral_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_referral_client_uuid'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_follow_up_on'), ['follow_up_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_made_by_id'), ['made_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_status'), ['status'], unique=False)

    op.create_table('referral_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_referral_update_author_id_app_user')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_update_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_update')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_referral_update_client_uuid'))
    )
    with op.batch_alter_table('referral_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_update_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_update_referral_id'), ['referral_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('referral_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_update_referral_id'))
        batch_op.drop_index(batch_op.f('ix_referral_update_author_id'))

    op.drop_table('referral_update')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_status'))
        batch_op.drop_index(batch_op.f('ix_referral_service_id'))
        batch_op.drop_index(batch_op.f('ix_referral_participant_id'))
        batch_op.drop_index(batch_op.f('ix_referral_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_referral_made_by_id'))
        batch_op.drop_index(batch_op.f('ix_referral_follow_up_on'))

    op.drop_table('referral')
    with op.batch_alter_table('referral_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_service_kind'))

    op.drop_table('referral_service')
