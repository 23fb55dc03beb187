"""Organisations and the districts they serve (the admin's screens)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, col, func, select

from interrupters.audit.services import record_event
from interrupters.auth.models import Membership, Organisation, OrganisationDistrict
from interrupters.auth.principal import Principal
from interrupters.auth.values import OrganisationType, Role
from interrupters.errors import InvalidInput, NotAllowed, NotVisible
from interrupters.places.models import District

logger = logging.getLogger(__name__)

NAME_MAX = 120


@dataclass(frozen=True)
class OrganisationSummary:
    organisation: Organisation
    districts: list[District]
    member_count: int

    @property
    def district_ids(self) -> list[int]:
        return [d.id for d in self.districts if d.id is not None]


def _admin_check(actor: Principal) -> None:
    if not actor.has_role(Role.admin):
        raise NotAllowed()


def _clean(
    *,
    session: Session,
    name: str,
    type: OrganisationType | str,
    district_ids: Iterable[int],
    organisation_id: int | None = None,
) -> tuple[str, OrganisationType, list[int]]:
    """Return the cleaned name, type and district ids, or raise InvalidInput with every problem."""
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not name:
        errors["name"] = str(_l("Enter a name."))
    elif len(name) > NAME_MAX:
        errors["name"] = str(_l("Use at most %(count)d characters.", count=NAME_MAX))
    else:
        # Names differing only in case would be two organisations nobody can tell apart.
        wanted = name.casefold()
        for other_id, other_name in session.exec(select(Organisation.id, Organisation.name)):
            if other_id != organisation_id and other_name.casefold() == wanted:
                errors["name"] = str(_l("An organisation with this name exists."))
                break
    try:
        kind = OrganisationType(type)
    except ValueError:
        errors["type"] = str(_l("Choose a type."))
        kind = OrganisationType.other
    wanted_ids = sorted(set(district_ids))
    if wanted_ids:
        known = set(session.exec(select(District.id).where(col(District.id).in_(wanted_ids))))
        if known != set(wanted_ids):
            errors["district_ids"] = str(_l("Choose districts from the list."))
    if errors:
        raise InvalidInput(errors)
    return name, kind, wanted_ids


def _set_districts(*, session: Session, organisation_id: int, district_ids: list[int]) -> None:
    current = {
        row.district_id: row
        for row in session.exec(
            select(OrganisationDistrict).where(
                OrganisationDistrict.organisation_id == organisation_id
            )
        )
    }
    for district_id, row in current.items():
        if district_id not in district_ids:
            session.delete(row)
    for district_id in district_ids:
        if district_id not in current:
            session.add(
                OrganisationDistrict(organisation_id=organisation_id, district_id=district_id)
            )


def create_organisation(
    *,
    session: Session,
    actor: Principal,
    name: str,
    type: OrganisationType | str,
    district_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> Organisation:
    """Create an organisation serving the given districts."""
    _admin_check(actor)
    name, kind, ids = _clean(session=session, name=name, type=type, district_ids=district_ids)
    organisation = Organisation(name=name, type=kind.value)
    if now is not None:
        organisation.created_at = now
    session.add(organisation)
    session.flush()
    assert organisation.id is not None
    _set_districts(session=session, organisation_id=organisation.id, district_ids=ids)
    session.flush()
    record_event(
        session=session,
        event="organisation_created",
        actor_id=actor.user_id,
        object_type="organisation",
        object_id=organisation.id,
        organisation_id=organisation.id,
        detail={"type": kind.value, "districts": ids},
        now=now,
    )
    return organisation


def update_organisation(
    *,
    session: Session,
    actor: Principal,
    organisation_id: int,
    name: str,
    type: OrganisationType | str,
    district_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> Organisation:
    """Change an organisation's name, type and the districts it serves."""
    _admin_check(actor)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotVisible()
    name, kind, ids = _clean(
        session=session,
        name=name,
        type=type,
        district_ids=district_ids,
        organisation_id=organisation_id,
    )
    renamed = organisation.name != name
    organisation.name = name
    organisation.type = kind.value
    session.add(organisation)
    _set_districts(session=session, organisation_id=organisation_id, district_ids=ids)
    session.flush()
    record_event(
        session=session,
        event="organisation_updated",
        actor_id=actor.user_id,
        object_type="organisation",
        object_id=organisation_id,
        organisation_id=organisation_id,
        detail={"type": kind.value, "districts": ids, "renamed": renamed},
        now=now,
    )
    return organisation


def served_districts(*, session: Session, organisation_ids: Collection[int]) -> list[int]:
    """Districts the organisations serve."""
    if not organisation_ids:
        return []
    return sorted(
        set(
            session.exec(
                select(OrganisationDistrict.district_id).where(
                    col(OrganisationDistrict.organisation_id).in_(list(organisation_ids))
                )
            )
        )
    )


def _districts_by_organisation(
    *, session: Session, organisation_ids: list[int] | None = None
) -> dict[int, list[District]]:
    query = select(OrganisationDistrict.organisation_id, District).join(
        District, col(District.id) == col(OrganisationDistrict.district_id)
    )
    if organisation_ids is not None:
        query = query.where(col(OrganisationDistrict.organisation_id).in_(organisation_ids))
    result: dict[int, list[District]] = {}
    for organisation_id, district in session.exec(query.order_by(col(District.name))):
        result.setdefault(organisation_id, []).append(district)
    return result


def list_organisations(*, session: Session) -> list[OrganisationSummary]:
    """Every organisation by name, with the districts it serves and how many members it has."""
    counts = dict(
        session.exec(
            select(Membership.organisation_id, func.count(col(Membership.id))).group_by(
                col(Membership.organisation_id)
            )
        ).all()
    )
    districts = _districts_by_organisation(session=session)
    organisations = session.exec(select(Organisation).order_by(col(Organisation.name))).all()
    return [
        OrganisationSummary(
            organisation=organisation,
            districts=districts.get(organisation.id or 0, []),
            member_count=counts.get(organisation.id or 0, 0),
        )
        for organisation in organisations
    ]


def get_organisation(*, session: Session, organisation_id: int) -> OrganisationSummary:
    """One organisation with its districts and member count."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotVisible()
    count = session.exec(
        select(func.count(col(Membership.id))).where(Membership.organisation_id == organisation_id)
    ).one()
    districts = _districts_by_organisation(session=session, organisation_ids=[organisation_id])
    return OrganisationSummary(
        organisation=organisation,
        districts=districts.get(organisation_id, []),
        member_count=count,
    )
