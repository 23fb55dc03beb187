"""Indexes that let each list read one page, not the whole table (issue 13, item 1).

Measured with EXPLAIN on a million contacts (bench/growth.py): the caseload's latest contact
per participant read every contact of the worker's participants; a participant's history
sorted all of them; the review queue walked ix_contact_occurred_at over every row on SQLite.
Each list now seeks to its first row and reads a page in order:

- (participant_id, occurred_at, id): a participant's history; the latest contact of each.
- (worker_id, occurred_at, id) and (worker_id, review_state, occurred_at, id): a worker's
  contacts, all or of one state (my contacts, the home's returned ones, the team's of one
  worker). They replace the single-column indexes on participant_id and worker_id, which are
  their prefixes.
- (organisation_id, occurred_at, id) for submitted and corrected contacts only: the review
  queue, as small as the backlog.

Revision ID: 636b1b2f3268
Revises: 7c2e5a9f1b64
Create Date: 2026-12-05 15:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '636b1b2f3268'
down_revision: str | None = "7c2e5a9f1b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_STATES = sa.text("review_state IN ('submitted', 'corrected')")


def upgrade() -> None:
    op.create_index(
        'ix_contact_participant_history', 'contact', ['participant_id', 'occurred_at', 'id']
    )
    op.create_index('ix_contact_worker_history', 'contact', ['worker_id', 'occurred_at', 'id'])
    op.create_index(
        'ix_contact_worker_state', 'contact', ['worker_id', 'review_state', 'occurred_at', 'id']
    )
    op.create_index(
        'ix_contact_review_queue',
        'contact',
        ['organisation_id', 'occurred_at', 'id'],
        sqlite_where=QUEUE_STATES,
        postgresql_where=QUEUE_STATES,
    )
    op.drop_index('ix_contact_participant_id', table_name='contact')
    op.drop_index('ix_contact_worker_id', table_name='contact')


def downgrade() -> None:
    op.create_index('ix_contact_worker_id', 'contact', ['worker_id'])
    op.create_index('ix_contact_participant_id', 'contact', ['participant_id'])
    op.drop_index('ix_contact_review_queue', table_name='contact')
    op.drop_index('ix_contact_worker_state', table_name='contact')
    op.drop_index('ix_contact_worker_history', table_name='contact')
    op.drop_index('ix_contact_participant_history', table_name='contact')
