"""The signed-in person as the rest of the app sees them: who, which device, which roles where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_login import UserMixin

from interrupters.auth.values import Role

# Office roles get short sessions; field roles keep theirs through a night on the street.
OFFICE_ROLES = frozenset({Role.admin, Role.supervisor, Role.briefing_author, Role.researcher})


@dataclass(frozen=True, eq=False)
class Principal(UserMixin):
    user_id: int
    display_name: str
    email: str
    locale: str
    device_session_id: int
    # Flask-Login stores what get_id returns in the cookie: the device token, not the user
    # id, so revoking the device row ends the session.
    token: str
    memberships: tuple[tuple[int, Role], ...]
    pledge_accepted: bool
    # What this device must still do after the password: "enrol" a second factor or "verify"
    # one (office roles, issue 9); None once it counts as signed in.
    second_factor: str | None = None
    # A field phone's PIN (issue 9, item 5): whether this device has one, whether it is locked
    # now (after a restart or idle), until when it stays open without activity, and whether
    # the person should still be offered one (a field device with neither PIN nor refusal).
    pin: bool = False
    field: bool = False
    locked: bool = False
    unlocked_until: datetime | None = None
    offer_pin: bool = False

    @property
    def restricted(self) -> bool:
        """Signed in with the password but not yet let in: a second factor or the PIN waits."""
        return bool(self.second_factor) or self.locked

    def get_id(self) -> str:
        return self.token

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(role for _org, role in self.memberships)

    def has_role(self, *roles: Role) -> bool:
        return any(role in roles for _org, role in self.memberships)

    def organisations(self, *roles: Role) -> list[int]:
        """Organisations where this person holds one of `roles`."""
        return [org for org, role in self.memberships if role in roles]

    def role_in(self, organisation_id: int) -> Role | None:
        for org, role in self.memberships:
            if org == organisation_id:
                return role
        return None
