"""One patient's chart at one institution, and the FHIR R4 resources it is written as.

Every resource the generator emits is built here, so FHIR structure lives in one module and the
care modules only decide *what* happens.  Resources are plain dicts serialised by orjson; small
shared parts (codings, categories, the patient reference, an encounter's ``meta``) are reused
between resources instead of rebuilt, which is most of what makes the generator fast.  Shared
parts are never mutated: a newer version of a resource is a shallow copy with a new ``meta``.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from medlake.synth import clock
from medlake.synth import terminology as t
from medlake.synth.institutions import Institution
from medlake.synth.terminology import Concept, FhirDict, Unit

CURRENCY = "EUR"
_INSURANCE = (
    [{"sequence": 1, "focal": True, "coverage": {"display": "Lakeland Statutory Health Insurance"}}],
    [{"sequence": 1, "focal": True, "coverage": {"display": "Lakeland Mutual (private)"}}],
)
_MEDICATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
COMMUNITY = t.category(_MEDICATION_CATEGORY_SYSTEM, "community", "Community")
INPATIENT = t.category(_MEDICATION_CATEGORY_SYSTEM, "inpatient", "Inpatient")
DISCHARGE = t.category(_MEDICATION_CATEGORY_SYSTEM, "discharge", "Discharge")


class Sink(Protocol):
    """Where resources go (the region writer)."""

    def write(self, institution: str, resource: dict[str, Any]) -> None: ...


def reference(resource: FhirDict) -> FhirDict:
    """A relative reference (``Type/id``) to a resource of the same institution."""
    return {"reference": f"{resource['resourceType']}/{resource['id']}"}


def meta(updated_minute: int, version: int = 1) -> FhirDict:
    return {"versionId": str(version), "lastUpdated": clock.instant_text(updated_minute)}


def newer_version(resource: FhirDict, updated_minute: int, **changes: Any) -> FhirDict:
    """A later version of ``resource`` (same id) with ``changes`` applied and ``meta`` advanced.

    The new ``lastUpdated`` is forced past the old one: a version must never look older than
    the version it replaces, whatever the caller's clinical timeline says.
    """
    previous = resource["meta"]
    updated_minute = max(updated_minute, clock.minute_of(previous["lastUpdated"]) + 1)
    return {**resource, **changes, "meta": meta(updated_minute, int(previous["versionId"]) + 1)}


_lab_code_cache: dict[tuple[str, str], FhirDict] = {}


def lab_code(institution: Institution, concept: Concept) -> FhirDict:
    """LOINC, preceded by the institution's local lab code where it has its own catalogue."""
    key = (institution.id, concept.text)
    cached = _lab_code_cache.get(key)
    if cached is None:
        loinc = concept.codeable(("loinc",))
        local = t.LOCAL_LAB_CODES.get(concept.code("loinc"))
        if institution.local_lab_system and local:
            cached = {
                "coding": [
                    {"system": institution.local_lab_system, "code": local, "display": concept.text},
                    *loinc["coding"],
                ],
                "text": concept.text,
            }
        else:
            cached = loinc
        _lab_code_cache[key] = cached
    return cached


