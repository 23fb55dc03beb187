"""The figures for researchers and supervisors (charts with their numbers beside them, a period
and area picker) and the monthly report for the funder or the district committee. Every figure
here is suppressed: these pages are made to leave the organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from babel import numbers
from flask import Blueprint, g, render_template, request, url_for
from flask_login import current_user
from sqlmodel import Session

from interrupters.audit.services import record_event
from interrupters.auth.values import Role
from interrupters.authz import guard
from interrupters.db import get_session, utcnow
from interrupters.i18n import format_locale, today_local
from interrupters.reports import forms, services
from interrupters.reports.indicators import BY_NAME, SECTIONS, WALK_INDICATORS, in_section
from interrupters.reports.services import FigureRow

bp = Blueprint("reports", __name__, url_prefix="/figures")

READERS = {Role.supervisor, Role.researcher}
guard(bp, {"figures": READERS, "areas": READERS, "monthly": READERS})

# The monthly report's figures, in the order a committee reads them.
KEY_FIGURES = (
    "contacts",
    "participants_active",
    "participants_new",
    "contacts_per_participant_week",
    "conflicts_new",
    "conflict_escalations",
    "mediations",
    "mediations_outcome_resolved_immediately",
    "mediations_outcome_temporarily_resolved",
    "incidents",
    "community_responses",
    "referrals_made",
    "referrals_started",
    "referrals_completed",
)
REPORT_MONTHS = 6  # the month and the five before it


def _locale() -> Any:
    """The reader's format locale, found once a request (a figures page shows thousands)."""
    if "figure_locale" not in g:
        g.figure_locale = format_locale()
    return g.figure_locale


@cache
def _group_symbol(locale: str) -> str:
    return numbers.get_group_symbol(locale)


def shown(row: FigureRow | None, name: str) -> str:
    """A figure in the reader's locale ("2,45" in Swedish), "<5" if hidden, a dash if undefined."""
    if row is None:
        return ""
    value = row.number(name)
    if value is None:
        return row.shown(name)
    locale = _locale()
    if isinstance(value, float):
        return numbers.format_decimal(value, format="#,##0.##", locale=locale)
    if value >= 0:  # a count: Babel's "#,##0" grouping, written without its pattern engine
        return f"{value:,}".replace(",", _group_symbol(str(locale)))
    return numbers.format_decimal(value, locale=locale)


def _number(row: FigureRow | None, name: str) -> int | float | None:
    return row.number(name) if row is not None else None


def _programme(session: Session, form: Any) -> Any:
    programmes = services.readable_programmes(session=session, actor=current_user)
    form.programme.choices = forms.options((p.id, p.name) for p in programmes)
    if not form.programme.data and programmes:
        form.programme.data = str(programmes[0].id)
    return programmes


def _chosen(session: Session, form: Any) -> Any:
    """The programme the valid form names (403 if it is not the reader's)."""
    raw = form.programme.data
    return services.programme_for(
        session=session,
        actor=current_user,
        programme_id=int(raw) if raw and str(raw).isdigit() else None,
    )


@bp.app_template_global()
def figure_label(name: str) -> str:
    """An indicator's label by its name (for pages outside this package, e.g. a home)."""
    return str(BY_NAME[name].label)


@dataclass(frozen=True)
class MonthPages:
    """Where the months shown sit in a period longer than a page (forms.PAGE_MONTHS)."""

    first: date
    last: date
    earlier: str | None  # the link to the months before, if the period has any
    later: str | None


def _this_page_with(**changes: Any) -> str:
    """This page's address with some of its query values changed (the others kept)."""
    args: dict[str, Any] = request.args.to_dict(flat=False)
    return url_for(request.endpoint or "reports.figures", **(args | changes))


def _month_pages(form: Any, start: date, end: date) -> MonthPages:
    period_start, period_end = form.period(today_local())
    later = min(period_end, forms.shift(end, forms.PAGE_MONTHS))
    return MonthPages(
        first=start,
        last=end,
        earlier=_this_page_with(until=f"{forms.shift(start, -1):%Y-%m}")
        if start > period_start
        else None,
        later=_this_page_with(until=f"{later:%Y-%m}") if end < period_end else None,
    )


def _figure_rows(
    session: Session, form: Any
) -> tuple[Any, list[date], list[FigureRow], MonthPages] | None:
    """The programme, months and rows the picker asks for (a page of them: see MonthPages);
    None if it asks for nothing valid."""
    _programme(session, form)
    programme = None
    if form.programme.validate(form):
        programme = _chosen(session, form)
        choices = services.programme_areas(session=session, programme_id=programme.id)
        form.areas.choices = forms.options(choices)
    if not form.validate() or programme is None:
        return None
    period_start, period_end = form.period(today_local())
    form.start.data = period_start.strftime("%Y-%m")
    form.end.data = period_end.strftime("%Y-%m")
    start, end = form.window(today_local())
    rows = services.area_month_figures(
        session=session,
        programme_id=programme.id,
        start=start,
        end=end,
        area_ids=form.area_ids(),
    )
    return programme, services.months_in(start, end), rows, _month_pages(form, start, end)


