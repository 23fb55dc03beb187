"""The shared situational picture (issue 12): place observations, the districts' period
setting and outline, periods with places of concern and actions, the programme's sharing of its
place signals; coordinates on places.

Revision ID: 3f7c2a91d5e8
Revises: c4f1a8e2d7b3
Create Date: 2026-12-05 11:24:30.135053
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '3f7c2a91d5e8'
down_revision: str | None = 'c4f1a8e2d7b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('picture_district',
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('period_weeks', sa.Integer(), server_default='2', nullable=False),
    sa.Column('outline', sa.JSON(), nullable=False),
    sa.Column('outline_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_picture_district_district_id_district')),
    sa.PrimaryKeyConstraint('district_id', name=op.f('pk_picture_district'))
    )
    op.create_table('picture_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('closed_by_organisation_id', sa.Integer(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['app_user.id'], name=op.f('fk_picture_period_closed_by_id_app_user')),
    sa.ForeignKeyConstraint(['closed_by_organisation_id'], ['organisation.id'], name=op.f('fk_picture_period_closed_by_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_picture_period_district_id_district')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_picture_period')),
    sa.UniqueConstraint('district_id', 'starts_at', name=op.f('uq_picture_period_district_id_starts_at'))
    )
    with op.batch_alter_table('picture_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_picture_period_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_picture_period_state'), ['state'], unique=False)

    op.create_table('picture_sharing',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('share_signals', sa.Boolean(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['app_user.id'], name=op.f('fk_picture_sharing_changed_by_id_app_user')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_picture_sharing_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_picture_sharing'))
    )
    op.create_table('picture_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('what', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('owner_organisation_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('result_note', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_in_period_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_picture_action_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['owner_organisation_id'], ['organisation.id'], name=op.f('fk_picture_action_owner_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['period_id'], ['picture_period.id'], name=op.f('fk_picture_action_period_id_picture_period')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_picture_action_place_id_place')),
    sa.ForeignKeyConstraint(['settled_in_period_id'], ['picture_period.id'], name=op.f('fk_picture_action_settled_in_period_id_picture_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_picture_action'))
    )
    with op.batch_alter_table('picture_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_picture_action_owner_organisation_id'), ['owner_organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_picture_action_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_picture_action_place_id'), ['place_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_picture_action_status'), ['status'], unique=False)

    op.create_table('picture_period_place',
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['picture_period.id'], name=op.f('fk_picture_period_place_period_id_picture_period')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_picture_period_place_place_id_place')),
    sa.PrimaryKeyConstraint('period_id', 'place_id', name=op.f('pk_picture_period_place'))
    )
    op.create_table('place_observation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_place_observation_author_id_app_user')),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_place_observation_district_id_district')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_place_observation_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_place_observation_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_place_observation')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_place_observation_client_uuid'))
    )
    with op.batch_alter_table('place_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_place_observation_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_place_observation_district_observed', ['district_id', 'observed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_place_observation_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_place_observation_place_id'), ['place_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_place_observation_source'), ['source'], unique=False)

    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')

    with op.batch_alter_table('place_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_place_observation_source'))
        batch_op.drop_index(batch_op.f('ix_place_observation_place_id'))
        batch_op.drop_index(batch_op.f('ix_place_observation_organisation_id'))
        batch_op.drop_index('ix_place_observation_district_observed')
        batch_op.drop_index(batch_op.f('ix_place_observation_author_id'))

    op.drop_table('place_observation')
    op.drop_table('picture_period_place')
    with op.batch_alter_table('picture_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_picture_action_status'))
        batch_op.drop_index(batch_op.f('ix_picture_action_place_id'))
        batch_op.drop_index(batch_op.f('ix_picture_action_period_id'))
        batch_op.drop_index(batch_op.f('ix_picture_action_owner_organisation_id'))

    op.drop_table('picture_action')
    op.drop_table('picture_sharing')
    with op.batch_alter_table('picture_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_picture_period_state'))
        batch_op.drop_index(batch_op.f('ix_picture_period_district_id'))

    op.drop_table('picture_period')
    op.drop_table('picture_district')
