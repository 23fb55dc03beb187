"""A tapped push whose session has ended (issue 10, item 4): the login page keeps the item as
`next` (a path on this site only) and lands there after the password and the second factor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pyotp
import pytest

from interrupters.security import local_path

from . import factories

ITEM = "/notifications?x=1"


class Clock:
    """A clock the test moves by hand: each sign-in's code is a fresh one."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"TWO_FACTOR_REQUIRED": True}


@pytest.fixture
def clock(app):
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


def _next_of(location: str) -> tuple[str, str | None]:
    parts = urlsplit(location)
    return parts.path, (parse_qs(parts.query).get("next") or [None])[0]


@pytest.mark.parametrize("role", ["night_walker", "interrupter", "association_lead"])
def test_a_field_role_lands_on_the_item_after_the_password(app, session, world, role):
    user = factories.create_user(session, world, role)
    session.commit()
    phone = app.test_client()
    # The tap: the session has ended, so the item's page sends the phone to the login page.
    answer = phone.get(ITEM)
    assert answer.status_code == 302
    path, target = _next_of(answer.headers["Location"])
    assert (path, target) == ("/login", ITEM)
    signed_in = phone.post(
        answer.headers["Location"], data={"email": user.email, "password": factories.PASSWORD}
    )
    # A field phone is offered a PIN first (issue 9, item 5), keeping the item; declined,
    # the phone goes there.
    assert signed_in.status_code == 302
    assert _next_of(signed_in.headers["Location"]) == ("/pin/new", ITEM)
    declined = phone.post(f"/pin/skip?next={quote(ITEM)}")
    assert declined.status_code == 302 and declined.headers["Location"] == ITEM
    assert phone.get(ITEM).status_code == 200


def test_an_office_role_lands_on_the_item_after_the_second_factor(
    app, clock, session, world, login_as
):
    user = login_as("supervisor")  # sets up the authenticator app on another device
    clock.now += timedelta(minutes=2)
    phone = app.test_client()
    answer = phone.get(ITEM)
    password = phone.post(
        answer.headers["Location"], data={"email": user.email, "password": factories.PASSWORD}
    )
    path, target = _next_of(password.headers["Location"])
    assert (path, target) == ("/login/second-factor", ITEM)
    code = pyotp.TOTP(factories.TOTP_SECRETS[user.id]).at(clock.now)
    passed = phone.post(password.headers["Location"], data={"code": code})
    assert passed.status_code == 302 and passed.headers["Location"] == ITEM
    assert phone.get(ITEM).status_code == 200


UNSAFE = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "/\\/evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", UNSAFE)
def test_never_another_site(target):
    assert local_path(target) is None


@pytest.mark.parametrize("target", ["/", "/walks/3", "/conflicts/?area_id=2&min_level=3"])
def test_paths_of_this_site_are_kept(target):
    assert local_path(target) == target


@pytest.mark.parametrize("target", UNSAFE)
def test_the_login_never_sends_to_another_site(app, session, world, target):
    user = factories.create_user(session, world, "night_walker")
    session.commit()
    phone = app.test_client()
    answer = phone.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": factories.PASSWORD},
    )
    assert answer.status_code == 302
    assert _next_of(answer.headers["Location"]) == ("/pin/new", "/")
