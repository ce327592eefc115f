"""The one policy: each role sees exactly its share, scopes only narrow it, and it denies by default."""

from __future__ import annotations

import pytest

from medlake.access.errors import Forbidden
from medlake.access.policy import AccessScope, authorize
from medlake.access.principal import Principal, Role

ALL_USER = frozenset({"user/*.cruds"})


def resident(patient: str | None = "P-1", scopes: frozenset[str] = frozenset({"patient/*.rs"})) -> Principal:
    return Principal("ana", frozenset({Role.RESIDENT}), patient=patient, scopes=scopes)


def clinician(tenant: str | None = "hosp-a", scopes: frozenset[str] = ALL_USER) -> Principal:
    return Principal("dr-b", frozenset({Role.CLINICIAN}), tenant=tenant, scopes=scopes)


def system(tenant: str = "hosp-a", scopes: frozenset[str] = frozenset({"system/*.rs"})) -> Principal:
    return Principal("hosp-a-ehr", frozenset({Role.INSTITUTION}), tenant=tenant, scopes=scopes)


def test_a_resident_reads_their_own_person_only_across_institutions(workspace) -> None:
    scope = authorize(workspace, resident(), "Observation", "search")
    assert scope == AccessScope("Observation", frozenset({"P-1"}), None)
    assert scope.admits("P-1", "hosp-b") and not scope.admits("P-2", "hosp-a")


def test_a_resident_not_bound_to_a_person_reads_nothing(workspace) -> None:
    with pytest.raises(Forbidden, match="not bound to a person"):
        authorize(workspace, resident(patient=None), "Observation", "read")


def test_a_clinician_and_a_system_read_their_own_institution(workspace) -> None:
    assert authorize(workspace, clinician(), "Patient", "read") == AccessScope(
        "Patient", None, frozenset({"hosp-a"})
    )
    assert authorize(workspace, system(), "Observation", "export") == AccessScope(
        "Observation", None, frozenset({"hosp-a"})
    )
    with pytest.raises(Forbidden, match="not bound to an institution"):
        authorize(workspace, clinician(tenant=None), "Patient", "read")


def test_admin_analyst_and_steward_read_no_clinical_record(workspace) -> None:
    for role in (Role.ADMIN, Role.ANALYST, Role.STEWARD):
        who = Principal(
            "x", frozenset({role}), tenant="hosp-a", scopes=frozenset({"user/*.cruds", "system/*.cruds"})
        )
        for interaction in ("read", "search", "export"):
            with pytest.raises(Forbidden):
                authorize(workspace, who, "Patient", interaction)
    steward = Principal("s", frozenset({Role.STEWARD}), scopes=frozenset({"user/AuditEvent.rs"}))
    assert authorize(workspace, steward, "AuditEvent", "search") == AccessScope("AuditEvent", None, None)


def test_scopes_narrow_roles_and_never_widen_them(workspace) -> None:
    only_patients = clinician(scopes=frozenset({"user/Patient.r"}))
    assert authorize(workspace, only_patients, "Patient", "read").institutions == frozenset({"hosp-a"})
    with pytest.raises(Forbidden, match="no scope"):
        authorize(workspace, only_patients, "Patient", "search")  # r, not s
    with pytest.raises(Forbidden, match="no scope"):
        authorize(workspace, only_patients, "Observation", "read")
    with pytest.raises(Forbidden, match="no scope"):  # a person's token cannot use system/ scopes
        authorize(workspace, clinician(scopes=frozenset({"system/*.rs"})), "Patient", "read")
    with pytest.raises(Forbidden, match="no scope"):  # fine-grained scopes grant nothing yet
        authorize(
            workspace,
            resident(scopes=frozenset({"patient/Observation.rs?category=laboratory"})),
            "Observation",
            "search",
        )
    with pytest.raises(Forbidden, match="no scope"):  # no scope at all: deny
        authorize(workspace, resident(scopes=frozenset()), "Observation", "read")


def test_v1_scopes_are_still_understood(workspace) -> None:
    assert authorize(
        workspace, resident(scopes=frozenset({"patient/*.read"})), "Condition", "search"
    ).patients == {"P-1"}


def test_unknown_types_and_interactions_are_refused(workspace) -> None:
    with pytest.raises(Forbidden, match="not a resource type"):
        authorize(workspace, clinician(), "Binary", "read")
    with pytest.raises(Forbidden, match="interaction"):
        authorize(workspace, clinician(), "Patient", "delete")


def test_roles_whose_grants_cannot_be_one_filter_are_refused_not_merged(workspace) -> None:
    both = Principal(
        "odd",
        frozenset({Role.RESIDENT, Role.CLINICIAN}),
        tenant="hosp-a",
        patient="P-1",
        scopes=frozenset({"patient/*.rs", "user/*.rs"}),
    )
    with pytest.raises(Forbidden, match="cannot be combined"):
        authorize(workspace, both, "Observation", "search")
    # a role that grants nothing more does not disturb the other
    clinician_admin = Principal(
        "c", frozenset({Role.CLINICIAN, Role.ADMIN}), tenant="hosp-a", scopes=frozenset({"user/*.rs"})
    )
    assert authorize(workspace, clinician_admin, "Observation", "search").institutions == {"hosp-a"}


def test_only_an_institutions_own_system_client_writes_under_its_id(workspace) -> None:
    from medlake.access.policy import authorize_write

    writer = system(scopes=frozenset({"system/*.rs", "system/Observation.cu"}))
    authorize_write(workspace, writer, "Observation", "create", "hosp-a")
    with pytest.raises(Forbidden, match="its own institution"):
        authorize_write(workspace, writer, "Observation", "create", "hosp-b")
    with pytest.raises(Forbidden, match="no scope"):
        authorize_write(workspace, writer, "Condition", "create", "hosp-a")
    with pytest.raises(Forbidden, match="no scope"):
        authorize_write(workspace, system(), "Observation", "update", "hosp-a")  # read-only client
    with pytest.raises(Forbidden, match="only an institution"):
        authorize_write(
            workspace, clinician(scopes=frozenset({"user/*.cruds"})), "Observation", "create", "hosp-a"
        )
    with pytest.raises(Forbidden, match="unknown write"):
        authorize_write(workspace, writer, "Observation", "delete", "hosp-a")
