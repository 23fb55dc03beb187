"""The demo scenario: a newcomer always finds a coming walk and last weekend's report."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from interrupters.demo import seed_demo
from interrupters.walks.models import Walk, WalkReport, WalkSignup
from interrupters.walks.values import WalkState

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.mark.parametrize(
    "local_now",
    [
        datetime(2026, 11, 24, 8, 0),  # a Tuesday morning
        datetime(2026, 11, 28, 22, 0),  # a Saturday, during the walk
        datetime(2026, 11, 29, 0, 30),  # Sunday night, the Saturday walk not over yet
        datetime(2027, 3, 27, 23, 0),  # the Saturday of the change to summer time
    ],
)
def test_demo_walks(session: Session, local_now: datetime) -> None:
    now = local_now.replace(tzinfo=STOCKHOLM)
    assert seed_demo(session=session, now=now)
    session.commit()
    all_walks = list(session.exec(select(Walk).order_by(col(Walk.planned_start))))
    # The months before (demo_history) end before the scenario's own last weekend.
    recent = now - timedelta(days=8)
    walks = [w for w in all_walks if w.planned_start > recent]
    past = [w for w in walks if w.state == WalkState.completed]
    coming = [w for w in walks if w.state == WalkState.planned]
    assert len(past) == 1 and len(coming) >= 6
    assert all(w.planned_start > now for w in coming)
    assert past[0].planned_end <= now
    for walk in walks:
        start = walk.planned_start.astimezone(STOCKHOLM)
        assert start.weekday() in (4, 5) and (start.hour, start.minute) == (20, 30)
        assert walk.planned_end.astimezone(STOCKHOLM).hour == 1
        signups = session.exec(select(WalkSignup).where(WalkSignup.walk_id == walk.id)).all()
        assert sorted(s.group_number or 0 for s in signups) == [1, 1, 2, 2]
    (report,) = session.exec(
        select(WalkReport).where(col(WalkReport.walk_id).in_([w.id for w in walks]))
    ).all()
    assert report.walk_id == past[0].id
    assert report.youths_met == "26-50"
    assert "fight" in report.observations and "called_114_14" in report.actions
    assert report.environment_faults == ["lighting"] and report.fault_place_id is not None
    # Seeding again changes nothing.
    assert not seed_demo(session=session, now=now)
    assert len(session.exec(select(Walk)).all()) == len(all_walks)


def test_demo_conflict_and_briefing(session: Session) -> None:
    """DOMAIN.md: C-0012 at level 3 with one mediation, and the field assistants' briefing."""
    from interrupters.briefings.models import Briefing
    from interrupters.conflicts.models import Conflict, ConflictEvent, Mediation

    now = datetime(2026, 11, 24, 8, 0, tzinfo=STOCKHOLM)
    assert seed_demo(session=session, now=now)
    session.commit()
    conflict = session.exec(select(Conflict).where(Conflict.code == "C-0012")).one()
    assert (conflict.code, conflict.risk_level, conflict.weapon) == ("C-0012", 3, "rumoured")
    assert (conflict.type, conflict.catalyst) == ("group_vs_group", "online_provocation")
    kinds = [
        e.kind
        for e in session.exec(
            select(ConflictEvent)
            .where(ConflictEvent.conflict_id == conflict.id)
            .order_by(col(ConflictEvent.id))
        )
    ]
    assert kinds == ["detected", "level_changed", "mediation"]
    (mediation,) = session.exec(select(Mediation).where(Mediation.conflict_id == conflict.id)).all()
    assert mediation.outcome == "temporarily_resolved"
    assert mediation.follow_up_on == datetime(2026, 11, 26).date()
    (briefing,) = session.exec(select(Briefing)).all()
    assert briefing.state == "published" and briefing.valid_to > now


def test_demo_services_and_referral(session: Session) -> None:
    """DOMAIN.md: Järva's services, and P-7K3Q referred to youth mediation, contact made."""
    from interrupters.participants.models import Participant
    from interrupters.referrals.models import Referral, ReferralUpdate, Service

    now = datetime(2026, 11, 24, 8, 0, tzinfo=STOCKHOLM)
    assert seed_demo(session=session, now=now)
    session.commit()
    kinds = {s.kind for s in session.exec(select(Service)).all()}
    assert kinds >= {
        "victim_support_centre",
        "youth_mediation",
        "social_services",
        "social_emergency",
        "relationship_violence_centre",
        "exit_programme",
        "youth_psychiatry",
    }
    seven = session.exec(select(Participant).where(Participant.code == "P-7K3Q")).one()
    (referral,) = session.exec(select(Referral).where(Referral.participant_id == seven.id)).all()
    participant = session.get(Participant, referral.participant_id)
    service = session.get(Service, referral.service_id)
    assert participant is not None and participant.code == "P-7K3Q"
    assert service is not None and service.kind == "youth_mediation"
    assert referral.status == "contact_made" and referral.consent_given
    assert referral.follow_up_on == now.date() + timedelta(days=7)
    assert referral.made_by_id == participant.worker_id
    updates = session.exec(select(ReferralUpdate).where(ReferralUpdate.referral_id == referral.id))
    assert [u.status for u in updates.all()] == ["contact_made"]


def test_demo_history_gives_the_figures_something_to_say(session: Session) -> None:
    """DOMAIN.md "More demo data": months of the programme's past, so the monthly report of
    last month shows its main figures (not every cell "<5"), the pilot growing month by month;
    the next conflict flagged after the demo follows C-0012."""
    from interrupters.auth.models import Organisation
    from interrupters.records.services import next_number
    from interrupters.reports import services as figures

    now = datetime(2026, 11, 24, 8, 0, tzinfo=STOCKHOLM)
    assert seed_demo(session=session, now=now)
    session.commit()
    programme = session.exec(
        select(Organisation).where(Organisation.name == "Järva fredsbyggare")
    ).one()
    report = figures.monthly_report(
        session=session, programme=programme, month=datetime(2026, 10, 1).date()
    )
    assert len(report.months) == 6
    for name in ("contacts", "participants_active", "mediations", "incidents", "referrals_made"):
        assert report.current.number(name), name
    contacts = [report.totals[m].number("contacts") or 0 for m in report.months]
    assert contacts[-1] > contacts[0] > 0
    walks = [r for r in report.walks if r.month == report.month]
    assert walks and (walks[0].number("walks_held") or 0) >= 5
    assert next_number(session=session, name="conflict", floor=lambda: 0) == 13
    # Seeding again adds nothing.
    assert not seed_demo(session=session, now=now)


def test_demo_research_project(session: Session) -> None:
    """DOMAIN.md: "Utvärdering av Järva fredsbyggare", approved for aggregates and events."""
    from interrupters.demo import RESEARCH_TITLE, seed_demo_research
    from interrupters.research.models import ResearchProject

    now = datetime(2026, 11, 24, 8, 0, tzinfo=STOCKHOLM)
    assert seed_demo(session=session, now=now)
    session.commit()
    (project,) = session.exec(select(ResearchProject)).all()
    assert project.title == RESEARCH_TITLE
    assert project.state == "approved"
    assert project.approved_files == ["contacts", "mediations", "level_changes", "referrals"]
    assert "Stockholms universitet" in project.institution
    assert project.expires_on > now.date() and project.period_start <= now.date()
    # Seeding again, or the project alone again, adds nothing.
    assert not seed_demo(session=session, now=now)
    seed_demo_research(session=session, now=now)
    assert len(session.exec(select(ResearchProject)).all()) == 1
