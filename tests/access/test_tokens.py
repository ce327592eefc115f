"""Tokens as an attacker sees them: every forged, stale, replayed or escalated credential is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from medlake.access import identity, keys, tokens
from medlake.access.errors import Unauthenticated
from medlake.access.grants import ASSERTION_TYPE, client_credentials_grant, password_grant
from medlake.access.principal import Role

from .conftest import PASSWORD, TOKEN_URL, ClientKey


@pytest.fixture
def people(access_ws):
    identity.add_user(access_ws, "ana", ["resident"], PASSWORD, patient="P-1")
    identity.add_user(access_ws, "dr-b", ["clinician"], PASSWORD, tenant="hosp-a")
    return access_ws


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _forge(token: str, **changes: object) -> str:
    """The token with its payload changed and its signature kept (what a tamperer can do)."""
    header, payload, signature = token.split(".")
    claims = {**json.loads(base64.urlsafe_b64decode(payload + "==")), **changes}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def test_password_grant_gives_a_token_that_verifies_to_the_account(people) -> None:
    issued = password_grant(people, "ana", PASSWORD)
    body = issued.response()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60 and body["refresh_token"]
    principal = tokens.verify(people, issued.access_token)
    assert principal.subject == "ana" and principal.roles == {Role.RESIDENT} and principal.patient == "P-1"
    assert principal.scopes == {"patient/*.rs"}
    assert PASSWORD not in repr(issued) and issued.access_token not in repr(issued)


def test_wrong_password_unknown_user_and_disabled_user_get_the_same_answer(people) -> None:
    answers = set()
    for name, password in [("ana", "not the password"), ("nobody", PASSWORD)]:
        with pytest.raises(Unauthenticated) as refusal:
            password_grant(people, name, password)
        answers.add(str(refusal.value))
    identity.set_disabled(people, "ana")
    with pytest.raises(Unauthenticated) as refusal:
        password_grant(people, "ana", PASSWORD)
    answers.add(str(refusal.value))
    assert answers == {"invalid username or password"}


def test_a_disabled_account_loses_its_live_tokens(people) -> None:
    token = password_grant(people, "dr-b", PASSWORD).access_token
    assert tokens.verify(people, token).tenant == "hosp-a"
    time.sleep(1.1)  # iat has one-second resolution; a change in the same second keeps the token
    identity.set_disabled(people, "dr-b")
    with pytest.raises(Unauthenticated, match="disabled"):
        tokens.verify(people, token)


def test_a_password_change_signs_the_account_out(people) -> None:
    token = password_grant(people, "ana", PASSWORD).access_token
    time.sleep(1.1)
    identity.set_password(people, "ana", "another long passphrase")
    with pytest.raises(Unauthenticated, match="sign in again"):
        tokens.verify(people, token)


def test_expired_tampered_and_foreign_tokens_are_refused(people) -> None:
    token = password_grant(people, "ana", PASSWORD).access_token
    with pytest.raises(Unauthenticated, match="does not verify"):
        tokens.verify(people, _forge(token, sub="dr-b"))
    with pytest.raises(Unauthenticated, match="does not verify"):
        tokens.verify(people, _forge(token, scope="patient/*.cruds system/*.cruds"))
    # past the leeway: signed with the real key, so only the expiry can refuse it
    expired_claims = {**_claims(token), "exp": int(time.time()) - 120, "iat": int(time.time()) - 300}
    key = keys.signing_key(people.home)
    expired = jwt.encode(
        expired_claims, key.secret, algorithm="HS256", headers={"kid": key.kid, "typ": "at+jwt"}
    )
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(people, expired)
    other_audience = jwt.encode(
        {**_claims(token), "aud": "https://elsewhere.example/fhir"},
        key.secret,
        algorithm="HS256",
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
    with pytest.raises(Unauthenticated, match="another server"):
        tokens.verify(people, other_audience)
    too_long = jwt.encode(
        {**_claims(token), "exp": int(time.time()) + 10 * 86400},
        key.secret,
        algorithm="HS256",
        headers={"kid": key.kid, "typ": "at+jwt"},
    )
    with pytest.raises(Unauthenticated, match="lives longer"):
        tokens.verify(people, too_long)
    for garbage in ["", "x" * 9000, "not.a.jwt", "a.b"]:
        with pytest.raises(Unauthenticated):
            tokens.verify(people, garbage)


def test_alg_none_and_keys_of_others_are_refused(people, rsa_key: ClientKey) -> None:
    token = password_grant(people, "ana", PASSWORD).access_token
    claims = _claims(token)
    kid = keys.signing_key(people.home).kid
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": kid, "typ": "at+jwt"})
    with pytest.raises(Unauthenticated, match="not a medlake access token"):
        tokens.verify(people, unsigned)
    rs = jwt.encode(claims, rsa_key.private, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    with pytest.raises(Unauthenticated, match="not a medlake access token"):
        tokens.verify(people, rs)
    other_key = jwt.encode(
        claims,
        "another server's key, 32 bytes long or more",
        algorithm="HS256",
        headers={"kid": kid, "typ": "at+jwt"},
    )
    with pytest.raises(Unauthenticated, match="does not verify"):
        tokens.verify(people, other_key)


def test_a_revoked_token_and_a_used_refresh_token_are_refused(people) -> None:
    issued = password_grant(people, "ana", PASSWORD)
    tokens.revoke(people, issued.access_token)
    with pytest.raises(Unauthenticated, match="revoked"):
        tokens.verify(people, issued.access_token)
    renewed = tokens.refresh(people, issued.refresh_token)
    assert tokens.verify(people, renewed.access_token).subject == "ana"
    with pytest.raises(Unauthenticated, match="refresh token is not valid"):
        tokens.refresh(people, issued.refresh_token)  # used once: a thief replaying it is refused
    tokens.revoke(people, renewed.refresh_token)
    with pytest.raises(Unauthenticated, match="refresh token is not valid"):
        tokens.refresh(people, renewed.refresh_token)


def test_a_refresh_token_used_twice_ends_every_session_of_the_account(people) -> None:
    stolen = password_grant(people, "ana", PASSWORD)
    other_device = password_grant(people, "ana", PASSWORD)
    tokens.refresh(people, stolen.refresh_token)  # the thief (or the user) first
    with pytest.raises(Unauthenticated, match="refresh token is not valid"):
        tokens.refresh(people, stolen.refresh_token)  # the second use gives the theft away
    with pytest.raises(Unauthenticated, match="refresh token is not valid"):
        tokens.refresh(people, other_device.refresh_token)  # every refresh token of ana is gone


def test_a_password_change_ends_refresh_tokens(people) -> None:
    issued = password_grant(people, "ana", PASSWORD)
    identity.set_password(people, "ana", "another long passphrase")
    with pytest.raises(Unauthenticated, match="refresh token is not valid"):
        tokens.refresh(people, issued.refresh_token)


def test_key_rotation_keeps_live_tokens_and_the_refresh_token_is_stored_as_a_digest(people) -> None:
    issued = password_grant(people, "ana", PASSWORD)
    keys.rotate(people.home)
    assert tokens.verify(people, issued.access_token).subject == "ana"  # signed by the previous key
    keys.rotate(people.home)  # the key that signed it is gone now
    with pytest.raises(Unauthenticated, match="key this server does not have"):
        tokens.verify(people, issued.access_token)
    catalog = (people.home / "catalog.db").read_bytes()
    assert issued.refresh_token.encode() not in catalog and issued.access_token.encode() not in catalog


def test_scope_escalation_at_sign_in_is_refused(people) -> None:
    with pytest.raises(Unauthenticated, match="none of the requested"):
        password_grant(people, "ana", PASSWORD, "system/*.rs user/*.cruds")
    narrowed = password_grant(people, "ana", PASSWORD, "patient/Observation.rs patient/*.cruds")
    assert narrowed.scope == "patient/Observation.rs"


# SMART Backend Services -------------------------------------------------------------------
@pytest.fixture
def registered(access_ws, rsa_key: ClientKey, ec_key: ClientKey):
    identity.add_client(access_ws, "hosp-a-ehr", rsa_key.jwks, tenant="hosp-a")
    identity.add_client(access_ws, "hosp-b-bulk", ec_key.jwks, tenant="hosp-b")
    return access_ws


def _grant(ws, assertion: str, scope: str = "system/*.rs"):
    return client_credentials_grant(ws, ASSERTION_TYPE, assertion, scope, TOKEN_URL)


def test_client_credentials_with_rs384_and_es384(registered, rsa_key: ClientKey, ec_key: ClientKey) -> None:
    issued = _grant(registered, rsa_key.assertion("hosp-a-ehr"))
    assert issued.refresh_token is None and issued.scope == "system/*.rs"
    principal = tokens.verify(registered, issued.access_token)
    assert principal.roles == {Role.INSTITUTION} and principal.tenant == "hosp-a"
    assert (
        tokens.verify(registered, _grant(registered, ec_key.assertion("hosp-b-bulk")).access_token).tenant
        == "hosp-b"
    )


def test_a_replayed_assertion_is_refused(registered, rsa_key: ClientKey) -> None:
    assertion = rsa_key.assertion("hosp-a-ehr")
    _grant(registered, assertion)
    with pytest.raises(Unauthenticated, match="used already"):
        _grant(registered, assertion)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aud": "https://other.example/auth/token"}, "does not verify"),
        ({"exp_in": -120}, "does not verify"),
        ({"exp_in": 3600}, "five minutes"),
        ({"sub": "hosp-b-bulk"}, "does not verify"),
        ({"jti": None}, "does not verify"),
    ],
)
def test_bad_assertions_are_refused(registered, rsa_key: ClientKey, change: dict, message: str) -> None:
    overrides = dict(change)
    exp_in = overrides.pop("exp_in", 240)
    assertion = rsa_key.assertion("hosp-a-ehr", exp_in=exp_in, **overrides)
    if overrides.get("jti", "") is None:
        claims = _claims(assertion)
        del claims["jti"]
        assertion = jwt.encode(claims, rsa_key.private, algorithm="RS384", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated, match=message):
        _grant(registered, assertion)


def test_a_client_cannot_sign_as_another_or_with_a_confused_algorithm(
    registered, rsa_key: ClientKey, ec_key: ClientKey
) -> None:
    with pytest.raises(Unauthenticated, match="does not verify"):  # B's key, A's name
        _grant(registered, ec_key.assertion("hosp-a-ehr"))
    public_pem = rsa_key.private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    claims = _claims(rsa_key.assertion("hosp-a-ehr"))
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS384", "kid": "k1", "typ": "JWT"}).encode()
    ).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, header + b"." + body, hashlib.sha384).digest()
    ).rstrip(b"=")
    with pytest.raises(Unauthenticated, match="does not verify"):  # HS/RS confusion with the public key
        _grant(registered, (header + b"." + body + b"." + signature).decode())
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated, match="does not verify"):
        _grant(registered, unsigned)


def test_a_disabled_client_and_scope_escalation(registered, rsa_key: ClientKey) -> None:
    with pytest.raises(Unauthenticated, match="none of the requested"):
        _grant(registered, rsa_key.assertion("hosp-a-ehr"), "system/*.cruds")
    token = _grant(registered, rsa_key.assertion("hosp-a-ehr")).access_token
    time.sleep(1.1)
    identity.set_disabled(registered, "hosp-a-ehr")
    with pytest.raises(Unauthenticated, match="does not verify"):
        _grant(registered, rsa_key.assertion("hosp-a-ehr"))
    with pytest.raises(Unauthenticated, match="disabled"):
        tokens.verify(registered, token)


def test_one_assertion_sent_eight_times_at_once_gives_one_token(registered, rsa_key: ClientKey) -> None:
    """The replay check is the primary key of the catalog row, not a look-then-insert: no race."""
    from concurrent.futures import ThreadPoolExecutor

    assertion = rsa_key.assertion("hosp-a-ehr")

    def attempt(_: int) -> str:
        try:
            _grant(registered, assertion)
        except Unauthenticated as refusal:
            return str(refusal)
        return "token"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("token") == 1
    assert set(outcomes) == {"token", "this client assertion was used already"}
