"""Indexes for the lists paged a page at a time (issue 13): walk reports, community responses,
notifications, closed referrals, the briefings archive, and the audit log by kind and by actor.

Revision ID: 7c2e5a9f1b64
Revises: 4d1e7a9c3b20
Create Date: 2026-12-05 15:00:00
"""
from collections.abc import Sequence

from alembic import op


revision: str = '7c2e5a9f1b64'
down_revision: str | None = '4d1e7a9c3b20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f('ix_walk_report_submitted_at'), 'walk_report', ['submitted_at'])
    op.create_index(
        op.f('ix_community_response_occurred_at'), 'community_response', ['occurred_at']
    )
    op.create_index(
        'ix_notification_recipient_deliver', 'notification', ['recipient_id', 'deliver_at']
    )
    op.create_index(op.f('ix_referral_closed_at'), 'referral', ['closed_at'])
    op.create_index(op.f('ix_briefing_valid_from'), 'briefing', ['valid_from'])
    # One kind's or one actor's events, newest first: the composite indexes replace the
    # single-column ones (they serve every query those did).
    op.create_index('ix_audit_event_event_id', 'audit_event', ['event', 'id'])
    op.create_index('ix_audit_event_actor_id_id', 'audit_event', ['actor_id', 'id'])
    op.drop_index(op.f('ix_audit_event_event'), table_name='audit_event')
    op.drop_index(op.f('ix_audit_event_actor_id'), table_name='audit_event')


def downgrade() -> None:
    op.create_index(op.f('ix_audit_event_actor_id'), 'audit_event', ['actor_id'])
    op.create_index(op.f('ix_audit_event_event'), 'audit_event', ['event'])
    op.drop_index('ix_audit_event_actor_id_id', table_name='audit_event')
    op.drop_index('ix_audit_event_event_id', table_name='audit_event')
    op.drop_index(op.f('ix_briefing_valid_from'), table_name='briefing')
    op.drop_index(op.f('ix_referral_closed_at'), table_name='referral')
    op.drop_index('ix_notification_recipient_deliver', table_name='notification')
    op.drop_index(op.f('ix_community_response_occurred_at'), table_name='community_response')
    op.drop_index(op.f('ix_walk_report_submitted_at'), table_name='walk_report')
