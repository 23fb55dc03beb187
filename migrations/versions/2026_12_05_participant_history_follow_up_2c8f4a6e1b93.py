"""A participant's history index also holds the contact's follow-up (issue 13): the latest
contact of each participant (the caseload, the team, the dashboard's overdue follow-ups) is
then read from the index alone, one seek a participant, instead of a seek and a read of the
row (the dashboard's overdue follow-ups: 7.9 ms at 10,000 contacts, 23 ms at 1,000,000 on
PostgreSQL, bench/growth.py).

Revision ID: 2c8f4a6e1b93
Revises: 5e2a7c9d1f40
Create Date: 2026-12-05 19:00:00
"""
from collections.abc import Sequence

from alembic import op


revision: str = '2c8f4a6e1b93'
down_revision: str | None = '5e2a7c9d1f40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ['participant_id', 'occurred_at', 'id']
AFTER = [*BEFORE, 'follow_up_on']


def _index(columns: list[str]) -> None:
    op.drop_index('ix_contact_participant_history', table_name='contact')
    op.create_index('ix_contact_participant_history', 'contact', columns, unique=False)


def upgrade() -> None:
    _index(AFTER)


def downgrade() -> None:
    _index(BEFORE)
