"""What the warehouse says about a person that health information can answer to.

For one person (or everyone, for measuring) the linked patients' records across institutions:

- **conditions** not refuted, entered in error or resolved; an encounter diagnosis more than
  :data:`RECENT_DAYS` older than the person's latest record is history (``current`` False) and
  ranks after everything current, while the problem list holds long-term conditions;
- **active prescriptions**, with the condition each was prescribed for;
- **abnormal results**: a test of :data:`RESULT_RULES` whose latest :data:`CONFIRMING` values
  are all abnormal (one high blood pressure reading is not hypertension; guidelines ask for
  repeated measurements).

Risks come through a hook (:class:`RiskSource`); consent through another (:class:`ConsentCheck`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

import pyarrow as pa

from medlake.errors import NotReady
from medlake.person import UnknownPersonError
from medlake.person.queries import observation_sql, sql_literal
from medlake.workspace import Workspace

_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")
INACTIVE = ("resolved", "inactive", "remission")
RECENT_DAYS = 365
#: abnormal values in a row, the latest included, before a result is a warning
CONFIRMING = 2
NOT_TRUE = ("refuted", "entered-in-error")


@dataclass(frozen=True)
class ResultRule:
    """An abnormal latest value, and the condition it is a warning of (guideline thresholds)."""

    codes: tuple[str, ...]
    test: str
    above: float | None
    below: float | None
    unit: str
    topics: tuple[str, ...]
    #: a unit the value must have for the rule to apply (values in other units are not compared)
    units: tuple[str, ...]


#: HbA1c 6.5 % (ADA diagnostic threshold), blood pressure 140/90 mmHg (ESC/ESH), eGFR below 60
#: (KDIGO stage 3), BMI 30 (WHO obesity), total cholesterol 240 mg/dL = 6.2 mmol/L (NCEP "high").
RESULT_RULES: tuple[ResultRule, ...] = (
    ResultRule(("4548-4",), "HbA1c", 6.5, None, "%", ("Type 2 Diabetes", "Diabetes"), ("%",)),
    ResultRule(
        ("8480-6",),
        "systolic blood pressure",
        140,
        None,
        "mmHg",
        ("High Blood Pressure",),
        ("mm[Hg]", "mmHg"),
    ),
    ResultRule(
        ("8462-4",),
        "diastolic blood pressure",
        90,
        None,
        "mmHg",
        ("High Blood Pressure",),
        ("mm[Hg]", "mmHg"),
    ),
    ResultRule(
        ("33914-3", "62238-1", "98979-8"),
        "eGFR",
        None,
        60,
        "mL/min/1.73m2",
        ("Chronic Kidney Disease", "Kidney Disease"),
        ("mL/min/{1.73_m2}", "mL/min/1.73m2", "mL/min/1.73 m2"),
    ),
    ResultRule(("39156-5",), "BMI", 30, None, "kg/m²", ("Obesity",), ("kg/m2",)),
    ResultRule(("2093-3",), "total cholesterol", 240, None, "mg/dL", ("High Blood Cholesterol",), ("mg/dL",)),
)


@dataclass(frozen=True)
class Evidence:
    """One record that can point to health information."""

    person_id: str
    #: condition | medication | result | risk
    kind: str
    #: codes as ``system:code`` (``icd10:E11.9``, ``snomed:44054006``)
    codes: tuple[str, ...]
    #: names to look the topic up by (a diagnosis' display, a rule's topics)
    names: tuple[str, ...]
    #: what the person would call it: "type 2 diabetes mellitus", "lisinopril 10 mg"
    label: str
    institution: str
    time: str | None
    source_id: str
    #: results: value, unit and the threshold passed, for the reason; conditions: their category
    detail: str | None = None
    #: False for an old encounter diagnosis: history, offered after everything current
    current: bool = True


class RiskSource(Protocol):
    """Risks and warnings of the risk models (part 5): each a condition the person may develop."""

    def risks(self, workspace: Workspace, person_id: str | None) -> list[Evidence]: ...


class ConsentCheck(Protocol):
    """Whether a patient record may be used to suggest health information."""

    def allows(self, workspace: Workspace, patient_ids: Iterable[str]) -> set[str]: ...


class MartRisks:
    """Reads ``marts.risk`` when the risk models have written it; a region without it has no risks.

    Expected columns: ``person_id``, ``condition_code`` (``system:code``), ``condition`` (a name),
    ``risk`` (text, e.g. "10-year cardiovascular risk 23 %"), ``institution``, ``computed_at``,
    ``source_id`` (the record the risk is computed from).
    """

    def risks(self, workspace: Workspace, person_id: str | None) -> list[Evidence]:
        data = workspace.lake.read(workspace.lake.uri("marts", "risk"))
        if data is None:
            return []
        rows = data.to_pylist()
        return [
            Evidence(
                r["person_id"],
                "risk",
                (r["condition_code"],) if r.get("condition_code") else (),
                (r["condition"],),
                r["risk"],
                r.get("institution") or "",
                str(r.get("computed_at") or "") or None,
                r.get("source_id") or "",
            )
            for r in rows
            if person_id is None or r["person_id"] == person_id
        ]


class FhirConsent:
    """FHIR Consent resources (``integrated.Consent``): an active Consent whose top provision is
    ``deny`` withdraws that patient record from use. Without a Consent table every record is usable."""

    def allows(self, workspace: Workspace, patient_ids: Iterable[str]) -> set[str]:
        import orjson

        allowed = set(patient_ids)
        data = workspace.lake.read(workspace.lake.uri("integrated", "Consent"), ["resource"])
        if data is None:
            return allowed
        for text in data.column("resource").to_pylist():
            consent = orjson.loads(text)
            if consent.get("status") != "active" or (consent.get("provision") or {}).get("type") != "deny":
                continue
            reference = (consent.get("patient") or {}).get("reference", "")
            if reference.startswith("Patient/"):
                allowed.discard(reference.removeprefix("Patient/"))
        return allowed


def _condition_sql(person_filter: str | None) -> str:
    where = f"WHERE l.person_id = {person_filter}" if person_filter else ""
    return f"""
        SELECT l.person_id, c.id, c.patient_id, c.institution, c.icd10_code, c.snomed_code, c.code,
               c.code_display, c.clinical_status, c.verification_status, c.category,
               CAST(coalesce(c.onset_date_time, c.recorded_date) AS VARCHAR) AS time
        FROM warehouse.condition c JOIN warehouse.person_link l ON c.patient_id = l.patient_id {where}"""


def _medication_sql(person_filter: str | None) -> str:
    where = f"AND l.person_id = {person_filter}" if person_filter else ""
    return f"""
        SELECT l.person_id, m.id, m.patient_id, m.institution, m.medication_code, m.medication_display,
               m.rxnorm_code, m.atc_code, m.reason_code, CAST(m.authored_on AS VARCHAR) AS time
        FROM warehouse.medication_request m JOIN warehouse.person_link l ON m.patient_id = l.patient_id
        WHERE m.status = 'active' {where}"""


def _codes(icd10: str | None, snomed: str | None, code: str | None) -> tuple[str, ...]:
    found = []
    if icd10:
        found.append(f"icd10:{icd10}")
    if snomed:
        found.append(f"snomed:{snomed}")
    if code and not found:
        found.append(f"icd10:{code}" if _ICD10.match(code) else f"snomed:{code}")
    return tuple(found)


def gather(
    workspace: Workspace,
    person_id: str | None = None,
    risks: RiskSource | None = None,
    consent: ConsentCheck | None = None,
) -> dict[str, list[Evidence]]:
    """Evidence per person (one person's, or everyone's when ``person_id`` is None)."""
    risks = risks or MartRisks()
    consent = consent or FhirConsent()
    tables = {}
    with workspace.engine() as engine:
        for name in (
            "person_link",
            "condition",
            "medication_request",
            "observation",
            "observation_component",
        ):
            data = workspace.lake.dataset(workspace.table_uri(f"warehouse.{name}"))
            if data is not None:
                engine.register_table("warehouse", name, data)
                tables[name] = True
        if "person_link" not in tables:
            raise NotReady("no table warehouse.person_link: run `medlake link run` first")
        literal = sql_literal(person_id) if person_id else None
        if literal is not None:
            known = engine.sql(f"SELECT count(*) AS n FROM warehouse.person_link WHERE person_id = {literal}")
            if known.column("n")[0].as_py() == 0:
                raise UnknownPersonError(person_id, "warehouse.person_link")
        conditions = engine.sql(_condition_sql(literal)) if "condition" in tables else None
        medications = engine.sql(_medication_sql(literal)) if "medication_request" in tables else None
        observations = engine.sql(observation_sql(set(tables), literal))
    evidence: dict[str, list[Evidence]] = {}
    patients = set()
    for data in (conditions, medications, observations):
        if data is not None:
            patients.update(data.column("patient_id").to_pylist())
    allowed = consent.allows(workspace, patients)
    found = _conditions(conditions) + _medications(medications) + _results(observations)
    latest: dict[str, str] = {}
    for item, _patient in found:
        if item.time and item.time > latest.get(item.person_id, ""):
            latest[item.person_id] = item.time
    for item, patient in found:
        if patient in allowed:
            if _stale(item, latest.get(item.person_id)):
                item = replace(item, current=False)
            evidence.setdefault(item.person_id, []).append(item)
    for item in risks.risks(workspace, person_id):
        evidence.setdefault(item.person_id, []).append(item)
    return evidence


def _stale(item: Evidence, latest: str | None) -> bool:
    """An encounter diagnosis from long before the person's latest record is history, not now."""
    if item.kind != "condition" or item.detail == "problem-list-item" or not item.time or not latest:
        return False
    try:
        then = date.fromisoformat(item.time[:10])
        last = date.fromisoformat(latest[:10])
    except ValueError:  # a partial date (2019-05): keep it
        return False
    return (last - then).days > RECENT_DAYS


