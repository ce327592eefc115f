"""Consent and break-glass through the one policy: who a clinician of another institution may see."""

from __future__ import annotations

import pytest

from medlake.access import audit, consent, emergency
from medlake.access.errors import Forbidden, IdentityError
from medlake.access.policy import AccessScope, authorize
from medlake.access.principal import Principal, Role
from medlake.catalog.models import MpiMember, MpiPerson
from medlake.catalog.store import utcnow

USER = frozenset({"user/*.rs"})


def _link(ws, person: str, *records: str) -> None:
    """The person index's rows: ``records`` are integrated patient ids ``<institution>.<local id>``."""
    now = utcnow()
    with ws.catalog.session() as s:
        s.add(MpiPerson(id=person, status="active", created_at=now, updated_at=now))
        s.flush()  # the members' foreign key needs the person first (PostgreSQL checks it)
        for record in records:
            s.add(
                MpiMember(
                    patient_id=record,
                    institution=record.split(".")[0],
                    person_id=person,
                    fingerprint="0" * 32,
                    basis="test",
                    linked_at=now,
                )
            )


@pytest.fixture
def region(workspace):
    _link(workspace, "P-1", "hosp-a.1", "hosp-b.7")  # cared for at A and B
    _link(workspace, "P-2", "hosp-b.8")  # only at B
    return workspace


def clinician(tenant: str) -> Principal:
    return Principal(f"dr-{tenant}", frozenset({Role.CLINICIAN}), tenant=tenant, scopes=USER)


RESIDENT = Principal("ana", frozenset({Role.RESIDENT}), patient="P-1", scopes=frozenset({"patient/*.rs"}))


def test_by_default_a_clinician_who_cares_for_a_person_sees_their_other_records(region) -> None:
    assert authorize(region, clinician("hosp-a"), "Observation", "search", patient="P-1") == AccessScope(
        "Observation", frozenset({"P-1"}), None
    )
    # no care relationship: only what their own institution holds (nothing, here)
    assert authorize(region, clinician("hosp-a"), "Observation", "search", patient="P-2") == AccessScope(
        "Observation", frozenset({"P-2"}), frozenset({"hosp-a"})
    )


def test_a_denial_of_sharing_with_an_institution_keeps_its_clinicians_to_their_own_records(region) -> None:
    consent.record(region, RESIDENT, "P-1", "deny", "treatment", institution="hosp-a")
    scope = authorize(region, clinician("hosp-a"), "Observation", "search", patient="P-1")
    assert scope == AccessScope("Observation", frozenset({"P-1"}), frozenset({"hosp-a"}))
    assert not scope.admits("P-1", "hosp-b")
    # B's clinicians are not concerned by a denial aimed at A
    assert authorize(region, clinician("hosp-b"), "Observation", "search", patient="P-1").institutions is None
    # the change of mind applies to the next request; the old choice stays as history
    consent.record(region, RESIDENT, "P-1", "permit", "treatment", institution="hosp-a")
    assert authorize(region, clinician("hosp-a"), "Observation", "search", patient="P-1").institutions is None
    history = consent.choices(region, "P-1", history=True)
    assert [(c.decision, c.active) for c in history] == [("deny", False), ("permit", True)]
    assert history[1].as_fhir()["provision"]["actor"][0]["reference"] == {"reference": "Organization/hosp-a"}


def test_a_general_denial_and_the_opt_in_region(region, make_workspace) -> None:
    consent.record(region, RESIDENT, "P-1", "deny", "treatment")
    assert authorize(region, clinician("hosp-b"), "Condition", "search", patient="P-1").institutions == {
        "hosp-b"
    }
    consent.record(region, RESIDENT, "P-1", "permit", "treatment", institution="hosp-b")  # the specific wins
    assert authorize(region, clinician("hosp-b"), "Condition", "search", patient="P-1").institutions is None
    opt_in = make_workspace(consent_default="opt-in")
    _link(opt_in, "P-1", "hosp-a.1", "hosp-b.7")
    assert authorize(opt_in, clinician("hosp-a"), "Condition", "search", patient="P-1").institutions == {
        "hosp-a"
    }
    assert not consent.permits(region, "P-1", "research", "hosp-a"), "research is never presumed"