def _counted_at(rows: list[FigureRow]) -> Any:
    """When the oldest kept month shown was counted (None: every month was counted now)."""
    return min((r.counted_at for r in rows if r.counted_at is not None), default=None)


@bp.get("/")
def figures() -> Any:
    """Every indicator per month for the programme: a chart and a table a section; the tables
    per area are a page of their own a section (at a city's size they would be most of it)."""
    session = get_session()
    form = forms.FiguresForm(request.args)
    found = _figure_rows(session, form)
    if found is None:
        return render_template("reports/figures.html", form=form, sections=[], months=[]), 400
    programme, months, rows, pages = found
    totals = {r.month: r for r in rows if r.is_total}
    sections = [
        {
            "section": section,
            "indicators": in_section(section.key),
            "chart": BY_NAME[section.chart],
            "chart_values": [_number(totals.get(m), section.chart) for m in months],
            "chart_texts": [shown(totals.get(m), section.chart) for m in months],
        }
        for section in SECTIONS
    ]
    return render_template(
        "reports/figures.html",
        form=form,
        programme=programme,
        months=months,
        totals=totals,
        sections=sections,
        counted_at=_counted_at(rows),
        pages=pages,
        page_months=forms.PAGE_MONTHS,
        shown=shown,
    )


# Areas a page of one section's tables: a city's programme has dozens (first HTML's budget).
AREAS_PAGE = 10


@bp.get("/areas")
def areas() -> Any:
    """One section's figures per area and month (the areas the picker names, or every one);
    the first section if none is named."""
    session = get_session()
    form = forms.FiguresForm(request.args)
    found = _figure_rows(session, form)
    if found is None:
        return render_template("reports/areas.html", form=form, section=None, months=[]), 400
    programme, months, rows, pages = found
    section = next((s for s in SECTIONS if s.key == form.section.data), SECTIONS[0])
    form.section.data = section.key
    # The rows come by district and area: the first month's order is the page's.
    by_area: dict[tuple[int | None, str], dict[date, FigureRow]] = {}
    for row in rows:
        if not row.is_total:
            by_area.setdefault((row.area_id, row.area), {})[row.month] = row
    every = [(name, by_month) for (_id, name), by_month in by_area.items()]
    # Past the last page (areas were picked away): the last page.
    first = min(form.from_area.data or 0, max(0, len(every) - 1) // AREAS_PAGE * AREAS_PAGE)
    shown_areas = every[first : first + AREAS_PAGE]
    return render_template(
        "reports/areas.html",
        form=form,
        programme=programme,
        months=months,
        section=section,
        indicators=in_section(section.key),
        areas=shown_areas,
        area_pages={
            "first": first + 1,
            "last": first + len(shown_areas),
            "of": len(every),
            "earlier": _this_page_with(from_area=max(0, first - AREAS_PAGE)) if first else None,
            "later": _this_page_with(from_area=first + AREAS_PAGE)
            if first + AREAS_PAGE < len(every)
            else None,
        },
        counted_at=_counted_at(rows),
        pages=pages,
        page_months=forms.PAGE_MONTHS,
        shown=shown,
    )


@bp.get("/monthly")
def monthly() -> Any:
    """One printable page per programme and month: the month against the five before it."""
    session = get_session()
    form = forms.MonthlyForm(request.args)
    programmes = _programme(session, form)
    if not form.validate() or not programmes:
        if not programmes:
            services.programme_for(session=session, actor=current_user, programme_id=None)
        return render_template("reports/monthly.html", form=form, report=None), 400
    programme = _chosen(session, form)
    month = form.chosen_month(today_local())
    form.month.data = month.strftime("%Y-%m")
    report = services.monthly_report(
        session=session, programme=programme, month=month, months=REPORT_MONTHS
    )
    record_event(
        session=session,
        event="export",
        actor_id=current_user.user_id,
        object_type="monthly_report",
        organisation_id=programme.id,
        detail={"month": month.strftime("%Y-%m")},
    )
    session.commit()  # the audited report
    return render_template(
        "reports/monthly.html",
        form=form,
        report=report,
        key_figures=[BY_NAME[name] for name in KEY_FIGURES],
        walk_indicators=WALK_INDICATORS,
        shown=shown,
        made_at=utcnow(),
    )
