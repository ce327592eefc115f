"""The audit trail: every decision lands once in the lake, as a FHIR AuditEvent, with no secret in it."""

from __future__ import annotations

import json

import pytest

from medlake.access import audit, identity
from medlake.access.errors import Forbidden
from medlake.access.grants import password_grant
from medlake.access.policy import authorize
from medlake.access.principal import Principal, Role
from medlake.catalog.models import AuditOutbox

from .conftest import PASSWORD

CLINICIAN = Principal("dr-b", frozenset({Role.CLINICIAN}), tenant="hosp-a", scopes=frozenset({"user/*.rs"}))


def test_allowed_and_denied_decisions_are_both_recorded(workspace) -> None:
    authorize(workspace, CLINICIAN, "Observation", "search")
    with pytest.raises(Forbidden):
        authorize(workspace, CLINICIAN, "Observation", "export")
    trail = audit.events(workspace).to_pylist()
    assert [(e["subject"], e["interaction"], e["outcome"]) for e in trail] == [
        ("dr-b", "search", "allowed"),
        ("dr-b", "export", "denied"),
    ]
    assert trail[0]["institutions"] == ["hosp-a"] and trail[0]["patients"] is None
    fhir = json.loads(trail[1]["event"])
    assert (
        fhir["resourceType"] == "AuditEvent"
        and fhir["outcome"] == "4"
        and "may not export" in fhir["outcomeDesc"]
    )
    assert fhir["agent"][0]["who"]["identifier"]["value"] == "dr-b"


def test_the_outbox_is_durable_before_the_answer_and_flushes_exactly_once(workspace) -> None:
    authorize(workspace, CLINICIAN, "Patient", "read")
    with workspace.catalog.session() as s:
        assert s.query(AuditOutbox).count() == 1  # committed before authorize returned
    assert audit.flush(workspace) == 1
    assert audit.flush(workspace) == 0
    with workspace.catalog.session() as s:
        assert s.query(AuditOutbox).count() == 0, "landed events leave the outbox"
    assert audit.events(workspace).num_rows == 1


def test_a_flush_killed_after_the_lake_commit_is_finished_not_repeated(workspace) -> None:
    authorize(workspace, CLINICIAN, "Patient", "read")
    authorize(workspace, CLINICIAN, "Condition", "read")
    [batch] = audit._claimed_batches(workspace, 100)
    assert audit.flush(workspace) == 0, "a batch claimed a moment ago belongs to a flush still running"
    with workspace.catalog.session() as s:
        rows = [r.event for r in s.query(AuditOutbox).order_by(AuditOutbox.seq)]
    uri = workspace.lake.resolve(audit.LOCATION)
    workspace.lake.write(uri, audit._table(rows), app_ids=[f"medlake-audit-{batch}"])  # then the process died
    authorize(workspace, CLINICIAN, "Encounter", "read")  # more arrives meanwhile
    assert audit.flush(workspace, stale_after=0) == 3  # that flush is presumed dead: finish it
    trail = audit.events(workspace)
    assert sorted(trail["resource_type"].to_pylist()) == ["Condition", "Encounter", "Patient"]
    assert len(set(trail["event_id"].to_pylist())) == 3


def test_sign_in_secrets_never_reach_the_trail(workspace, monkeypatch) -> None:
    from medlake.access import keys

    monkeypatch.delenv(keys.CURRENT, raising=False)
    keys.rotate(workspace.home)
    identity.add_user(workspace, "ana", ["resident"], PASSWORD, patient="P-1")
    issued = password_grant(workspace, "ana", PASSWORD)
    from medlake.access import tokens

    authorize(workspace, tokens.verify(workspace, issued.access_token), "Observation", "search")
    audit.flush(workspace)
    # the trail as its readers decode it (the lake's files are compressed, so their bytes prove nothing)
    trail = json.dumps(audit.events(workspace).to_pylist(), default=str)
    catalog_bytes = (workspace.home / "catalog.db").read_bytes()
    key = keys.signing_key(workspace.home).secret.decode()
    for secret in (PASSWORD, issued.access_token, issued.refresh_token, key):
        assert secret not in trail and secret.encode() not in catalog_bytes
    assert audit.events(workspace, subject="ana").num_rows == 1
    assert audit.events(workspace, person="P-1").num_rows == 1
    assert audit.events(workspace, person="P-2").num_rows == 0
