"""Kept counts for the team's pages, the dashboard and the figures (issue 13).

Counts kept per month and per day (interrupters/contacts/tallies.py), filled here from the
contacts there are:
- contact_month_tally: contacts and minutes per organisation, Stockholm month, area, subject,
  kind and purpose;
- participant_month_tally: contacts per organisation, month and participant;
- worker_day_tally: contacts per organisation, Stockholm day and worker.

A participant's latest contact and the review backlog read the indexes of migration
636b1b2f3268 (ix_contact_participant_history, ix_contact_review_queue).

Revision ID: 79cf31579ee6
Revises: 636b1b2f3268
Create Date: 2026-12-05 14:50:00
"""
from collections.abc import Sequence

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op


revision: str = '79cf31579ee6'
down_revision: str | None = '636b1b2f3268'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



STOCKHOLM = ZoneInfo('Europe/Stockholm')
TEXT = sqlmodel.sql.sqltypes.AutoString


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f'{target}.id'], name=op.f(f'fk_{table}_{column}_{target}')
    )


def upgrade() -> None:
    op.create_table('contact_month_tally',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('subject', TEXT(length=16), nullable=False),
    sa.Column('kind', TEXT(length=24), nullable=False),
    sa.Column('purpose', TEXT(length=24), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    _fk('contact_month_tally', 'organisation_id', 'organisation'),
    _fk('contact_month_tally', 'area_id', 'area'),
    sa.PrimaryKeyConstraint(
        'organisation_id', 'month', 'area_id', 'subject', 'kind', 'purpose',
        name=op.f('pk_contact_month_tally'),
    ),
    )
    op.create_table('participant_month_tally',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    _fk('participant_month_tally', 'organisation_id', 'organisation'),
    _fk('participant_month_tally', 'participant_id', 'participant'),
    sa.PrimaryKeyConstraint(
        'organisation_id', 'month', 'participant_id', name=op.f('pk_participant_month_tally')
    ),
    )
    op.create_table('worker_day_tally',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    _fk('worker_day_tally', 'organisation_id', 'organisation'),
    _fk('worker_day_tally', 'worker_id', 'app_user'),
    sa.PrimaryKeyConstraint(
        'organisation_id', 'day', 'worker_id', name=op.f('pk_worker_day_tally')
    ),
    )
    _fill()


def _day(value: Any) -> date:
    if isinstance(value, str):  # SQLite: naive UTC as text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(STOCKHOLM).date()


def _fill() -> None:
    """Count the contacts there are, the way interrupters/contacts/tallies.py keeps them."""
    bind = op.get_bind()
    months: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    people: dict[tuple[Any, ...], int] = defaultdict(int)
    days: dict[tuple[Any, ...], int] = defaultdict(int)
    rows = bind.execute(
        sa.text(
            'SELECT organisation_id, occurred_at, area_id, subject, kind, purpose, '
            'duration_minutes, participant_id, worker_id FROM contact'
        ),
        execution_options={'stream_results': True, 'yield_per': 20_000},
    )
    days_seen: dict[Any, date] = {}
    for organisation, occurred, area, subject, kind, purpose, minutes, participant, worker in rows:
        day = days_seen.get(occurred)
        if day is None:
            day = days_seen[occurred] = _day(occurred)
            if len(days_seen) > 100_000:
                days_seen.clear()
        month = day.replace(day=1)
        cell = months[(organisation, month, area, subject, kind, purpose)]
        cell[0] += 1
        cell[1] += minutes or 0
        if participant is not None:
            people[(organisation, month, participant)] += 1
        days[(organisation, day, worker)] += 1
    _insert('contact_month_tally',
            ['organisation_id', 'month', 'area_id', 'subject', 'kind', 'purpose'],
            ((k, {'contacts': v[0], 'minutes': v[1]}) for k, v in months.items()))
    _insert('participant_month_tally', ['organisation_id', 'month', 'participant_id'],
            ((k, {'contacts': v}) for k, v in people.items()))
    _insert('worker_day_tally', ['organisation_id', 'day', 'worker_id'],
            ((k, {'contacts': v}) for k, v in days.items()))


def _insert(table: str, keys: list[str], rows: Any) -> None:
    columns = [
        sa.column(name, sa.Date()) if name in ('month', 'day') else sa.column(name)
        for name in [*keys, 'contacts', 'minutes']
    ]
    target = sa.table(table, *columns)
    batch: list[dict[str, Any]] = []
    for key, values in rows:
        batch.append(dict(zip(keys, key, strict=True)) | values)
        if len(batch) == 5_000:
            op.get_bind().execute(target.insert(), batch)
            batch = []
    if batch:
        op.get_bind().execute(target.insert(), batch)


def downgrade() -> None:
    op.drop_table('worker_day_tally')
    op.drop_table('participant_month_tally')
    op.drop_table('contact_month_tally')
