"""The admin's screens: organisations, districts, areas and places, users and memberships."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlmodel import Session, col, select

from interrupters.admin import services as admin_services
from interrupters.audit.models import AuditEvent
from interrupters.auth import organisations as org_services
from interrupters.auth import services as auth_services
from interrupters.auth.models import (
    DeviceSession,
    Membership,
    Organisation,
    OrganisationDistrict,
    User,
)
from interrupters.auth.values import OrganisationType, Role
from interrupters.errors import InvalidInput, NotAllowed, NotVisible
from interrupters.places.models import Area, District, Place
from interrupters.places.values import PlaceType

from . import factories

NEW_PASSWORD = "Lövträd-kaffekopp-91-brygga"
LINK = re.compile(r'value="(https?://[^"]+/invitation/[^"]+)"')


def fresh(session: Session) -> Session:
    """Forget what the test session has cached: the request committed on its own session."""
    session.rollback()  # ends a read snapshot, if one is open
    session.expire_all()  # rollback without a transaction expires nothing
    return session


def events(session: Session, name: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.event == name)).all())


@pytest.fixture
def admin(session, world, actor_for):
    user = factories.create_user(session, world, Role.admin)
    return actor_for(user)


@pytest.fixture
def supervisor(session, world, actor_for):
    user = factories.create_user(session, world, Role.supervisor)
    return actor_for(user)


@pytest.fixture
def admin_client(client, login_as):
    """The client signed in as an admin who reads English (labels checked below are English)."""
    login_as(Role.admin, locale="en")
    return client


# Organisation services ------------------------------------------------------------------------


def test_create_organisation_with_districts_and_audit(session, world, admin):
    jarva, farsta = world.districts["Järva"], world.districts["Farsta"]
    organisation = org_services.create_organisation(
        session=session,
        actor=admin,
        name="  Nattvandrarna   Farsta ",
        type=OrganisationType.night_walk_association,
        district_ids=[farsta.id, jarva.id, farsta.id],
    )
    assert organisation.id is not None
    assert organisation.name == "Nattvandrarna Farsta"
    assert organisation.type == "night_walk_association"
    served = session.exec(
        select(OrganisationDistrict.district_id).where(
            OrganisationDistrict.organisation_id == organisation.id
        )
    ).all()
    assert sorted(served) == sorted([jarva.id, farsta.id])
    (event,) = events(session, "organisation_created")
    assert event.actor_id == admin.user_id
    assert event.object_id == str(organisation.id)
    assert "Farsta" not in str(event.detail)


def test_only_admins_manage_organisations(session, world, supervisor):
    with pytest.raises(NotAllowed):
        org_services.create_organisation(
            session=session, actor=supervisor, name="Ny förening", type="other", district_ids=[]
        )
    with pytest.raises(NotAllowed):
        org_services.update_organisation(
            session=session,
            actor=supervisor,
            organisation_id=world.organisations["programme"].id,
            name="Omdöpt",
            type="other",
            district_ids=[],
        )
    assert (
        session.exec(select(Organisation).where(Organisation.name == "Ny förening")).first() is None
    )


@pytest.mark.parametrize("name", ["Fredsbyggare", "fredsbyggare", "  FREDSBYGGARE "])
def test_duplicate_organisation_name_is_refused(session, world, admin, name):
    with pytest.raises(InvalidInput) as raised:
        org_services.create_organisation(
            session=session, actor=admin, name=name, type="cv_programme", district_ids=[]
        )
    assert set(raised.value.errors) == {"name"}


def test_invalid_organisation_input_names_every_field(session, world, admin):
    with pytest.raises(InvalidInput) as raised:
        org_services.create_organisation(
            session=session, actor=admin, name="   ", type="gang", district_ids=[999_999]
        )
    assert set(raised.value.errors) == {"name", "type", "district_ids"}
    with pytest.raises(InvalidInput) as raised:
        org_services.create_organisation(
            session=session, actor=admin, name="x" * 121, type="other", district_ids=[]
        )
    assert set(raised.value.errors) == {"name"}


def test_update_organisation_replaces_districts(session, world, admin):
    programme = world.organisations["programme"]
    skarholmen = world.districts["Skärholmen"]
    updated = org_services.update_organisation(
        session=session,
        actor=admin,
        organisation_id=programme.id,
        name="Fredsbyggare",  # its own name is no duplicate
        type=OrganisationType.cv_programme,
        district_ids=[skarholmen.id],
    )
    assert updated.name == "Fredsbyggare"
    summary = org_services.get_organisation(session=session, organisation_id=programme.id)
    assert summary.district_ids == [skarholmen.id]
    (event,) = events(session, "organisation_updated")
    assert event.detail == {"type": "cv_programme", "districts": [skarholmen.id], "renamed": False}

    with pytest.raises(InvalidInput):
        org_services.update_organisation(
            session=session,
            actor=admin,
            organisation_id=programme.id,
            name="Nattvandrare",
            type="cv_programme",
            district_ids=[],
        )
    with pytest.raises(NotVisible):
        org_services.update_organisation(
            session=session, actor=admin, organisation_id=999_999, name="X", type="other"
        )


def test_list_organisations_counts_members(session, world, admin):
    factories.create_user(session, world, Role.interrupter)
    rows = {row.organisation.name: row for row in org_services.list_organisations(session=session)}
    assert list(rows) == sorted(rows)
    assert rows["Fredsbyggare"].member_count == 1
    assert [d.name for d in rows["Fredsbyggare"].districts] == ["Järva"]
    assert rows["Drift"].member_count == 1  # the admin
    assert rows["Nattvandrare"].member_count == 0


# User services ---------------------------------------------------------------------------------


def test_membership_change_revokes_sessions(session, world, admin):
    worker = factories.create_user(session, world, Role.interrupter)
    token = auth_services.start_device_session(session=session, user=worker, device_label="phone")
    assert auth_services.principal_for_token(session=session, token=token) is not None
    programme = world.organisations["programme"]

    auth_services.set_membership(
        session=session,
        actor=admin,
        user_id=worker.id,
        organisation_id=programme.id,
        role=Role.supervisor,
    )
    assert auth_services.principal_for_token(session=session, token=token) is None
    roles = auth_services.memberships_of(session=session, user_id=worker.id)
    assert roles == ((programme.id, Role.supervisor),)
    (event,) = events(session, "role_changed")
    assert event.detail == {"from": "interrupter", "to": "supervisor"}

    auth_services.set_membership(
        session=session, actor=admin, user_id=worker.id, organisation_id=programme.id, role=None
    )
    assert auth_services.memberships_of(session=session, user_id=worker.id) == ()


def test_only_admins_change_memberships_and_accounts(session, world, supervisor):
    worker = factories.create_user(session, world, Role.interrupter)
    with pytest.raises(NotAllowed):
        auth_services.set_membership(
            session=session,
            actor=supervisor,
            user_id=worker.id,
            organisation_id=world.organisations["programme"].id,
            role=Role.supervisor,
        )
    with pytest.raises(NotAllowed):
        auth_services.set_user_active(
            session=session, actor=supervisor, user_id=worker.id, active=False
        )
    with pytest.raises(NotAllowed):
        admin_services.list_users(session=session, actor=supervisor)


def test_deactivation_ends_sessions_and_sign_in(session, world, admin):
    walker = factories.create_user(session, world, Role.night_walker)
    token = auth_services.start_device_session(session=session, user=walker, device_label="phone")
    auth_services.set_user_active(session=session, actor=admin, user_id=walker.id, active=False)
    assert auth_services.principal_for_token(session=session, token=token) is None
    assert (
        auth_services.authenticate(session=session, email=walker.email, password=factories.PASSWORD)
        is None
    )
    assert events(session, "user_deactivated")

    auth_services.set_user_active(session=session, actor=admin, user_id=walker.id, active=True)
    assert auth_services.authenticate(
        session=session, email=walker.email, password=factories.PASSWORD
    )
    # The old session stays ended: reactivation is no way back into a lost phone.
    assert auth_services.principal_for_token(session=session, token=token) is None


def test_admin_cannot_deactivate_themselves(session, world, admin):
    with pytest.raises(InvalidInput):
        auth_services.set_user_active(
            session=session, actor=admin, user_id=admin.user_id, active=False
        )


def test_list_users_filters_by_organisation_and_hides_hashes(session, world, admin):
    lead = factories.create_user(session, world, Role.association_lead)
    factories.create_user(session, world, Role.interrupter)
    rows = admin_services.list_users(
        session=session, actor=admin, organisation_id=world.organisations["association"].id
    )
    assert [row.id for row in rows] == [lead.id]
    assert rows[0].memberships[0].role == "association_lead"
    assert rows[0].has_password
    assert not hasattr(rows[0], "password_hash")
    everyone = admin_services.list_users(session=session, actor=admin)
    assert len(everyone) == 3


def test_places_overview_lists_every_district_and_retired_places(session, world, admin):
    retired = world.places["Tensta centrum"]
    retired.active = False
    session.add(retired)
    session.flush()
    overview = admin_services.places_overview(session=session, actor=admin)
    assert len(overview) == 11
    jarva = next(g for g in overview if g.district.name == "Järva")
    assert jarva.district.legacy_names == ["Rinkeby-Kista", "Spånga-Tensta"]
    tensta = next(a for a in jarva.areas if a.area.name == "Tensta")
    assert [p.name for p in tensta.places] == ["Tensta centrum"]
    farsta = next(g for g in overview if g.district.name == "Farsta")
    assert farsta.areas == []


# Routes: access -----------------------------------------------------------------------------


def _admin_urls(world) -> list[str]:
    place = world.places["Rinkeby torg"]
    organisation = world.organisations["programme"]
    return [
        "/admin/users",
        "/admin/users/invite",
        f"/admin/users/{1}",
        "/admin/organisations",
        "/admin/organisations/new",
        f"/admin/organisations/{organisation.id}/edit",
        "/admin/places",
        "/admin/places/new",
        f"/admin/places/{place.id}/edit",
    ]


def test_admin_pages_are_for_admins_only(app, client, login_as, world, session):
    for url in _admin_urls(world):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    login_as(Role.admin, client=app.test_client())
    # Another browser's sign-in is no sign-in here.
    assert client.get("/admin/users").status_code == 302
    login_as(Role.supervisor)
    for url in _admin_urls(world):
        assert client.get(url).status_code == 403, url
    response = client.post("/admin/districts")
    assert response.status_code == 403
    assert events(fresh(session), "access_denied")


def test_admin_pages_render(admin_client, world):
    for url in [
        *_admin_urls(world),
        f"/admin/users?organisation={world.organisations['programme'].id}",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        # Strict CSP: no inline scripts or styles; every POST form carries its CSRF token.
        assert "style=" not in html, url
        assert "<script>" not in html, url
        assert html.count('method="post"') == html.count('name="csrf_token"'), url
        assert "$argon2" not in html, url


def test_user_list_filter(admin_client, session, world):
    lead = factories.create_user(session, world, Role.association_lead)
    worker = factories.create_user(session, world, Role.interrupter)
    session.commit()
    association = world.organisations["association"]
    html = admin_client.get(f"/admin/users?organisation={association.id}").get_data(as_text=True)
    assert lead.email in html
    assert worker.email not in html
    assert "Association lead" in html
    html = admin_client.get("/admin/users?organisation=nonsense").get_data(as_text=True)
    assert lead.email in html and worker.email in html


# Routes: invitations --------------------------------------------------------------------------


def test_invite_gives_a_link_that_sets_a_password(app, admin_client, session, world):
    programme = world.organisations["programme"]
    response = admin_client.post(
        "/admin/users/invite",
        data={
            "email": "  Ny.Medarbetare@Example.org ",
            "display_name": "Ny Medarbetare",
            "organisation_id": programme.id,
            "role": "interrupter",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    link = LINK.search(html)
    assert link, html
    assert "no e-mail" in html

    invited = (
        fresh(session).exec(select(User).where(User.email == "ny.medarbetare@example.org")).one()
    )
    assert invited.password_hash is None
    assert auth_services.memberships_of(session=session, user_id=invited.id) == (
        (programme.id, Role.interrupter),
    )
    # The page showing the user later does not show the link again.
    user_page = admin_client.get(f"/admin/users/{invited.id}").get_data(as_text=True)
    assert link.group(1) not in user_page

    path = urlsplit(link.group(1)).path
    person = app.test_client()
    assert person.get(path).status_code == 200
    response = person.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    response = person.post(
        "/login", data={"email": "ny.medarbetare@example.org", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    # Signed in: the pledge comes first, not the login page.
    assert "/pledge" in person.get("/").headers["Location"]
    # The link is spent.
    assert app.test_client().get(path).status_code == 404


def test_invite_refuses_a_known_email(admin_client, session, world):
    existing = factories.create_user(session, world, Role.night_walker)
    session.commit()
    response = admin_client.post(
        "/admin/users/invite",
        data={
            "email": existing.email.upper(),
            "display_name": "Dubblett",
            "organisation_id": world.organisations["association"].id,
            "role": "night_walker",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A user with this e-mail address exists." in html
    assert not LINK.search(html)


def test_invite_form_errors_are_422(admin_client, world):
    response = admin_client.post(
        "/admin/users/invite",
        data={"email": "not-an-address", "display_name": "", "organisation_id": "", "role": "boss"},
    )
    assert response.status_code == 422
    assert not LINK.search(response.get_data(as_text=True))


def test_new_invitation_replaces_the_old_link(app, admin_client, session, world):
    worker = factories.create_user(session, world, Role.interrupter)
    session.commit()
    first = LINK.search(
        admin_client.post(f"/admin/users/{worker.id}/invitation").get_data(as_text=True)
    )
    response = admin_client.post(f"/admin/users/{worker.id}/invitation")
    assert response.status_code == 200
    second = LINK.search(response.get_data(as_text=True))
    assert first and second and first.group(1) != second.group(1)
    person = app.test_client()
    assert person.get(urlsplit(first.group(1)).path).status_code == 404
    assert person.get(urlsplit(second.group(1)).path).status_code == 200
    assert admin_client.post("/admin/users/999999/invitation").status_code == 404


# Routes: memberships and accounts -------------------------------------------------------------


def test_role_change_through_the_page_signs_the_person_out(
    app, admin_client, login_as, session, world
):
    phone = app.test_client()
    worker = login_as(Role.interrupter, client=phone)
    assert phone.get("/").status_code in (200, 302)
    programme = world.organisations["programme"]

    response = admin_client.post(
        f"/admin/users/{worker.id}/memberships",
        data={"organisation_id": programme.id, "role": "supervisor"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/users/{worker.id}")
    assert auth_services.memberships_of(session=fresh(session), user_id=worker.id) == (
        (programme.id, Role.supervisor),
    )
    response = phone.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]

    association = world.organisations["association"]
    response = admin_client.post(
        f"/admin/users/{worker.id}/memberships",
        data={"organisation_id": association.id, "role": "night_walker"},
    )
    assert response.status_code == 303
    response = admin_client.post(f"/admin/users/{worker.id}/memberships/{programme.id}/remove")
    assert response.status_code == 303
    assert auth_services.memberships_of(session=fresh(session), user_id=worker.id) == (
        (association.id, Role.night_walker),
    )
    html = admin_client.get(f"/admin/users/{worker.id}").get_data(as_text=True)
    assert "Night walker" in html


def test_bad_membership_form_is_422(admin_client, session, world):
    worker = factories.create_user(session, world, Role.interrupter)
    session.commit()
    response = admin_client.post(
        f"/admin/users/{worker.id}/memberships",
        data={"organisation_id": world.organisations["programme"].id, "role": "king"},
    )
    assert response.status_code == 422
    count = fresh(session).exec(select(Membership).where(Membership.user_id == worker.id)).all()
    assert [m.role for m in count] == ["interrupter"]


def test_deactivate_and_activate_through_the_page(app, admin_client, login_as, session, world):
    phone = app.test_client()
    walker = login_as(Role.night_walker, client=phone)
    response = admin_client.post(f"/admin/users/{walker.id}/deactivate")
    assert response.status_code == 303
    assert fresh(session).get(User, walker.id).active is False
    assert "/login" in phone.get("/").headers["Location"]
    devices = session.exec(select(DeviceSession).where(DeviceSession.user_id == walker.id)).all()
    assert all(d.revoked_at is not None for d in devices)
    assert "Deactivated" in admin_client.get("/admin/users").get_data(as_text=True)

    assert admin_client.post(f"/admin/users/{walker.id}/activate").status_code == 303
    assert fresh(session).get(User, walker.id).active is True


def test_admin_cannot_deactivate_themselves_through_the_page(client, login_as, session):
    me = login_as(Role.admin, locale="en")
    response = client.post(f"/admin/users/{me.id}/deactivate")
    assert response.status_code == 422
    assert "You cannot deactivate yourself." in response.get_data(as_text=True)
    assert fresh(session).get(User, me.id).active is True


# Routes: organisations ------------------------------------------------------------------------


def test_create_and_edit_organisation_through_the_pages(admin_client, session, world):
    farsta = world.districts["Farsta"]
    jarva = world.districts["Järva"]
    response = admin_client.post(
        "/admin/organisations/new",
        data={
            "name": "Nattvandrarna Farsta",
            "type": "night_walk_association",
            "district_ids": [farsta.id],
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/organisations")
    created = (
        fresh(session)
        .exec(select(Organisation).where(Organisation.name == "Nattvandrarna Farsta"))
        .one()
    )
    html = admin_client.get("/admin/organisations").get_data(as_text=True)
    assert "Nattvandrarna Farsta" in html and "Night-walk association" in html

    edit = admin_client.get(f"/admin/organisations/{created.id}/edit").get_data(as_text=True)
    boxes = {
        value: "checked" in tag
        for tag in re.findall(r'<input[^>]*type="checkbox"[^>]*>', edit)
        for value in re.findall(r'value="(\d+)"', tag)
    }
    assert len(boxes) == 11
    assert {int(v) for v, checked in boxes.items() if checked} == {farsta.id}

    response = admin_client.post(
        f"/admin/organisations/{created.id}/edit",
        data={
            "name": "Nattvandrarna Söder",
            "type": "other",
            "district_ids": [jarva.id, farsta.id],
        },
    )
    assert response.status_code == 303
    summary = org_services.get_organisation(session=fresh(session), organisation_id=created.id)
    assert summary.organisation.name == "Nattvandrarna Söder"
    assert summary.organisation.type == "other"
    assert sorted(summary.district_ids) == sorted([jarva.id, farsta.id])


def test_duplicate_organisation_through_the_page_is_422(admin_client, session, world):
    response = admin_client.post(
        "/admin/organisations/new", data={"name": "fredsbyggare", "type": "cv_programme"}
    )
    assert response.status_code == 422
    assert "An organisation with this name exists." in response.get_data(as_text=True)
    response = admin_client.post(
        f"/admin/organisations/{world.organisations['association'].id}/edit",
        data={"name": "Fredsbyggare", "type": "night_walk_association"},
    )
    assert response.status_code == 422
    assert admin_client.get("/admin/organisations/999999/edit").status_code == 404


# Routes: districts, areas and places ----------------------------------------------------------


def test_create_missing_districts(admin_client, session, world):
    fresh(session)
    farsta = world.districts["Farsta"]
    session.delete(session.get(District, farsta.id))
    session.commit()
    html = admin_client.get("/admin/places").get_data(as_text=True)
    assert "Create the missing districts" in html
    response = admin_client.post("/admin/districts")
    assert response.status_code == 303
    names = fresh(session).exec(select(District.name)).all()
    assert len(names) == 11 and "Farsta" in names
    html = admin_client.get("/admin/places").get_data(as_text=True)
    assert "Create the missing districts" not in html
    assert "Rinkeby-Kista" in html


def test_add_area(admin_client, session, world):
    farsta = world.districts["Farsta"]
    response = admin_client.post(
        f"/admin/districts/{farsta.id}/areas", data={f"district-{farsta.id}-name": "Hökarängen"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#district-{farsta.id}")
    assert (
        fresh(session).exec(select(Area).where(Area.name == "Hökarängen")).one().district_id
        == farsta.id
    )

    response = admin_client.post(
        f"/admin/districts/{farsta.id}/areas", data={f"district-{farsta.id}-name": "Hökarängen"}
    )
    assert response.status_code == 422
    assert "This name is taken here." in response.get_data(as_text=True)
    response = admin_client.post(f"/admin/districts/{farsta.id}/areas", data={})
    assert response.status_code == 422


def test_add_edit_and_retire_a_place(admin_client, session, world):
    bredang = world.areas["Bredäng"]
    response = admin_client.get(f"/admin/places/new?area={bredang.id}")
    assert re.search(
        rf'<option selected value="{bredang.id}"|value="{bredang.id}" selected',
        response.get_data(as_text=True),
    )
    response = admin_client.post(
        "/admin/places/new",
        data={
            "area_id": bredang.id,
            "name": "Bredängs T-bana",
            "type": "metro_station",
            "active": "y",
        },
    )
    assert response.status_code == 303
    place = fresh(session).exec(select(Place).where(Place.name == "Bredängs T-bana")).one()
    assert place.type == PlaceType.metro_station and place.active and not place.meeting_point

    response = admin_client.post(
        "/admin/places/new",
        data={"area_id": bredang.id, "name": "Bredängs T-bana", "type": "square", "active": "y"},
    )
    assert response.status_code == 422
    assert "This name is taken here." in response.get_data(as_text=True)

    # Clearing "in use" retires the place; it is kept and shown as retired.
    response = admin_client.post(
        f"/admin/places/{place.id}/edit",
        data={
            "area_id": bredang.id,
            "name": "Bredängs T-bana",
            "type": "metro_station",
            "meeting_point": "y",
        },
    )
    assert response.status_code == 303
    place = fresh(session).get(Place, place.id)
    assert place is not None and place.active is False and place.meeting_point is True
    html = admin_client.get("/admin/places").get_data(as_text=True)
    assert "Bredängs T-bana" in html and "Retired" in html
    assert admin_client.get("/admin/places/999999/edit").status_code == 404


def test_place_form_errors_are_422(admin_client, world):
    response = admin_client.post(
        "/admin/places/new", data={"area_id": 999_999, "name": "", "type": "castle"}
    )
    assert response.status_code == 422


def test_admin_actions_are_audited(admin_client, session, world):
    admin_client.post(
        "/admin/organisations/new", data={"name": "Granskad förening", "type": "other"}
    )
    admin_client.post(
        "/admin/places/new",
        data={
            "area_id": world.areas["Rinkeby"].id,
            "name": "Rinkeby bibliotek",
            "type": "other",
            "active": "y",
        },
    )
    fresh(session)
    assert events(session, "organisation_created")
    assert events(session, "place_saved")
    logged = session.exec(
        select(AuditEvent.detail).where(col(AuditEvent.event).like("%organisation%"))
    ).all()
    assert all("Granskad" not in str(detail) for detail in logged)
