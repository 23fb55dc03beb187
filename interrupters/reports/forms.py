"""The figures' pickers: a period of whole months, the programme, the areas. Query values are
bounded: a month between 2000 and 2100, at most MAX_MONTHS of them, areas of the programme."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Form, IntegerField, SelectField, StringField
from wtforms.validators import NumberRange, Optional, ValidationError

from interrupters.forms import MultiCheckboxField, options
from interrupters.reports.indicators import SECTIONS
from interrupters.reports.services import MAX_MONTHS, months_in, next_month

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 2000, 2100


def parse_month(value: str | None) -> date | None:
    """ "2026-11" as the first day of that month; None if it is no such month."""
    match = MONTH.match((value or "").strip())
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        return None
    return date(year, month, 1)


def _month(form: Form, field: Any) -> None:
    if field.data and parse_month(field.data) is None:
        raise ValidationError(_l("Give a month as year and month, e.g. 2026-11."))


def shift(month: date, months: int) -> date:
    """The first day of the month `months` before (negative) or after `month`."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# The most months a figures page shows: a longer period is shown PAGE_MONTHS at a time, the
# latest first (five years of a city's figures on one page were 18 KB of first HTML).
PAGE_MONTHS = 24


class FiguresForm(Form):
    programme = SelectField(_l("Programme"), choices=[], validate_choice=False)
    start = StringField(_l("From month"), validators=[_month], render_kw={"type": "month"})
    end = StringField(_l("To month"), validators=[_month], render_kw={"type": "month"})
    areas = MultiCheckboxField(_l("Areas"), choices=[], validate_choice=False)
    # The last month a page of a long period shows (the period's end if not given).
    until = StringField(_l("Until month"), validators=[_month])
    # The first area a page of a section's areas shows (counted from 0).
    from_area = IntegerField(
        _l("From area"), validators=[Optional(), NumberRange(min=0, max=100_000)]
    )
    # The section whose per-area tables are shown (the page of one section's areas).
    section = SelectField(
        _l("Section"), choices=options((s.key, s.label) for s in SECTIONS), validate_choice=False
    )

    def prepare(self, programmes: list[tuple[int, str]], areas: list[tuple[int, str]]) -> None:
        self.programme.choices = options(programmes)
        self.areas.choices = options(areas)

    def validate_programme(self, field: Any) -> None:
        if field.data and field.data not in {c.value for c in field.choices}:
            raise ValidationError(_l("Choose one of your programmes."))

    def validate_section(self, field: Any) -> None:
        if field.data and field.data not in {s.key for s in SECTIONS}:
            raise ValidationError(_l("Choose a section of the figures."))

    def validate_areas(self, field: Any) -> None:
        known = {c.value for c in field.choices}
        if any(value not in known for value in field.data or []):
            raise ValidationError(_l("Choose areas of the programme."))

    def period(self, today: date) -> tuple[date, date]:
        """The months asked for: by default the twelve up to this one."""
        end = parse_month(self.end.data) or today.replace(day=1)
        start = parse_month(self.start.data) or shift(end, -11)
        return start, end

    def window(self, today: date) -> tuple[date, date]:
        """The months this page shows: at most PAGE_MONTHS of the period, up to `until`
        (counted back from the period's end, the pages of a period are always the same)."""
        start, end = self.period(today)
        last = min(max(parse_month(self.until.data) or end, start), end)
        return max(start, shift(last, 1 - PAGE_MONTHS)), last

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        start, end = parse_month(self.start.data), parse_month(self.end.data)
        if start and end:
            if end < start:
                self.end.errors = [*self.end.errors, _l("The end is before the start.")]
                return False
            if len(months_between(start, end)) > MAX_MONTHS:
                self.end.errors = [
                    *self.end.errors,
                    _l("At most %(months)d months at a time.", months=MAX_MONTHS),
                ]
                return False
        return valid

    def area_ids(self) -> list[int] | None:
        return [int(v) for v in self.areas.data] if self.areas.data else None


def months_between(start: date, end: date) -> list[date]:
    """Whole months from `start` to `end`, without months_in's upper bound (for validation)."""
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        return [start] * (MAX_MONTHS + 1)
    return months_in(start, end)


class MonthlyForm(Form):
    programme = SelectField(_l("Programme"), choices=[], validate_choice=False)
    month = StringField(_l("Month"), validators=[_month], render_kw={"type": "month"})

    def validate_programme(self, field: Any) -> None:
        if field.data and field.data not in {c.value for c in field.choices}:
            raise ValidationError(_l("Choose one of your programmes."))

    def chosen_month(self, today: date) -> date:
        """The month asked for; by default the last whole month."""
        return parse_month(self.month.data) or shift(today.replace(day=1), -1)


__all__ = ["FiguresForm", "MonthlyForm", "next_month", "parse_month", "shift"]
