"""Users (people) and system clients, as the catalog keeps them, and the principal each one is.

A user signs in with a password (its Argon2 hash is stored); a system client with a JWT signed
by a key of its registered JWKS (only public keys are stored). Both carry roles, the
institution (tenant) or person they are bound to, and the SMART scopes they may ever be granted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from medlake.access import scopes as smart_scopes
from medlake.access.errors import IdentityError
from medlake.access.passwords import hash_password
from medlake.access.principal import Principal, Role
from medlake.catalog.models import AccessClient, AccessUser
from medlake.catalog.store import utcnow

if TYPE_CHECKING:
    from medlake.workspace import Workspace

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")

#: What each role may be granted when no scopes are given at registration.
DEFAULT_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.RESIDENT: ("patient/*.rs",),
    Role.CLINICIAN: ("user/*.rs",),
    Role.INSTITUTION: ("system/*.rs",),
    Role.ANALYST: ("user/*.rs",),
    Role.STEWARD: ("user/AuditEvent.rs",),
    Role.ADMIN: (),
}


@dataclass(frozen=True)
class Account:
    """A user or client as listed (no hash, no keys)."""

    name: str
    kind: str  # "user" or "client"
    roles: tuple[str, ...]
    tenant: str | None
    patient: str | None
    scopes: tuple[str, ...]
    disabled: bool


def _checked(
    name: str, roles: list[str], tenant: str | None, patient: str | None, scopes: list[str] | None
) -> tuple[list[str], list[str]]:
    if not _NAME.match(name):
        raise IdentityError(f"a name is 1-100 letters, digits and ._@- (got {name[:100]!r})")
    try:
        parsed = sorted({Role(role) for role in roles})
    except ValueError:
        raise IdentityError(f"roles are {', '.join(Role)}; got {', '.join(roles)}") from None
    if not parsed:
        raise IdentityError("give at least one role")
    for role in parsed:
        if role is Role.RESIDENT and not patient:
            raise IdentityError("a resident is bound to their person: give --person GLOBAL_ID")
        if role in (Role.CLINICIAN, Role.INSTITUTION) and not tenant:
            raise IdentityError(f"a {role} belongs to an institution: give --institution ID")
    if patient and Role.RESIDENT not in parsed:
        raise IdentityError("only a resident is bound to a person")
    chosen = scopes if scopes is not None else [s for role in parsed for s in DEFAULT_SCOPES[role]]
    for scope in chosen:
        smart_scopes.parse(scope)  # a malformed scope is refused at registration, not ignored later
    return [str(role) for role in parsed], sorted(set(chosen))


# users -----------------------------------------------------------------------------------
def add_user(
    ws: Workspace,
    name: str,
    roles: list[str],
    password: str,
    *,
    tenant: str | None = None,
    patient: str | None = None,
    scopes: list[str] | None = None,
) -> Account:
    role_names, chosen = _checked(name, roles, tenant, patient, scopes)
    password_hash = hash_password(password)
    now = utcnow()
    with ws.catalog.session() as s:
        if s.get(AccessUser, name) is not None or s.get(AccessClient, name) is not None:
            raise IdentityError(f"{name!r} exists already")
        row = AccessUser(
            name=name,
            password_hash=password_hash,
            roles=role_names,
            tenant=tenant,
            patient=patient,
            scopes=chosen,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
    return _user_account(row)


def user_row(ws: Workspace, name: str) -> AccessUser | None:
    with ws.catalog.session() as s:
        return s.get(AccessUser, name)


def users(ws: Workspace) -> list[Account]:
    with ws.catalog.session() as s:
        return [_user_account(row) for row in s.scalars(select(AccessUser).order_by(AccessUser.name))]


def set_password(ws: Workspace, name: str, password: str) -> None:
    password_hash = hash_password(password)
    with ws.catalog.session() as s:
        row = _existing(s.get(AccessUser, name), "user", name)
        row.password_hash = password_hash
        row.updated_at = utcnow()


def set_disabled(ws: Workspace, name: str, disabled: bool = True) -> None:
    """Disable (or enable) a user or client; its tokens stop verifying at the next request."""
    with ws.catalog.session() as s:
        row = s.get(AccessUser, name) or s.get(AccessClient, name)
        row = _existing(row, "user or client", name)
        row.disabled = disabled
        row.updated_at = utcnow()


def _existing(row: AccessUser | AccessClient | None, kind: str, name: str) -> AccessUser | AccessClient:
    if row is None:
        raise IdentityError(f"no {kind} {name!r}")
    return row


def _user_account(row: AccessUser) -> Account:
    return Account(
        row.name, "user", tuple(row.roles), row.tenant, row.patient, tuple(row.scopes), row.disabled
    )


# clients ---------------------------------------------------------------------------------
def add_client(
    ws: Workspace,
    client_id: str,
    jwks: dict,
    *,
    tenant: str | None,
    roles: list[str] | None = None,
    scopes: list[str] | None = None,
) -> Account:
    from medlake.access.client_keys import checked_jwks

    role_names, chosen = _checked(client_id, roles or [Role.INSTITUTION], tenant, None, scopes)
    public = checked_jwks(jwks)
    now = utcnow()
    with ws.catalog.session() as s:
        if s.get(AccessClient, client_id) is not None or s.get(AccessUser, client_id) is not None:
            raise IdentityError(f"{client_id!r} exists already")
        row = AccessClient(
            client_id=client_id,
            roles=role_names,
            tenant=tenant,
            scopes=chosen,
            jwks=public,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
    return _client_account(row)


def client_row(ws: Workspace, client_id: str) -> AccessClient | None:
    with ws.catalog.session() as s:
        return s.get(AccessClient, client_id)


def clients(ws: Workspace) -> list[Account]:
    with ws.catalog.session() as s:
        return [_client_account(r) for r in s.scalars(select(AccessClient).order_by(AccessClient.client_id))]


def _client_account(row: AccessClient) -> Account:
    return Account(
        row.client_id, "client", tuple(row.roles), row.tenant, None, tuple(row.scopes), row.disabled
    )


# principals ------------------------------------------------------------------------------
def principal_of(row: AccessUser | AccessClient, granted_scopes: frozenset[str]) -> Principal:
    """The principal of an account as it is now, with the token's scopes cut to what it may still have.

    Roles and bindings come from the catalog, not the token: a role taken away, or an account
    disabled, counts from the next request.
    """
    subject = row.name if isinstance(row, AccessUser) else row.client_id
    still = smart_scopes.narrow(" ".join(sorted(granted_scopes)), frozenset(row.scopes))
    return Principal(
        subject=subject,
        roles=frozenset(Role(role) for role in row.roles),
        tenant=row.tenant,
        patient=getattr(row, "patient", None),
        scopes=still,
    )
