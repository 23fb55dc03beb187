"""Conflicts with their timeline, mediations, incidents, community responses and duty (issue 4).

Revision ID: 31942c572f22
Revises: 11d9a2c6b69a
Create Date: 2026-11-24 04:49:45.784728
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '31942c572f22'
down_revision: str | None = '11d9a2c6b69a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('duty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_duty_area_id_area')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_duty_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty')),
    sa.UniqueConstraint('user_id', 'area_id', 'starts_at', name=op.f('uq_duty_user_id_area_id_starts_at'))
    )
    with op.batch_alter_table('duty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_user_id'), ['user_id'], unique=False)

    op.create_table('conflict',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('detected_via', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('catalyst', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('parties_count', sa.Integer(), nullable=False),
    sa.Column('supporters_count', sa.Integer(), nullable=True),
    sa.Column('party_labels', sa.JSON(), nullable=False),
    sa.Column('youth_involved', sa.Boolean(), nullable=False),
    sa.Column('weapon', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('retaliation_related', sa.Boolean(), nullable=False),
    sa.Column('risk_level', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('flagged_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_conflict_area_id_area')),
    sa.ForeignKeyConstraint(['flagged_by_id'], ['app_user.id'], name=op.f('fk_conflict_flagged_by_id_app_user')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_conflict_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_conflict_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_conflict_client_uuid')),
    sa.UniqueConstraint('code', name=op.f('uq_conflict_code'))
    )
    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_area_id'), ['area_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflict_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflict_risk_level'), ['risk_level'], unique=False)
        batch_op.create_index(batch_op.f('ix_conflict_status'), ['status'], unique=False)

    op.create_table('conflict_participant',
    sa.Column('conflict_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('linked_by_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conflict_id'], ['conflict.id'], name=op.f('fk_conflict_participant_conflict_id_conflict')),
    sa.ForeignKeyConstraint(['linked_by_id'], ['app_user.id'], name=op.f('fk_conflict_participant_linked_by_id_app_user')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_conflict_participant_participant_id_participant')),
    sa.PrimaryKeyConstraint('conflict_id', 'participant_id', name=op.f('pk_conflict_participant'))
    )
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('conflict_id', sa.Integer(), nullable=True),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('injured_count', sa.Integer(), nullable=False),
    sa.Column('response', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=280), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_incident_area_id_area')),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_incident_author_id_app_user')),
    sa.ForeignKeyConstraint(['conflict_id'], ['conflict.id'], name=op.f('fk_incident_conflict_id_conflict')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_incident_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_incident_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_incident_client_uuid'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_conflict_id'), ['conflict_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('mediation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('conflict_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('mediator_ids', sa.JSON(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=True),
    sa.Column('strategies', sa.JSON(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('follow_up_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=280), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_mediation_author_id_app_user')),
    sa.ForeignKeyConstraint(['conflict_id'], ['conflict.id'], name=op.f('fk_mediation_conflict_id_conflict')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_mediation_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_mediation_client_uuid'))
    )
    with op.batch_alter_table('mediation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_conflict_id'), ['conflict_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mediation_outcome'), ['outcome'], unique=False)

    op.create_table('community_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('participants_estimate', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=280), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_community_response_area_id_area')),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_community_response_author_id_app_user')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_community_response_incident_id_incident')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_community_response_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_response')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_community_response_client_uuid'))
    )
    with op.batch_alter_table('community_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_response_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('conflict_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conflict_id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('from_level', sa.Integer(), nullable=True),
    sa.Column('to_level', sa.Integer(), nullable=True),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=280), nullable=False),
    sa.Column('mediation_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_conflict_event_author_id_app_user')),
    sa.ForeignKeyConstraint(['conflict_id'], ['conflict.id'], name=op.f('fk_conflict_event_conflict_id_conflict')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_conflict_event_incident_id_incident')),
    sa.ForeignKeyConstraint(['mediation_id'], ['mediation.id'], name=op.f('fk_conflict_event_mediation_id_mediation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflict_event')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_conflict_event_client_uuid'))
    )
    with op.batch_alter_table('conflict_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflict_event_conflict_id'), ['conflict_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('conflict_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_event_conflict_id'))

    op.drop_table('conflict_event')
    with op.batch_alter_table('community_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_response_organisation_id'))

    op.drop_table('community_response')
    with op.batch_alter_table('mediation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediation_outcome'))
        batch_op.drop_index(batch_op.f('ix_mediation_conflict_id'))

    op.drop_table('mediation')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_incident_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_incident_conflict_id'))

    op.drop_table('incident')
    op.drop_table('conflict_participant')
    with op.batch_alter_table('conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflict_status'))
        batch_op.drop_index(batch_op.f('ix_conflict_risk_level'))
        batch_op.drop_index(batch_op.f('ix_conflict_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_conflict_area_id'))

    op.drop_table('conflict')
    with op.batch_alter_table('duty', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_user_id'))
        batch_op.drop_index(batch_op.f('ix_duty_ends_at'))
        batch_op.drop_index(batch_op.f('ix_duty_area_id'))

    op.drop_table('duty')
