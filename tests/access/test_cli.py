"""The commands: users, clients, consent and audit, as an operator types them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from medlake.access import tokens
from medlake.access.policy import authorize
from medlake.cli import app

from .conftest import PASSWORD, ClientKey

runner = CliRunner()


def _run(ws, *args: str, stdin: str | None = None):
    result = runner.invoke(app, [*args, "--home", str(ws.home)], input=stdin)
    return result


def test_users_add_list_token_disable(access_ws) -> None:
    added = _run(
        access_ws,
        "users",
        "add",
        "ana",
        "--role",
        "resident",
        "--person",
        "P-1",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    listed = json.loads(_run(access_ws, "users", "list", "--json").stdout)
    assert listed == [
        {
            "name": "ana",
            "kind": "user",
            "roles": ["resident"],
            "tenant": None,
            "patient": "P-1",
            "scopes": ["patient/*.rs"],
            "disabled": False,
        }
    ]
    token = _run(access_ws, "users", "token", "ana", "--ttl", "5m").stdout.strip()
    principal = tokens.verify(access_ws, token)
    assert authorize(access_ws, principal, "Observation", "search").patients == {"P-1"}
    assert (
        _run(access_ws, "users", "token", "ana", "--ttl", "2d").exit_code == 1
    )  # longer than any token lives
    assert _run(access_ws, "users", "disable", "ana").exit_code == 0
    assert json.loads(_run(access_ws, "users", "list", "--json").stdout)[0]["disabled"] is True


def test_passwords_never_come_from_the_command_line(access_ws) -> None:
    refused = _run(access_ws, "users", "add", "bob", "--role", "admin", "--password", PASSWORD)
    assert refused.exit_code != 0
    short = _run(access_ws, "users", "add", "bob", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "at least 12" in short.output
    missing_binding = _run(
        access_ws, "users", "add", "bob", "--role", "clinician", "--password-stdin", stdin=PASSWORD
    )
    assert missing_binding.exit_code == 1 and "--institution" in missing_binding.output


def test_clients_add_from_a_jwks_file(access_ws, rsa_key: ClientKey, tmp_path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(rsa_key.jwks))
    added = _run(access_ws, "clients", "add", "hosp-a-ehr", "--jwks", str(jwks), "--institution", "hosp-a")
    assert added.exit_code == 0, added.output
    [client] = json.loads(_run(access_ws, "clients", "list", "--json").stdout)
    assert client["tenant"] == "hosp-a" and client["roles"] == ["institution"]
    assert _run(access_ws, "clients", "disable", "hosp-a-ehr").exit_code == 0


def test_consent_and_audit(access_ws) -> None:
    assert _run(access_ws, "consent", "set", "P-1", "deny", "--institution", "hosp-a").exit_code == 0
    assert _run(access_ws, "consent", "set", "P-1", "permit", "--purpose", "research").exit_code == 0
    bad = _run(access_ws, "consent", "set", "P-1", "maybe")
    assert bad.exit_code == 1 and "permit or deny" in bad.output
    consents = json.loads(_run(access_ws, "consent", "list", "P-1", "--json").stdout)
    assert {c["provision"]["type"] for c in consents} == {"deny", "permit"}
    assert all(c["resourceType"] == "Consent" for c in consents)
    trail = json.loads(_run(access_ws, "audit", "--person", "P-1", "--json").stdout)
    assert [e["action"] for e in trail] == ["consent", "consent"]
    assert trail[0]["subject"].startswith("operator:")
    assert json.loads(_run(access_ws, "audit", "--person", "P-9", "--json").stdout) == []
    assert _run(access_ws, "audit", "--since", "yesterday").exit_code == 1


def test_break_glass_is_listed_and_reviewed(access_ws) -> None:
    from medlake.access.principal import Principal, Role

    doctor = Principal("dr-a", frozenset({Role.CLINICIAN}), tenant="hosp-a", scopes=frozenset({"user/*.rs"}))
    authorize(
        access_ws, doctor, "Observation", "search", patient="P-7", break_glass="cardiac arrest, no history"
    )
    [opened] = json.loads(_run(access_ws, "audit", "--break-glass", "--json").stdout)
    assert opened["by"] == "dr-a" and opened["person"] == "P-7" and opened["reviewed"] == ""
    assert _run(access_ws, "audit", "--reviewed", opened["id"]).exit_code == 0
    assert json.loads(_run(access_ws, "audit", "--break-glass", "--json").stdout)[0]["reviewed"] == "yes"
    assert _run(access_ws, "audit", "--reviewed", "no-such-id").exit_code == 1
