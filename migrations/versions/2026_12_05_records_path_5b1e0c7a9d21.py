"""The records path: code counters, and the server's receipt time on every phone record (issue 8).

Revision ID: 5b1e0c7a9d21
Revises: 8b3d6e2f9a40
Create Date: 2026-12-05 08:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '5b1e0c7a9d21'
down_revision: str | None = '8b3d6e2f9a40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECEIVED = ('mediation', 'incident', 'community_response')


def upgrade() -> None:
    op.create_table('code_counter',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_code_counter'))
    )
    # The conflict codes given out so far: the counter goes on from the highest.
    connection = op.get_bind()
    codes = connection.execute(sa.text("SELECT code FROM conflict")).scalars().all()
    highest = max((int(code[2:]) for code in codes if code[2:].isdigit()), default=0)
    connection.execute(
        sa.text("INSERT INTO code_counter (name, value) VALUES ('conflict', :value)"),
        {"value": highest},
    )
    for table in RECEIVED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('received_at', sa.DateTime(timezone=True), nullable=True))
        # Records stored before this kept no receipt time: the phone's is the best there is.
        op.execute(f"UPDATE {table} SET received_at = occurred_at")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('received_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    for table in RECEIVED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('received_at')
    op.drop_table('code_counter')
