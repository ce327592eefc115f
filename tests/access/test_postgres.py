"""The same catalog rules on the real PostgreSQL server: replay protection, revocation, outbox, consent."""

from __future__ import annotations

import pytest

from medlake.access import audit, consent, identity, keys, tokens
from medlake.access.errors import Unauthenticated
from medlake.access.grants import ASSERTION_TYPE, client_credentials_grant, password_grant
from medlake.access.policy import authorize

from .conftest import PASSWORD, TOKEN_URL, ClientKey

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ws(make_workspace, postgres_url, monkeypatch):
    monkeypatch.delenv(keys.CURRENT, raising=False)
    monkeypatch.delenv(keys.PREVIOUS, raising=False)
    ws = make_workspace(catalog_url=postgres_url)
    keys.rotate(ws.home)
    yield ws
    ws.catalog.close()


def test_the_access_rules_hold_on_postgresql(pg_ws, rsa_key: ClientKey) -> None:
    identity.add_user(pg_ws, "ana", ["resident"], PASSWORD, patient="P-1")
    issued = password_grant(pg_ws, "ana", PASSWORD)
    principal = tokens.verify(pg_ws, issued.access_token)
    tokens.revoke(pg_ws, issued.access_token)
    with pytest.raises(Unauthenticated, match="revoked"):
        tokens.verify(pg_ws, issued.access_token)

    identity.add_client(pg_ws, "hosp-a-ehr", rsa_key.jwks, tenant="hosp-a")
    assertion = rsa_key.assertion("hosp-a-ehr")
    client_credentials_grant(pg_ws, ASSERTION_TYPE, assertion, "system/*.rs", TOKEN_URL)
    with pytest.raises(Unauthenticated, match="used already"):
        client_credentials_grant(pg_ws, ASSERTION_TYPE, assertion, "system/*.rs", TOKEN_URL)

    consent.record(pg_ws, principal, "P-1", "deny", "research")
    assert not consent.permits(pg_ws, "P-1", "research", "hosp-a")
    assert authorize(pg_ws, principal, "Observation", "search").patients == {"P-1"}
    trail = audit.events(pg_ws, person="P-1").to_pylist()
    assert [(e["action"], e["outcome"]) for e in trail] == [("consent", "allowed"), ("authorize", "allowed")]
    assert audit.flush(pg_ws) == 0


def test_concurrent_replays_on_postgresql_give_one_token(pg_ws, ec_key: ClientKey) -> None:
    from concurrent.futures import ThreadPoolExecutor

    identity.add_client(pg_ws, "bulk", ec_key.jwks, tenant="hosp-b")
    assertion = ec_key.assertion("bulk")

    def attempt(_: int) -> bool:
        try:
            client_credentials_grant(pg_ws, ASSERTION_TYPE, assertion, "system/*.rs", TOKEN_URL)
        except Unauthenticated:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(attempt, range(8))) == 1
