"""The token endpoint over real HTTP (uvicorn on loopback): OAuth 2.0 answers, SMART discovery, 401s."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Annotated

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI

from medlake.access import audit, identity
from medlake.access.policy import authorize
from medlake.access.principal import Principal
from medlake.access.routes import current_principal, mount

from .conftest import PASSWORD, ClientKey


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(access_ws, rsa_key: ClientKey) -> Iterator[tuple[str, object]]:
    identity.add_user(access_ws, "ana", ["resident"], PASSWORD, patient="P-1")
    identity.add_client(access_ws, "hosp-a-ehr", rsa_key.jwks, tenant="hosp-a")
    app = FastAPI()
    mount(app, access_ws)

    @app.get("/whoami")
    def whoami(principal: Annotated[Principal, Depends(current_principal)]) -> dict:
        scope = authorize(access_ws, principal, "Observation", "search")
        return {"subject": principal.subject, "patients": sorted(scope.patients or [])}

    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not uv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", access_ws
    uv.should_exit = True
    thread.join(10)


def test_password_grant_then_a_protected_route(server) -> None:
    base, _ = server
    answer = httpx.post(
        f"{base}/auth/token", data={"grant_type": "password", "username": "ana", "password": PASSWORD}
    )
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900 and "refresh_token" in body
    me = httpx.get(f"{base}/whoami", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"subject": "ana", "patients": ["P-1"]}
    refreshed = httpx.post(
        f"{base}/auth/token", data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200
    httpx.post(f"{base}/auth/revoke", data={"token": refreshed.json()["access_token"]})
    gone = httpx.get(
        f"{base}/whoami", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    )
    assert gone.status_code == 401 and gone.json()["error"] == "invalid_token"
    assert gone.headers["www-authenticate"].startswith("Bearer")


def test_client_credentials_over_http(server, rsa_key: ClientKey) -> None:
    base, _ = server
    url = f"{base}/auth/token"
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": rsa_key.assertion("hosp-a-ehr", aud=url),
        "scope": "system/*.rs",
    }
    answer = httpx.post(url, data=form)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "system/*.rs" and "refresh_token" not in answer.json()
    replay = httpx.post(url, data=form)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    other_id = {
        **form,
        "client_assertion": rsa_key.assertion("hosp-a-ehr", aud=url),
        "client_id": "hosp-b-bulk",
    }
    assert httpx.post(url, data=other_id).json()["error"] == "invalid_client"
    wrong_audience = {
        **form,
        "client_assertion": rsa_key.assertion("hosp-a-ehr", aud="http://elsewhere/auth/token"),
    }
    assert httpx.post(url, data=wrong_audience).status_code == 401


def test_oauth_errors_never_echo_credentials(server) -> None:
    base, ws = server
    bad = httpx.post(
        f"{base}/auth/token", data={"grant_type": "password", "username": "ana", "password": "guess-1234567"}
    )
    assert bad.status_code == 400 and bad.json() == {
        "error": "invalid_grant",
        "error_description": "invalid username or password",
    }
    assert "guess-1234567" not in bad.text
    # a password typed into the name field must not land in the trail
    httpx.post(
        f"{base}/auth/token", data={"grant_type": "password", "username": "MyS3cret!pass", "password": "x"}
    )
    assert (
        httpx.post(f"{base}/auth/token", data={"grant_type": "implicit"}).json()["error"]
        == "unsupported_grant_type"
    )
    as_json = httpx.post(f"{base}/auth/token", json={"grant_type": "password"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    huge = httpx.post(f"{base}/auth/token", data={"grant_type": "password", "password": "x" * 100_000})
    assert huge.status_code == 400
    repeated = httpx.post(
        f"{base}/auth/token",
        content="grant_type=password&username=ana&username=bob",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.json()["error"] == "invalid_request"
    assert httpx.get(f"{base}/whoami").status_code == 401
    assert httpx.get(f"{base}/whoami", headers={"Authorization": "Bearer garbage"}).status_code == 401
    failures = [
        e for e in audit.events(ws).to_pylist() if e["action"] == "authenticate" and e["outcome"] == "denied"
    ]
    assert any(e["subject"] == "ana" for e in failures)
    assert "guess-1234567" not in str(failures) and "MyS3cret!pass" not in str(failures)
    assert any(e["subject"] == "unknown-account" for e in failures)


def test_smart_configuration(server) -> None:
    base, _ = server
    for path in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        config = httpx.get(f"{base}{path}").json()
        assert config["token_endpoint"] == f"{base}/auth/token"
        assert config["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
        assert "client-confidential-asymmetric" in config["capabilities"]


def test_fhirclient_obtains_a_token_with_smart_backend_services(server, rsa_key: ClientKey) -> None:
    """SMART's own Python client (PyPI fhirclient) requests the token: its form, our answer."""
    from fhirclient import client as fhir_client
    from fhirclient.auth import FHIRAuth

    from medlake.access import tokens

    base, ws = server
    token_uri = f"{base}/auth/token"
    smart = fhir_client.FHIRClient(
        settings={
            "app_id": "hosp-a-ehr",
            "api_base": f"{base}/fhir",
            "scope": "system/*.rs",
            "jwt_token": rsa_key.assertion("hosp-a-ehr", aud=token_uri),
        }
    )
    smart.server.auth = FHIRAuth.create(
        "oauth2", state={"app_id": "hosp-a-ehr", "token_uri": token_uri, "jwt_token": smart.jwt_token}
    )
    smart.server.auth.authorize(smart.server)
    principal = tokens.verify(ws, smart.server.auth.access_token)
    assert principal.subject == "hosp-a-ehr" and principal.tenant == "hosp-a"
    assert principal.scopes == {"system/*.rs"}