def _conditions(data: pa.Table | None) -> list[tuple[Evidence, str]]:
    found = []
    for r in data.to_pylist() if data is not None else []:
        if (r["verification_status"] or "") in NOT_TRUE or (r["clinical_status"] or "") in INACTIVE:
            continue
        display = r["code_display"] or r["code"] or ""
        found.append(
            (
                Evidence(
                    r["person_id"],
                    "condition",
                    _codes(r["icd10_code"], r["snomed_code"], r["code"]),
                    (display,),
                    display,
                    r["institution"],
                    r["time"],
                    r["id"],
                    r["category"],
                ),
                r["patient_id"],
            )
        )
    return found


def _medications(data: pa.Table | None) -> list[tuple[Evidence, str]]:
    found = []
    for r in data.to_pylist() if data is not None else []:
        reason = _codes(None, None, r["reason_code"]) if r["reason_code"] else ()
        label = r["medication_display"] or r["medication_code"] or "a medicine"
        found.append(
            (
                Evidence(
                    r["person_id"],
                    "medication",
                    reason,
                    (label,),
                    label,
                    r["institution"],
                    r["time"],
                    r["id"],
                ),
                r["patient_id"],
            )
        )
    return found


def _results(data: pa.Table | None) -> list[tuple[Evidence, str]]:
    """Per person and ruled test, the latest value when it and the :data:`CONFIRMING` - 1 before it
    are all abnormal."""
    rules = {code: rule for rule in RESULT_RULES for code in rule.codes}
    series: dict[tuple[str, str], list[dict]] = {}
    for r in data.to_pylist() if data is not None else []:
        rule = rules.get(r["code"])
        if rule is None or r["value"] is None or r["time"] is None or (r["unit"] or "") not in rule.units:
            continue
        series.setdefault((r["person_id"], rule.test), []).append(r)
    found = []
    for (person, test), rows in sorted(series.items()):
        rows.sort(key=lambda r: (r["time"], r["source_id"]), reverse=True)
        rule = rules[rows[0]["code"]]
        last = rows[:CONFIRMING]
        if len(last) < CONFIRMING or not all(_abnormal(rule, r["value"]) for r in last):
            continue
        r = last[0]
        limit = (
            f"at or above {rule.above:g}"
            if _abnormal(rule, r["value"]) == "high"
            else f"below {rule.below:g}"
        )
        detail = f"{r['value']:g} {rule.unit}, {limit} {rule.unit}"
        found.append(
            (
                Evidence(
                    person,
                    "result",
                    (),
                    rule.topics,
                    test,
                    r["institution"],
                    r["time"],
                    r["source_id"],
                    detail,
                ),
                r["patient_id"],
            )
        )
    return found


def _abnormal(rule: ResultRule, value: float) -> str | None:
    if rule.above is not None and value >= rule.above:
        return "high"
    if rule.below is not None and value < rule.below:
        return "low"
    return None
