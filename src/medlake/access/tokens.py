"""Access tokens: issued at the token endpoint, verified on every request, revocable.

An access token is a short-lived JWT (RFC 9068 ``at+jwt``, HS256 with the key of
:mod:`medlake.access.keys`). Verifying one checks, in order: its size, the key it names, the
algorithm (HS256 only: ``none`` and RS/HS confusion are refused by construction), signature,
issuer, audience, expiry and lifetime, then the catalog: not revoked, the account still
exists, is not disabled and has not changed since the token was issued. The principal is built
from the account as it is now, so a role taken away counts from the next request.

Refresh tokens are random strings; the catalog keeps only their SHA-256, and using one
replaces it (a stolen refresh token that was already used is refused).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import jwt
from sqlalchemy import delete, update

from medlake.access import keys
from medlake.access import scopes as smart_scopes
from medlake.access.errors import Unauthenticated
from medlake.access.identity import principal_of, user_row
from medlake.access.principal import Principal
from medlake.catalog.models import AccessClient, AccessRefreshToken, AccessRevocation, AccessUser
from medlake.catalog.store import utcnow

if TYPE_CHECKING:
    from medlake.workspace import Workspace

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"
MAX_TOKEN_CHARS = 8192
MAX_LIFETIME = timedelta(hours=24)
LEEWAY_SECONDS = 30


def issuer(ws: Workspace) -> str:
    return (ws.settings.access_public_url or "urn:medlake").rstrip("/")


def audience(ws: Workspace) -> str:
    """The FHIR base the tokens are for: a token minted for another server is refused here."""
    return f"{issuer(ws)}/fhir"


@dataclass(frozen=True)
class IssuedToken:
    """An OAuth 2.0 token response (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None

    def response(self) -> dict:
        body = {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body

    def __repr__(self) -> str:  # a token in a log is a credential in a log
        return f"IssuedToken(expires_in={self.expires_in}, scope={self.scope!r})"


def issue(
    ws: Workspace,
    account: AccessUser | AccessClient,
    granted: frozenset[str],
    ttl: timedelta | None = None,
    *,
    with_refresh: bool = False,
) -> IssuedToken:
    """Sign an access token for ``account`` with the ``granted`` scopes (already narrowed)."""
    lifetime = ttl or timedelta(minutes=ws.settings.access_token_minutes)
    if lifetime > MAX_LIFETIME or lifetime <= timedelta(0):
        raise Unauthenticated(f"a token lives between 1 second and {MAX_LIFETIME}", "invalid_request")
    key = keys.signing_key(ws.home)
    now = int(time.time())
    is_user = isinstance(account, AccessUser)
    claims = {
        "iss": issuer(ws),
        "aud": audience(ws),
        "sub": account.name if is_user else account.client_id,
        "kind": "user" if is_user else "client",
        "scope": " ".join(sorted(granted)),
        "iat": now,
        "nbf": now,
        "exp": now + int(lifetime.total_seconds()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": TOKEN_TYPE})
    refresh = _new_refresh_token(ws, claims["sub"], granted) if with_refresh else None
    return IssuedToken(token, int(lifetime.total_seconds()), claims["scope"], refresh)


def verify(ws: Workspace, token: str) -> Principal:
    """The principal a bearer token stands for; :class:`Unauthenticated` for anything else."""
    claims = _verified_claims(ws, token)
    kind = AccessUser if claims.get("kind") == "user" else AccessClient
    with ws.catalog.session() as s:  # one round trip for both questions
        revoked = s.get(AccessRevocation, claims["jti"]) is not None
        row = s.get(kind, claims["sub"])
    if revoked:
        raise Unauthenticated("the token has been revoked", "invalid_token")
    if row is None or row.disabled:
        raise Unauthenticated("the account of this token is disabled or gone", "invalid_token")
    if int(row.updated_at.timestamp()) > int(claims["iat"]):
        raise Unauthenticated(
            "the account changed after this token was issued: sign in again", "invalid_token"
        )
    return principal_of(row, frozenset(str(claims.get("scope", "")).split()))


def _verified_claims(ws: Workspace, token: str) -> dict:
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated("no bearer token, or one too long to be ours", "invalid_token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated("the bearer token is not a JWT", "invalid_token") from None
    if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
        raise Unauthenticated("the bearer token is not a medlake access token", "invalid_token")
    key = keys.verifying_keys(ws.home).get(str(header.get("kid")))
    if key is None:
        raise Unauthenticated(
            "the bearer token is signed with a key this server does not have", "invalid_token"
        )
    try:
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=[ALGORITHM],
            audience=audience(ws),
            issuer=issuer(ws),
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "nbf", "sub", "aud", "iss", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the bearer token has expired", "invalid_token") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated("the bearer token is for another server", "invalid_token") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the bearer token does not verify", "invalid_token") from None
    if claims["exp"] - claims["iat"] > MAX_LIFETIME.total_seconds():
        raise Unauthenticated(
            "the bearer token lives longer than any token this server issues", "invalid_token"
        )
    return claims


# revocation ----------------------------------------------------------------------------
def revoke(ws: Workspace, token: str) -> None:
    """Revoke an access token (by its jti, until it expires) or a refresh token; unknown ones are ignored.

    RFC 7009: revoking a token that is not valid is not an error, so a caller learns nothing.
    """
    try:
        claims = _verified_claims(ws, token)
    except Unauthenticated:
        digest = _digest(token)
        with ws.catalog.session() as s:
            row = s.get(AccessRefreshToken, digest)
            if row is not None:
                row.revoked = True
        return
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    with ws.catalog.session() as s:
        if s.get(AccessRevocation, claims["jti"]) is None:
            s.add(
                AccessRevocation(
                    jti=claims["jti"], subject=claims["sub"], expires_at=expires, revoked_at=utcnow()
                )
            )
        s.execute(delete(AccessRevocation).where(AccessRevocation.expires_at < utcnow() - MAX_LIFETIME))


# refresh tokens --------------------------------------------------------------------------
def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _new_refresh_token(ws: Workspace, subject: str, granted: frozenset[str]) -> str:
    value = secrets.token_urlsafe(32)
    now = utcnow()
    with ws.catalog.session() as s:
        s.execute(  # the account's expired ones are of no use to anyone
            delete(AccessRefreshToken).where(
                AccessRefreshToken.subject == subject, AccessRefreshToken.expires_at < now
            )
        )
        s.add(
            AccessRefreshToken(
                digest=_digest(value),
                subject=subject,
                scopes=sorted(granted),
                expires_at=now + timedelta(hours=ws.settings.access_refresh_hours),
                revoked=False,
                created_at=now,
            )
        )
    return value


def refresh(ws: Workspace, refresh_token: str, requested: str | None = None) -> IssuedToken:
    """A new access token (and a new refresh token) for a refresh token, which is used up.

    A refresh token used twice means two parties hold it (the user and a thief): every refresh
    token of that account is revoked, so both must sign in again. A password change or any other
    change to the account also ends its refresh tokens.
    """
    refused = Unauthenticated("the refresh token is not valid", "invalid_grant")
    reused = False
    with ws.catalog.session() as s:
        row = s.get(AccessRefreshToken, _digest(refresh_token)) if len(refresh_token) < 200 else None
        if row is None or row.expires_at <= utcnow():
            raise refused
        subject, allowed, created = row.subject, frozenset(row.scopes), row.created_at
        if row.revoked:
            reused = True
            s.execute(
                update(AccessRefreshToken).where(AccessRefreshToken.subject == subject).values(revoked=True)
            )
        row.revoked = True
    if reused:
        raise refused
    account = user_row(ws, subject)
    if account is None or account.disabled or account.updated_at > created:
        raise refused
    granted = smart_scopes.narrow(" ".join(sorted(allowed)), frozenset(account.scopes))
    if requested:
        granted = smart_scopes.narrow(requested, granted)
    return issue(ws, account, granted, with_refresh=True)
