"""How long an organisation keeps person-level detail (DESIGN.md, "Security": retention)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from interrupters.db import UTCDateTime, utcnow

# DESIGN.md's defaults, in months; an organisation without a row keeps these.
CONTACT_NOTE_MONTHS = 12
CONTACT_MONTHS = 24
CONFLICT_MONTHS = 24
WALK_REPORT_TEXT_MONTHS = 6


class RetentionPolicy(SQLModel, table=True):
    """An organisation's retention periods, set by the admin."""

    __tablename__ = "retention_policy"

    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    contact_note_months: int = Field(default=CONTACT_NOTE_MONTHS, ge=1, le=120)
    contact_months: int = Field(default=CONTACT_MONTHS, ge=1, le=120)
    conflict_months: int = Field(default=CONFLICT_MONTHS, ge=1, le=120)
    walk_report_text_months: int = Field(default=WALK_REPORT_TEXT_MONTHS, ge=1, le=120)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id")