class Chart:
    """A resident's record at one institution: the local patient id, id minting and resource builders."""

    __slots__ = (
        "chronic_recorded",
        "claims",
        "gp_ref",
        "ids",
        "institution",
        "insurance",
        "org_ref",
        "patient",
        "patient_id",
        "patient_ref",
        "practitioner_refs",
        "prescribed",
        "residence",
        "rng",
        "sink",
    )

    def __init__(
        self,
        institution: Institution,
        patient: FhirDict,
        ids: Any,
        rng: random.Random,
        sink: Sink,
        practitioner_refs: tuple[FhirDict, ...],
        residence: Any,
    ) -> None:
        self.institution = institution
        self.patient = patient
        self.patient_id: str = patient["id"]
        self.patient_ref = {"reference": f"Patient/{self.patient_id}"}
        self.ids = ids
        self.rng = rng
        self.sink = sink
        self.org_ref = {"reference": f"Organization/{institution.id}"}
        self.practitioner_refs = practitioner_refs
        self.gp_ref = rng.choice(practitioner_refs)
        self.insurance = _INSURANCE[0] if rng.random() < 0.88 else _INSURANCE[1]
        self.chronic_recorded: set[str] = set()
        self.claims = institution.kind != "public-health-agency"
        self.residence = residence  # the address the institution has on file
        self.prescribed: dict[str, tuple[int, FhirDict]] = {}
        sink.write(institution.id, patient)

    # ------------------------------------------------------------------ plumbing
    def emit(self, resource: FhirDict) -> None:
        self.sink.write(self.institution.id, resource)

    def update_patient(self, updated_minute: int, **changes: Any) -> None:
        """Send a newer version of the Patient resource (a move, a death)."""
        self.patient = newer_version(self.patient, updated_minute, **changes)
        self.emit(self.patient)

    def clinician(self) -> FhirDict:
        """The patient's usual doctor at a health centre; whoever is on duty at a hospital."""
        if self.institution.is_hospital:
            return self.rng.choice(self.practitioner_refs)
        return self.gp_ref if self.rng.random() < 0.8 else self.rng.choice(self.practitioner_refs)

    # ------------------------------------------------------------------ resources
    def encounter(
        self,
        encounter_class: FhirDict,
        kind: Concept,
        start: int,
        end: int,
        record_meta: FhirDict,
        reason: Concept | None = None,
        hospitalization: FhirDict | None = None,
        status: str = "finished",
    ) -> FhirDict:
        """Write an Encounter (``status`` "in-progress" leaves the period open) and return it."""
        encounter_id = self.ids.next()
        resource: FhirDict = {
            "resourceType": "Encounter",
            "id": encounter_id,
            "meta": record_meta,
            "status": status,
            "class": encounter_class,
            "type": [kind.codeable()],
            "subject": self.patient_ref,
            "participant": [{"individual": self.clinician()}],
            "period": (
                {"start": clock.instant_text(start)}
                if status == "in-progress"
                else {"start": clock.instant_text(start), "end": clock.instant_text(end)}
            ),
        }
        if reason is not None:
            resource["reasonCode"] = [reason.codeable(self.institution.condition_systems)]
        if hospitalization is not None:
            resource["hospitalization"] = hospitalization
        resource["serviceProvider"] = self.org_ref
        self.emit(resource)
        return resource

    def quantity(
        self,
        code: FhirDict,
        category: list[FhirDict],
        value: float,
        unit: Unit,
        when: str,
        encounter_ref: FhirDict | None,
        record_meta: FhirDict,
        issued: str | None = None,
        status: str = "final",
    ) -> FhirDict:
        """Write a numeric Observation (vital sign or lab) and return it."""
        resource: FhirDict = {
            "resourceType": "Observation",
            "id": self.ids.next(),
            "meta": record_meta,
            "status": status,
            "category": category,
            "code": code,
            "subject": self.patient_ref,
        }
        if encounter_ref is not None:
            resource["encounter"] = encounter_ref
        resource["effectiveDateTime"] = when
        if issued is not None:
            resource["issued"] = issued
        resource["valueQuantity"] = {
            "value": value,
            "unit": unit.display,
            "system": t.UCUM,
            "code": unit.code,
        }
        self.emit(resource)
        return resource

    def coded_result(
        self,
        code: FhirDict,
        category: list[FhirDict],
        value: FhirDict,
        when: str,
        encounter_ref: FhirDict | None,
        record_meta: FhirDict,
        issued: str | None = None,
    ) -> FhirDict:
        """Write an Observation whose value is a concept (a test result, a consciousness level)."""
        resource: FhirDict = {
            "resourceType": "Observation",
            "id": self.ids.next(),
            "meta": record_meta,
            "status": "final",
            "category": category,
            "code": code,
            "subject": self.patient_ref,
        }
        if encounter_ref is not None:
            resource["encounter"] = encounter_ref
        resource["effectiveDateTime"] = when
        if issued is not None:
            resource["issued"] = issued
        resource["valueCodeableConcept"] = value
        self.emit(resource)
        return resource

    def blood_pressure(
        self, systolic: int, diastolic: int, when: str, encounter_ref: FhirDict | None, record_meta: FhirDict
    ) -> None:
        """One Observation with systolic and diastolic components, as the FHIR vital-signs profile asks."""
        self.emit(
            {
                "resourceType": "Observation",
                "id": self.ids.next(),
                "meta": record_meta,
                "status": "final",
                "category": t.VITAL_SIGNS,
                "code": t.BLOOD_PRESSURE_PANEL.codeable(),
                "subject": self.patient_ref,
                **({"encounter": encounter_ref} if encounter_ref is not None else {}),
                "effectiveDateTime": when,
                "component": [
                    {
                        "code": t.SYSTOLIC_BP.codeable(),
                        "valueQuantity": {
                            "value": systolic,
                            "unit": "mmHg",
                            "system": t.UCUM,
                            "code": "mm[Hg]",
                        },
                    },
                    {
                        "code": t.DIASTOLIC_BP.codeable(),
                        "valueQuantity": {
                            "value": diastolic,
                            "unit": "mmHg",
                            "system": t.UCUM,
                            "code": "mm[Hg]",
                        },
                    },
                ],
            }
        )

    def condition(
        self,
        concept: Concept,
        category: list[FhirDict],
        onset: str,
        recorded: str,
        encounter_ref: FhirDict | None,
        record_meta: FhirDict,
        clinical: FhirDict = t.ACTIVE,
        abatement: str | None = None,
        verification: FhirDict = t.CONFIRMED,
        evidence: FhirDict | None = None,
    ) -> FhirDict:
        """Write a Condition coded in the institution's diagnosis systems and return it."""
        resource: FhirDict = {
            "resourceType": "Condition",
            "id": self.ids.next(),
            "meta": record_meta,
            "clinicalStatus": clinical,
            "verificationStatus": verification,
            "category": category,
            "code": concept.codeable(self.institution.condition_systems),
            "subject": self.patient_ref,
        }
        if encounter_ref is not None:
            resource["encounter"] = encounter_ref
        resource["onsetDateTime"] = onset
        if abatement is not None:
            resource["abatementDateTime"] = abatement
        resource["recordedDate"] = recorded
        if evidence is not None:
            resource["evidence"] = [{"detail": [evidence]}]
        self.emit(resource)
        return resource

    def medication_request(
        self,
        drug: Concept,
        reason: Concept | None,
        authored_day: int,
        valid_days: int,
        dosage: list[FhirDict],
        encounter_ref: FhirDict | None,
        record_meta: FhirDict,
        category: list[FhirDict] = COMMUNITY,
        repeats: int = 0,
        stopped: bool = False,
    ) -> FhirDict:
        """Write a MedicationRequest; its status follows from whether it is still valid at export."""
        end_day = authored_day + valid_days
        status = "stopped" if stopped else ("active" if end_day >= clock.AS_OF_DAY else "completed")
        resource: FhirDict = {
            "resourceType": "MedicationRequest",
            "id": self.ids.next(),
            "meta": record_meta,
            "status": status,
            "intent": "order",
            "category": category,
            "medicationCodeableConcept": drug.codeable(self.institution.medication_systems),
            "subject": self.patient_ref,
        }
        if encounter_ref is not None:
            resource["encounter"] = encounter_ref
        resource["authoredOn"] = clock.day_text(authored_day)
        resource["requester"] = self.clinician()
        if reason is not None:
            resource["reasonCode"] = [reason.codeable(self.institution.condition_systems)]
        resource["dosageInstruction"] = dosage
        resource["dispenseRequest"] = {
            "validityPeriod": {"start": clock.day_text(authored_day), "end": clock.day_text(end_day)},
            "numberOfRepeatsAllowed": repeats,
        }
        self.emit(resource)
        return resource

    def procedure(
        self,
        concept: Concept,
        start: int,
        end: int,
        encounter_ref: FhirDict | None,
        record_meta: FhirDict,
        reason: Concept | None = None,
    ) -> None:
        resource: FhirDict = {
            "resourceType": "Procedure",
            "id": self.ids.next(),
            "meta": record_meta,
            "status": "completed",
            "code": concept.codeable(),
            "subject": self.patient_ref,
        }
        if encounter_ref is not None:
            resource["encounter"] = encounter_ref
        resource["performedPeriod"] = {"start": clock.instant_text(start), "end": clock.instant_text(end)}
        if reason is not None:
            resource["reasonCode"] = [reason.codeable(self.institution.condition_systems)]
        self.emit(resource)

    def claim(
        self,
        encounter_ref: FhirDict,
        start: int,
        end: int,
        created: int,
        items: list[tuple[FhirDict, float]],
        record_meta: FhirDict,
        diagnoses: tuple[Concept, ...] = (),
        urgent: bool = False,
    ) -> None:
        """Write the Claim for an encounter: one item per billed service, total in the region's currency."""
        if not self.claims or not items:
            return
        lines = []
        total = 0.0
        for sequence, (service, amount) in enumerate(items, start=1):
            amount = round(amount, 2)
            total += amount
            lines.append(
                {
                    "sequence": sequence,
                    "productOrService": service,
                    "encounter": [encounter_ref],
                    "net": {"value": amount, "currency": CURRENCY},
                }
            )
        resource: FhirDict = {
            "resourceType": "Claim",
            "id": self.ids.next(),
            "meta": record_meta,
            "status": "active",
            "type": t.CLAIM_INSTITUTIONAL if self.institution.is_hospital else t.CLAIM_PROFESSIONAL,
            "use": "claim",
            "patient": self.patient_ref,
            "billablePeriod": {"start": clock.instant_text(start), "end": clock.instant_text(end)},
            "created": clock.instant_text(created),
            "provider": self.org_ref,
            "priority": t.PRIORITY_STAT if urgent else t.PRIORITY_NORMAL,
            "insurance": self.insurance,
        }
        if diagnoses:
            resource["diagnosis"] = [
                {
                    "sequence": n,
                    "diagnosisCodeableConcept": concept.codeable(self.institution.condition_systems),
                }
                for n, concept in enumerate(diagnoses, start=1)
            ]
        resource["item"] = lines
        resource["total"] = {"value": round(total, 2), "currency": CURRENCY}
        self.emit(resource)

    def immunization(
        self,
        vaccine: FhirDict,
        given: int,
        record_meta: FhirDict,
        administered_by: str,
        dose_number: int | None = None,
        primary_source: bool = True,
    ) -> None:
        resource: FhirDict = {
            "resourceType": "Immunization",
            "id": self.ids.next(),
            "meta": record_meta,
            "status": "completed",
            "vaccineCode": vaccine,
            "patient": self.patient_ref,
            "occurrenceDateTime": clock.instant_text(given),
            "recorded": record_meta["lastUpdated"],
            "primarySource": primary_source,
            "lotNumber": f"{vaccine['coding'][0]['code']}-{self.rng.randrange(10_000, 99_999)}",
            "performer": [{"actor": {"display": administered_by}}],
        }
        if dose_number is not None:
            resource["protocolApplied"] = [{"doseNumberPositiveInt": dose_number}]
        self.emit(resource)