def test_who_may_record_consent(region) -> None:
    other_resident = Principal(
        "bob", frozenset({Role.RESIDENT}), patient="P-2", scopes=frozenset({"patient/*.rs"})
    )
    with pytest.raises(Forbidden):
        consent.record(region, other_resident, "P-1", "permit", "research")
    with pytest.raises(Forbidden):  # A does not care for P-2
        consent.record(region, clinician("hosp-a"), "P-2", "deny", "treatment")
    consent.record(region, clinician("hosp-b"), "P-2", "deny", "research")  # on the resident's behalf
    with pytest.raises(IdentityError, match="purpose"):
        consent.record(region, RESIDENT, "P-1", "permit", "marketing")
    assert [c.purpose for c in consent.choices(region, "P-2")] == ["research"]


def test_a_resident_reads_only_their_own_person(region) -> None:
    assert authorize(region, RESIDENT, "Observation", "read", patient="P-1").patients == {"P-1"}
    with pytest.raises(Forbidden, match="not yours"):
        authorize(region, RESIDENT, "Observation", "read", patient="P-2")


def test_break_glass_opens_one_record_for_a_time_and_is_flagged(region) -> None:
    dr_a = clinician("hosp-a")
    with pytest.raises(Forbidden, match="reason"):
        authorize(region, dr_a, "Observation", "search", patient="P-2", break_glass="because")
    scope = authorize(
        region, dr_a, "Observation", "search", patient="P-2", break_glass="unconscious in A&E, no history"
    )
    assert scope == AccessScope("Observation", frozenset({"P-2"}), None)
    assert authorize(region, dr_a, "Condition", "search", patient="P-2").institutions is None  # still open
    assert authorize(region, clinician("hosp-c"), "Condition", "search", patient="P-2").institutions == {
        "hosp-c"
    }
    [opened] = emergency.accesses(region, unreviewed=True)
    assert opened.subject == "dr-hosp-a" and opened.person == "P-2"
    with pytest.raises(Forbidden, match="only a clinician"):
        authorize(
            region, RESIDENT, "Observation", "search", patient="P-1", break_glass="I want to see it all"
        )
    trail = audit.events(region, person="P-2").to_pylist()
    flagged = [e for e in trail if e["break_glass"] and e["outcome"] == "allowed"]
    assert [e["action"] for e in flagged] == ["break-glass", "break-glass"]
    assert flagged[0]["reason"] == "unconscious in A&E, no history"


def test_a_merge_in_the_person_index_carries_the_resident_and_their_consent(region) -> None:
    now = utcnow()
    with region.catalog.session() as s:  # the index merged P-OLD (a duplicate at hosp-c) into P-1
        s.add(MpiPerson(id="P-OLD", status="merged", merged_into="P-1", created_at=now, updated_at=now))
    old_account = Principal(
        "ana", frozenset({Role.RESIDENT}), patient="P-OLD", scopes=frozenset({"patient/*.rs"})
    )
    assert authorize(region, old_account, "Observation", "search").patients == {"P-OLD", "P-1"}
    assert authorize(region, old_account, "Observation", "read", patient="P-1").patients == {"P-OLD", "P-1"}
    with pytest.raises(Forbidden):
        authorize(region, old_account, "Observation", "read", patient="P-2")
    # a denial recorded under the old id still binds requests that name the survivor
    consent.record(region, old_account, "P-OLD", "deny", "treatment", institution="hosp-a")
    consent.record(region, old_account, "P-1", "deny", "research")  # the survivor's id is theirs too
    assert authorize(region, clinician("hosp-a"), "Condition", "search", patient="P-1").institutions == {
        "hosp-a"
    }


def test_a_fhir_consent_round_trips_and_richer_ones_are_refused(region) -> None:
    choice = consent.record(region, RESIDENT, "P-1", "deny", "research", institution="hosp-b")
    request = consent.from_fhir(choice.as_fhir())
    assert request == consent.ConsentRequest("P-1", "deny", "research", "hosp-b")
    fhir = choice.as_fhir()
    for broken, message in [
        ({**fhir, "patient": {"reference": "Patient/hosp-a.1"}}, "global person"),
        ({**fhir, "provision": {**fhir["provision"], "type": "maybe"}}, "permit or deny"),
        ({**fhir, "provision": {**fhir["provision"], "purpose": [{"code": "MARKETING"}]}}, "purpose"),
        ({**fhir, "provision": {**fhir["provision"], "provision": [{"type": "permit"}]}}, "nested"),
        ({**fhir, "resourceType": "Patient"}, "Consent resource"),
    ]:
        with pytest.raises(IdentityError, match=message):
            consent.from_fhir(broken)
