"""The SQL that turns warehouse tables into a person's timeline and observation series.

One definition serves both readers: the direct path runs it for one person over the Delta
warehouse tables, the serving store runs it once for every person and keeps the result
keyed by person id. So the two return the same rows by construction, which the tests check.
Times stay as recorded (FHIR dateTime strings, partial dates allowed): converting them would
invent precision a ``2019-05`` onset does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

#: LOINC code -> series name for the measurements people follow over time. Any other numeric
#: observation is still a series, named by its own display.
SERIES_NAMES: dict[str, str] = {
    "8480-6": "systolic blood pressure",
    "8462-4": "diastolic blood pressure",
    "8867-4": "heart rate",
    "9279-1": "respiratory rate",
    "8310-5": "body temperature",
    "2708-6": "oxygen saturation",
    "59408-5": "oxygen saturation",
    "29463-7": "body weight",
    "8302-2": "body height",
    "39156-5": "BMI",
    "2339-0": "glucose",
    "2345-7": "glucose",
    "4548-4": "HbA1c",
    "2093-3": "total cholesterol",
    "2085-9": "HDL cholesterol",
    "18262-6": "LDL cholesterol",
    "13457-7": "LDL cholesterol",
    "2571-8": "triglycerides",
    "33914-3": "eGFR",
    "62238-1": "eGFR",
    "98979-8": "eGFR",
    "2160-0": "creatinine",
    "1988-5": "CRP",
    "6690-2": "white cell count",
}


@dataclass(frozen=True)
class TimelineSource:
    """How one warehouse table becomes timeline rows (SQL expressions over alias ``t``)."""

    kind: str
    table: str
    time: str
    code: str
    display: str
    detail: str = "NULL"
    value: str = "NULL"
    unit: str = "NULL"
    status: str = "t.status"


TIMELINE_SOURCES: tuple[TimelineSource, ...] = (
    TimelineSource(
        "encounter", "encounter", "t.period_start", "t.type_code", "t.type_display", "t.class_code"
    ),
    TimelineSource(
        "condition",
        "condition",
        "coalesce(t.onset_date_time, t.recorded_date)",
        "t.code",
        "t.code_display",
        "t.category",
        status="t.clinical_status",
    ),
    TimelineSource("procedure", "procedure", "t.performed_start", "t.code", "t.code_display"),
    TimelineSource(
        "medication",
        "medication_request",
        "t.authored_on",
        "t.medication_code",
        "t.medication_display",
        "t.dosage_text",
        "t.dose_quantity",
        "t.dose_unit",
    ),
    TimelineSource(
        "immunization", "immunization", "t.occurrence_date_time", "t.vaccine_code", "t.vaccine_display"
    ),
    TimelineSource(
        "claim",
        "claim",
        "coalesce(t.billable_start, t.created)",
        "t.type_code",
        "t.insurer_display",
        "t.primary_diagnosis_code",
        "t.total",
        "t.currency",
    ),
    TimelineSource(
        "payment",
        "explanation_of_benefit",
        "coalesce(t.billable_start, t.created)",
        "t.type_code",
        "t.insurer_display",
        "t.outcome",
        "t.payment_amount",
        "t.currency",
    ),
)

TIMELINE_COLUMNS = (
    "person_id",
    "time",
    "kind",
    "code",
    "display",
    "detail",
    "value",
    "unit",
    "status",
    "institution",
    "patient_id",
    "source_id",
)
#: ``component`` is the component's index for a part of a multi-part result, -1 for the observation's value.
OBSERVATION_COLUMNS = (
    "person_id",
    "time",
    "code",
    "name",
    "value",
    "unit",
    "institution",
    "patient_id",
    "source_id",
    "component",
)
LINK_COLUMNS = ("person_id", "patient_id", "institution", "match_basis")


def _text(expression: str) -> str:
    return f"CAST({expression} AS VARCHAR)"


def _links(person_filter: str | None) -> str:
    where = f" WHERE person_id = {person_filter}" if person_filter else ""
    return f"SELECT person_id, patient_id FROM warehouse.person_link{where}"


def timeline_sql(tables: set[str], person_filter: str | None = None) -> str:
    """Timeline rows of every linked person (or of the person the SQL literal ``person_filter`` names).

    ``tables`` are the warehouse tables present; a region without e.g. EOBs has no payments.
    """
    parts = [
        f"""SELECT l.person_id, {_text(s.time)} AS time, '{s.kind}' AS kind, {_text(s.code)} AS code,
               {_text(s.display)} AS display, {_text(s.detail)} AS detail,
               CAST({s.value} AS DOUBLE) AS value, {_text(s.unit)} AS unit, {_text(s.status)} AS status,
               t.institution, t.patient_id, t.id AS source_id
        FROM warehouse.{s.table} t JOIN links l ON t.patient_id = l.patient_id"""
        for s in TIMELINE_SOURCES
        if s.table in tables
    ]
    if not parts:
        return f"SELECT {', '.join(f'NULL AS {c}' for c in TIMELINE_COLUMNS)} WHERE false"
    return f"WITH links AS ({_links(person_filter)})\n" + "\nUNION ALL\n".join(parts)


def _series_name(code: str, display: str) -> str:
    cases = " ".join(f"WHEN '{c}' THEN '{n}'" for c, n in SERIES_NAMES.items())
    return f"coalesce(CASE {code} {cases} END, {display}, {code})"


def observation_sql(tables: set[str], person_filter: str | None = None) -> str:
    """Numeric observations and numeric components (blood pressure's systolic/diastolic) as tidy rows."""
    sources = {
        # table -> (source id, component index): a component row cites its Observation
        "observation": ("t.id", "-1"),
        "observation_component": ("t.observation_id", "CAST(t.component_index AS INTEGER)"),
    }
    code = "coalesce(t.loinc_code, t.code)"
    parts = [
        f"""SELECT l.person_id, {_text("t.effective_date_time")} AS time, {code} AS code,
               {_series_name(code, "t.code_display")} AS name, CAST(t.value_quantity AS DOUBLE) AS value,
               coalesce(t.value_unit, t.value_unit_code) AS unit, t.institution, t.patient_id,
               {source_id} AS source_id, {component} AS component
        FROM warehouse.{table} t JOIN links l ON t.patient_id = l.patient_id
        WHERE t.value_quantity IS NOT NULL"""
        for table, (source_id, component) in sources.items()
        if table in tables
    ]
    if not parts:
        return f"SELECT {', '.join(f'NULL AS {c}' for c in OBSERVATION_COLUMNS)} WHERE false"
    return f"WITH links AS ({_links(person_filter)})\n" + "\nUNION ALL\n".join(parts)


def sql_literal(value: str) -> str:
    """A SQL string literal (quotes doubled): person ids come from users."""
    return "'" + value.replace("'", "''") + "'"
