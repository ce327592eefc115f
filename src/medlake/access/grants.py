"""The OAuth 2.0 grants of the token endpoint: a person's password, a system's signed assertion.

Client credentials follow SMART Backend Services: the client signs a short JWT (RS384/ES384)
with a key of its registered JWKS; ``iss`` and ``sub`` are its client id, ``aud`` is this token
endpoint, ``exp`` at most five minutes ahead, and ``jti`` never seen before (kept in the catalog
until it expires, so a captured assertion cannot be replayed on any server of the region).
Every failure answers the same way for an unknown client, a wrong key or a disabled client.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import jwt
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from medlake.access import scopes as smart_scopes
from medlake.access.client_keys import ALGORITHMS
from medlake.access.errors import IdentityError, Unauthenticated
from medlake.access.identity import client_row, user_row
from medlake.access.passwords import hash_password, needs_rehash, verify_password
from medlake.access.tokens import IssuedToken, issue
from medlake.catalog.models import AccessClient, AccessSeenAssertion, AccessUser
from medlake.catalog.store import utcnow

if TYPE_CHECKING:
    from medlake.workspace import Workspace

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_SECONDS = 300
MAX_ASSERTION_CHARS = 16_384
LEEWAY_SECONDS = 30


def password_grant(ws: Workspace, username: str, password: str, requested: str | None = None) -> IssuedToken:
    """Sign a person in: an access token and a refresh token, or one same refusal for every failure."""
    row = user_row(ws, username) if len(username) <= 100 else None
    matched = verify_password(row.password_hash if row else None, password)
    if row is None or not matched or row.disabled:
        raise Unauthenticated("invalid username or password", "invalid_grant")
    if needs_rehash(row.password_hash):
        with ws.catalog.session() as s:
            s.get(AccessUser, row.name).password_hash = hash_password(password)
    granted = _granted(requested, frozenset(row.scopes))
    return issue(ws, row, granted, with_refresh=True)


def client_credentials_grant(
    ws: Workspace, assertion_type: str | None, assertion: str | None, requested: str | None, token_url: str
) -> IssuedToken:
    """A system client's access token for a valid, unused assertion (no refresh token: it signs again)."""
    if assertion_type != ASSERTION_TYPE or not assertion:
        raise Unauthenticated(f"client_assertion_type must be {ASSERTION_TYPE}", "invalid_client")
    claims, client = _verified_assertion(ws, assertion, token_url)
    _remember(ws, client.client_id, str(claims["jti"]), int(claims["exp"]))
    if not requested:
        raise Unauthenticated("ask for scopes (e.g. scope=system/*.rs)", "invalid_scope")
    return issue(ws, client, _granted(requested, frozenset(client.scopes)))


def _granted(requested: str | None, allowed: frozenset[str]) -> frozenset[str]:
    if not requested:
        return allowed
    try:
        granted = smart_scopes.narrow(requested, allowed)
    except IdentityError as exc:
        raise Unauthenticated(f"a requested scope is malformed: {exc}", "invalid_scope") from None
    if not granted:
        raise Unauthenticated("none of the requested scopes may be granted", "invalid_scope")
    return granted


def _verified_assertion(ws: Workspace, assertion: str, token_url: str) -> tuple[dict, AccessClient]:
    refused = Unauthenticated("the client assertion does not verify", "invalid_client")
    if len(assertion) > MAX_ASSERTION_CHARS:
        raise refused
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise refused from None
    alg, kid, client_id = header.get("alg"), header.get("kid"), unverified.get("iss")
    if alg not in ALGORITHMS or not isinstance(client_id, str) or len(client_id) > 100:
        raise refused
    client = client_row(ws, client_id)
    if client is None or client.disabled:
        raise refused
    candidates = [k for k in client.jwks["keys"] if k["alg"] == alg and (kid is None or k["kid"] == kid)]
    for jwk in candidates:
        try:
            claims = jwt.decode(
                assertion,
                jwt.PyJWK(jwk, alg).key,
                algorithms=[alg],
                audience=token_url,
                issuer=client_id,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "sub", "aud", "jti"]},
            )
        except jwt.PyJWTError:
            continue
        if claims["sub"] != client_id:
            raise refused
        if int(claims["exp"]) > time.time() + MAX_ASSERTION_SECONDS + LEEWAY_SECONDS:
            raise Unauthenticated("a client assertion expires at most five minutes ahead", "invalid_client")
        return claims, client
    raise refused


def _remember(ws: Workspace, client_id: str, jti: str, exp: int) -> None:
    """Record the assertion's jti; a second use (on this server or another) is refused."""
    if len(jti) > 200:
        raise Unauthenticated("the client assertion's jti is too long", "invalid_client")
    try:
        with ws.catalog.session() as s:
            # kept past expiry by twice the leeway: an assertion the leeway still accepts is still known
            forgotten = utcnow() - timedelta(seconds=2 * LEEWAY_SECONDS)
            s.execute(delete(AccessSeenAssertion).where(AccessSeenAssertion.expires_at < forgotten))
            expires = datetime.fromtimestamp(exp, UTC)
            s.add(AccessSeenAssertion(client_id=client_id, jti=jti, expires_at=expires))
    except IntegrityError:
        raise Unauthenticated("this client assertion was used already", "invalid_client") from None
