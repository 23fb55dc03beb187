"""The signed-in person as the rest of the app sees them: who, which device, which roles where."""

from __future__ import annotations

from dataclasses import dataclass

from flask_login import UserMixin

from interrupters.enums import Role

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
