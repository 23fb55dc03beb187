"""The area-month figures a project always may take, from the reports package.

The figures and their suppression are the reports package's (the only place that decides what
is hidden); this module only lays them out as one row per area and month, one column per
indicator, and describes those columns for the codebook from the indicators' own definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlmodel import Session

from interrupters.reports.indicators import COUNT, INDICATORS, MINUTES, RATE, Indicator
from interrupters.reports.services import ALL_AREAS, NOT_APPLICABLE, FigureRow, area_month_figures
from interrupters.reports.suppression import HIDDEN
from interrupters.research.models import ResearchProject

STOCKHOLM_NOTE = _l("Calendar month in Stockholm time, YYYY-MM.")
FIXED = ("month", "district", "area")
DISCLOSURE = _l(
    "Counts from 1 to 4 are shown as <5, and more cells are hidden so that no hidden count "
    "follows from a total and the visible cells (complementary suppression). A true zero is "
    "shown as 0."
)
BY_NAME: dict[str, Indicator] = {i.name: i for i in INDICATORS}


def _cell(row: FigureRow, indicator: Indicator) -> Any:
    """A number as a number; HIDDEN where suppressed, NOT_APPLICABLE where a rate is
    undefined (the reports package's marks, as its pages show them)."""
    if indicator.name in row.suppressed:
        return HIDDEN
    value = row.values.get(indicator.name)
    if value is None:
        return NOT_APPLICABLE
    return value


def table(
    *, session: Session, project: ResearchProject, now: datetime
) -> tuple[tuple[str, ...], list[list[Any]]]:
    """One row per area (and the programme's total, area "all") and month of the period."""
    from interrupters.research.services import local_today

    end = min(project.period_end, local_today(now))
    header = (*FIXED, *(i.name for i in INDICATORS))
    if end < project.period_start:
        return header, []
    rows = area_month_figures(
        session=session,
        programme_id=project.organisation_id,
        start=project.period_start,
        end=end,
    )
    return header, [
        [
            f"{row.month:%Y-%m}",
            row.district if not row.is_total else ALL_AREAS,
            row.area,
            *(_cell(row, indicator) for indicator in INDICATORS),
        ]
        for row in rows
    ]


_TYPES = {
    COUNT: _l("Count (whole number); <5: suppressed."),
    MINUTES: _l("Minutes (whole number); <5: suppressed with the count it follows."),
    RATE: _l(
        "Rate (decimal number); %(undefined)s: not defined (nothing to divide by); <5: suppressed.",
        undefined=NOT_APPLICABLE,
    ),
}


def columns(header: Sequence[str]) -> list[list[str]]:
    """The codebook's lines for the aggregates file: column, meaning, type, values, treatment."""
    lines: list[list[str]] = [
        ["month", str(_l("The month.")), f"month: {STOCKHOLM_NOTE}", "YYYY-MM", str(_l("None."))],
        [
            "district",
            str(
                _l(
                    'The district (stadsdelsområde) of the area; "all" on the programme\'s total '
                    "row."
                )
            ),
            "code",
            str(_l("District names; all")),
            str(_l("None.")),
        ],
        [
            "area",
            str(_l('The area (neighbourhood); "all" for the whole programme.')),
            "code",
            str(_l("Area names of the programme's districts; all")),
            str(_l("None.")),
        ],
    ]
    for name in header[len(FIXED) :]:
        indicator = BY_NAME[name]
        meaning = f"{indicator.label}. {indicator.meaning} ({indicator.unit})"
        if indicator.total:
            meaning += " " + str(_l("Part of: %(total)s.", total=indicator.total))
        lines.append(
            [
                name,
                meaning,
                f"{indicator.type}: {_TYPES.get(indicator.type, '')}",
                str(
                    _l(
                        "0 or more; %(hidden)s; %(undefined)s",
                        hidden=HIDDEN,
                        undefined=NOT_APPLICABLE,
                    )
                ),
                str(DISCLOSURE if indicator.suppressed else _l("Not suppressed.")),
            ]
        )
    return lines
