"""The weekend briefing with its readers, and the night walks with their reports (issue 5).

Revision ID: 47cbbee41638
Revises: c4910e6e6c98
Create Date: 2026-11-24 07:17:20.827237
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '47cbbee41638'
down_revision: str | None = 'c4910e6e6c98'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('briefing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('expected_events', sa.JSON(), nullable=False),
    sa.Column('on_call', sa.JSON(), nullable=False),
    sa.Column('safety_reminders', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('meeting_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('meeting_place', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('identifies_no_one', sa.Boolean(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('publish_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_briefing_author_id_app_user')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_briefing_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_briefing'))
    )
    with op.batch_alter_table('briefing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_briefing_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_briefing_publish_at'), ['publish_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_briefing_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_briefing_valid_to'), ['valid_to'], unique=False)

    op.create_table('acknowledgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('briefing_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=False),
    sa.Column('attendance_marked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attendance_marked_by_id'], ['app_user.id'], name=op.f('fk_acknowledgement_attendance_marked_by_id_app_user')),
    sa.ForeignKeyConstraint(['briefing_id'], ['briefing.id'], name=op.f('fk_acknowledgement_briefing_id_briefing')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_acknowledgement_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledgement')),
    sa.UniqueConstraint('briefing_id', 'user_id', name=op.f('uq_acknowledgement_briefing_id_user_id'))
    )
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgement_briefing_id'), ['briefing_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_acknowledgement_user_id'), ['user_id'], unique=False)

    op.create_table('briefing_district',
    sa.Column('briefing_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['briefing_id'], ['briefing.id'], name=op.f('fk_briefing_district_briefing_id_briefing')),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_briefing_district_district_id_district')),
    sa.PrimaryKeyConstraint('briefing_id', 'district_id', name=op.f('pk_briefing_district'))
    )
    op.create_table('briefing_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('briefing_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['briefing_id'], ['briefing.id'], name=op.f('fk_briefing_receipt_briefing_id_briefing')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_briefing_receipt_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_briefing_receipt')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_briefing_receipt_client_uuid'))
    )
    with op.batch_alter_table('briefing_receipt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_briefing_receipt_briefing_id'), ['briefing_id'], unique=False)

    op.create_table('briefing_place_status',
    sa.Column('briefing_id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['briefing_id'], ['briefing.id'], name=op.f('fk_briefing_place_status_briefing_id_briefing')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_briefing_place_status_place_id_place')),
    sa.PrimaryKeyConstraint('briefing_id', 'place_id', name=op.f('pk_briefing_place_status'))
    )
    op.create_table('walk',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('meeting_place_id', sa.Integer(), nullable=True),
    sa.Column('planned_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actual_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actual_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('briefing_id', sa.Integer(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('series', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['briefing_id'], ['briefing.id'], name=op.f('fk_walk_briefing_id_briefing')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_walk_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_walk_district_id_district')),
    sa.ForeignKeyConstraint(['leader_id'], ['app_user.id'], name=op.f('fk_walk_leader_id_app_user')),
    sa.ForeignKeyConstraint(['meeting_place_id'], ['place.id'], name=op.f('fk_walk_meeting_place_id_place')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_walk_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_walk'))
    )
    with op.batch_alter_table('walk', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_walk_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_walk_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_walk_planned_start'), ['planned_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_walk_series'), ['series'], unique=False)
        batch_op.create_index(batch_op.f('ix_walk_state'), ['state'], unique=False)

    op.create_table('walk_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('payload_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('walk_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('places_visited', sa.JSON(), nullable=False),
    sa.Column('youths_met', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('age_impression', sa.JSON(), nullable=False),
    sa.Column('atmosphere', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('observations', sa.JSON(), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('environment_faults', sa.JSON(), nullable=False),
    sa.Column('fault_place_id', sa.Integer(), nullable=True),
    sa.Column('debrief_held', sa.Boolean(), nullable=False),
    sa.Column('walker_injured', sa.Boolean(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=280), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['fault_place_id'], ['place.id'], name=op.f('fk_walk_report_fault_place_id_place')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['app_user.id'], name=op.f('fk_walk_report_submitted_by_id_app_user')),
    sa.ForeignKeyConstraint(['walk_id'], ['walk.id'], name=op.f('fk_walk_report_walk_id_walk')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_walk_report')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_walk_report_client_uuid'))
    )
    with op.batch_alter_table('walk_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_walk_report_submitted_by_id'), ['submitted_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_walk_report_urgent'), ['urgent'], unique=False)
        batch_op.create_index(batch_op.f('ix_walk_report_walk_id'), ['walk_id'], unique=False)

    op.create_table('walk_signup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('walk_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('group_number', sa.Integer(), nullable=True),
    sa.Column('signed_up_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_walk_signup_user_id_app_user')),
    sa.ForeignKeyConstraint(['walk_id'], ['walk.id'], name=op.f('fk_walk_signup_walk_id_walk')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_walk_signup')),
    sa.UniqueConstraint('walk_id', 'user_id', name=op.f('uq_walk_signup_walk_id_user_id'))
    )
    with op.batch_alter_table('walk_signup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_walk_signup_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_walk_signup_walk_id'), ['walk_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('walk_signup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_walk_signup_walk_id'))
        batch_op.drop_index(batch_op.f('ix_walk_signup_user_id'))

    op.drop_table('walk_signup')
    with op.batch_alter_table('walk_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_walk_report_walk_id'))
        batch_op.drop_index(batch_op.f('ix_walk_report_urgent'))
        batch_op.drop_index(batch_op.f('ix_walk_report_submitted_by_id'))

    op.drop_table('walk_report')
    with op.batch_alter_table('walk', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_walk_state'))
        batch_op.drop_index(batch_op.f('ix_walk_series'))
        batch_op.drop_index(batch_op.f('ix_walk_planned_start'))
        batch_op.drop_index(batch_op.f('ix_walk_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_walk_district_id'))

    op.drop_table('walk')
    op.drop_table('briefing_place_status')
    with op.batch_alter_table('briefing_receipt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_briefing_receipt_briefing_id'))

    op.drop_table('briefing_receipt')
    op.drop_table('briefing_district')
    with op.batch_alter_table('acknowledgement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgement_user_id'))
        batch_op.drop_index(batch_op.f('ix_acknowledgement_briefing_id'))

    op.drop_table('acknowledgement')
    with op.batch_alter_table('briefing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_briefing_valid_to'))
        batch_op.drop_index(batch_op.f('ix_briefing_state'))
        batch_op.drop_index(batch_op.f('ix_briefing_publish_at'))
        batch_op.drop_index(batch_op.f('ix_briefing_organisation_id'))

    op.drop_table('briefing')
