"""Districts, areas and places: the admin's lists and the choices forms offer."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from interrupters.audit.services import record_event
from interrupters.auth.principal import Principal
from interrupters.auth.values import Role
from interrupters.errors import InvalidInput, NotAllowed, NotVisible
from interrupters.places.models import Area, District, Place
from interrupters.places.values import PlaceType

# Stockholm's eleven districts since 2023-07-01, with the names older documents use.
STOCKHOLM_DISTRICTS: dict[str, list[str]] = {
    "Järva": ["Rinkeby-Kista", "Spånga-Tensta"],
    "Norra innerstaden": ["Norrmalm", "Östermalm"],
    "Kungsholmen": [],
    "Södermalm": [],
    "Bromma": [],
    "Hässelby-Vällingby": [],
    "Hägersten-Älvsjö": ["Hägersten-Liljeholmen", "Älvsjö"],
    "Skärholmen": [],
    "Enskede-Årsta-Vantör": [],
    "Farsta": [],
    "Skarpnäck": [],
}


# Coordinates a Swedish place can have (WGS84): a typo such as swapped latitude and longitude
# lands outside and is refused.
LATITUDES = (55.0, 69.5)
LONGITUDES = (10.0, 24.5)


class PlaceInput(BaseModel):
    area_id: int
    name: str = Field(min_length=1, max_length=120)
    type: PlaceType
    meeting_point: bool = False
    active: bool = True
    latitude: float | None = Field(default=None, ge=LATITUDES[0], le=LATITUDES[1])
    longitude: float | None = Field(default=None, ge=LONGITUDES[0], le=LONGITUDES[1])


@dataclass(frozen=True)
class AreaPlaces:
    area: Area
    district: District
    places: list[Place]


def ensure_stockholm_districts(*, session: Session) -> list[District]:
    """Create the eleven districts that are missing; idempotent."""
    existing = {d.name: d for d in session.exec(select(District))}
    for name, legacy in STOCKHOLM_DISTRICTS.items():
        if name not in existing:
            existing[name] = District(name=name, legacy_names=legacy)
            session.add(existing[name])
    session.flush()
    return sorted(existing.values(), key=lambda d: d.name)


def find_district(*, session: Session, name: str) -> District | None:
    """Find a district by its name or a legacy name (case-insensitive)."""
    wanted = name.strip().casefold()
    for district in session.exec(select(District)):
        if district.name.casefold() == wanted or wanted in {
            n.casefold() for n in district.legacy_names
        }:
            return district
    return None


def areas_with_places(*, session: Session, active_only: bool = True) -> list[AreaPlaces]:
    """Every area with its places, by district and name, for grouped selects and admin lists."""
    districts = {d.id: d for d in session.exec(select(District))}
    query = select(Place).order_by(col(Place.name))
    if active_only:
        query = query.where(col(Place.active).is_(True))
    places_by_area: dict[int, list[Place]] = {}
    for place in session.exec(query):
        places_by_area.setdefault(place.area_id, []).append(place)
    groups = [
        AreaPlaces(
            area=area,
            district=districts[area.district_id],
            places=places_by_area.get(area.id or 0, []),
        )
        for area in session.exec(select(Area))
    ]
    return sorted(groups, key=lambda g: (g.district.name, g.area.name))


def place_names(*, session: Session) -> dict[int, str]:
    """Every place's name by id, retired ones included (old contacts point at them)."""
    return {
        pid: name for pid, name in session.exec(select(Place.id, Place.name)) if pid is not None
    }


def district_names(*, session: Session) -> dict[int, str]:
    """Every district's name by id."""
    return {d.id: d.name for d in session.exec(select(District)) if d.id is not None}


def area_names(*, session: Session) -> dict[int, str]:
    return {aid: name for aid, name in session.exec(select(Area.id, Area.name)) if aid is not None}


def _admin(actor: Principal) -> None:
    if not actor.has_role(Role.admin):
        raise NotAllowed()


def create_area(*, session: Session, actor: Principal, district_id: int, name: str) -> Area:
    _admin(actor)
    if session.get(District, district_id) is None:
        raise InvalidInput({"district_id": _l("Choose a district from the list.")})
    if session.exec(
        select(Area).where(Area.district_id == district_id).where(Area.name == name.strip())
    ).first():
        raise InvalidInput({"name": _l("This name is taken here.")})
    area = Area(district_id=district_id, name=name.strip())
    session.add(area)
    session.flush()
    record_event(
        session=session,
        event="area_created",
        actor_id=actor.user_id,
        object_type="area",
        object_id=area.id,
    )
    return area


def save_place(
    *, session: Session, actor: Principal, data: PlaceInput, place_id: int | None = None
) -> Place:
    """Create a place or change one; places are retired (inactive), never deleted."""
    _admin(actor)
    if session.get(Area, data.area_id) is None:
        raise InvalidInput({"area_id": _l("Choose an area from the list.")})
    clash = session.exec(
        select(Place).where(Place.area_id == data.area_id).where(Place.name == data.name.strip())
    ).first()
    if clash is not None and clash.id != place_id:
        raise InvalidInput({"name": _l("This name is taken here.")})
    if place_id is None:
        place = Place.model_validate(data.model_dump())
    else:
        found = session.get(Place, place_id)
        if found is None:
            raise NotVisible()
        place = found
        for key, value in data.model_dump().items():
            setattr(place, key, value)
    place.name = place.name.strip()
    session.add(place)
    session.flush()
    record_event(
        session=session,
        event="place_saved",
        actor_id=actor.user_id,
        object_type="place",
        object_id=place.id,
    )
    return place
