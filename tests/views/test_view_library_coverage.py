"""The views over the rest of what medlake ingests: reports, documents, imaging, devices,
allergies and the directory of organizations, practitioners and locations.

Expected values are read from the resources themselves (Synthea data in ../shared/, HL7 v2
samples converted by the HL7 source, DICOM headers read with pydicom), never from the views'
own output.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pydicom
import pytest

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.sources.documents.dicom import imaging_study, read_instances
from medlake.sources.hl7v2 import conversions
from medlake.views.library import DIRECTORY_VIEWS, load_library
from tests.conftest import shared_path
from tests.sources.documents.conftest import bundled_dicom_files
from tests.views.resources import by_id, first_code, rows_of

#: view → the resource type it has one row per resource of
ONE_ROW_PER_RESOURCE = {
    "allergy_intolerance": "AllergyIntolerance",
    "device": "Device",
    "diagnostic_report": "DiagnosticReport",
    "document_reference": "DocumentReference",
    "imaging_study": "ImagingStudy",
    "location": "Location",
    "organization": "Organization",
    "practitioner": "Practitioner",
    "practitioner_role": "PractitionerRole",
}

#: types that arrive but are deliberately not tabulated, and why (docs/warehouse.md says the same)
NOT_TABULATED = {
    "Binary": "the original HL7 v2 message, kept whole for audit; nothing to flatten",
    "Provenance": "who sent a bundle; the raw layer's batch and file already record where rows came from",
}

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
NPI = "http://hl7.org/fhir/sid/us-npi"


def key(reference: dict[str, Any] | None) -> str | None:
    """The id of a literal ``Type/id`` reference, else None (conditional references have none)."""
    text = (reference or {}).get("reference") or ""
    parts = text.split("/")
    return parts[1] if len(parts) == 2 and "?" not in text else None


@pytest.fixture(scope="module")
def synthea(
    synthea_bulk: list[dict[str, Any]], synthea_bundles: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return synthea_bulk + synthea_bundles


def test_every_synthea_type_has_a_view_or_a_reason(synthea: list[dict[str, Any]]) -> None:
    viewed = {view["resource"] for view in load_library().values()}
    arrived = {r["resourceType"] for r in synthea}
    assert arrived - viewed <= set(NOT_TABULATED), arrived - viewed - set(NOT_TABULATED)


def test_directory_views_are_the_ones_without_a_patient() -> None:
    for table, view in load_library().items():
        has_patient = any(
            c["name"] == "patient_id" for select in view["select"] for c in select.get("column", [])
        )
        assert has_patient == (table not in DIRECTORY_VIEWS), table


@pytest.mark.parametrize("table", sorted(set(ONE_ROW_PER_RESOURCE) - {"imaging_study"}))
def test_one_row_per_resource_and_keys_that_join(
    table: str,
    engine: DuckDBEngine,
    synthea_bulk: list[dict[str, Any]],
    synthea_bundles: list[dict[str, Any]],
) -> None:
    resource_type = ONE_ROW_PER_RESOURCE[table]
    seen = 0
    for resources in (synthea_bulk, synthea_bundles):
        expected = Counter(r["id"] for r in resources if r["resourceType"] == resource_type)
        rows = rows_of(engine, table, resources)
        assert Counter(r["id"] for r in rows) == expected
        seen += len(rows)
        if table not in DIRECTORY_VIEWS:
            patients = set(by_id(resources, "Patient"))
            assert all(r["patient_id"] in patients for r in rows), table
    assert seen > 0, f"the Synthea data hold no {resource_type}: the test would prove nothing"


def test_diagnostic_reports(engine: DuckDBEngine, synthea_bundles: list[dict[str, Any]]) -> None:
    reports = by_id(synthea_bundles, "DiagnosticReport")
    encounters = set(by_id(synthea_bundles, "Encounter"))
    for row in rows_of(engine, "diagnostic_report", synthea_bundles):
        source = reports[row["id"]]
        assert row["encounter_id"] == key(source.get("encounter")) and row["encounter_id"] in encounters
        assert row["code"] == first_code(source["code"])
        assert row["loinc_code"] == first_code(source["code"], LOINC)
        assert row["effective_date_time"] == source.get("effectiveDateTime")
        assert row["issued"] == source.get("issued")
        assert row["performer_reference"] == source["performer"][0]["reference"]
        assert row["result_count"] == len(source.get("result", []))
        assert row["presented_form_count"] == len(source.get("presentedForm", []))


def test_document_references(engine: DuckDBEngine, synthea_bulk: list[dict[str, Any]]) -> None:
    documents = by_id(synthea_bulk, "DocumentReference")
    for row in rows_of(engine, "document_reference", synthea_bulk):
        source = documents[row["id"]]
        context = source.get("context", {})
        assert row["encounter_id"] == key((context.get("encounter") or [None])[0])
        assert row["status"] == source["status"]
        assert row["type_code"] == first_code(source["type"])
        assert row["loinc_code"] == first_code(source["type"], LOINC)
        assert row["category"] == first_code(source["category"][0])
        assert row["date"] == source.get("date")
        assert row["content_count"] == len(source["content"])
        assert row["content_type"] == source["content"][0]["attachment"].get("contentType")
        assert row["period_start"] == context.get("period", {}).get("start")


def test_devices_and_allergies(engine: DuckDBEngine, synthea_bulk: list[dict[str, Any]]) -> None:
    devices = by_id(synthea_bulk, "Device")
    for row in rows_of(engine, "device", synthea_bulk):
        source = devices[row["id"]]
        assert row["snomed_code"] == first_code(source["type"], SNOMED)
        assert row["udi_device_identifier"] == source["udiCarrier"][0]["deviceIdentifier"]
        assert row["serial_number"] == source.get("serialNumber")
        assert row["device_name"] == source["deviceName"][0]["name"]
        assert row["expiration_date"] == source.get("expirationDate")
    allergies = by_id(synthea_bulk, "AllergyIntolerance")
    rows = rows_of(engine, "allergy_intolerance", synthea_bulk)
    assert {r["category"] for r in rows} > {"medication"}, "the data hold more than drug allergies"
    for row in rows:
        source = allergies[row["id"]]
        assert row["clinical_status"] == first_code(source["clinicalStatus"])
        assert row["category"] == source["category"][0]
        assert row["criticality"] == source.get("criticality")
        assert row["code"] == first_code(source["code"])
        assert row["snomed_code"] == first_code(source["code"], SNOMED)
        reactions = source.get("reaction", [])
        assert row["reaction_count"] == len(reactions)
        first = reactions[0] if reactions else {}
        assert row["reaction_manifestation_code"] == first_code((first.get("manifestation") or [None])[0])
        assert row["reaction_severity"] == first.get("severity")


def test_the_directory_joins_up(engine: DuckDBEngine, synthea_bulk: list[dict[str, Any]]) -> None:
    """Synthea refers to practitioners by NPI and to organizations by identifier: the columns
    that carry those identifiers join the directory tables."""
    practitioners = {r["npi"]: r for r in rows_of(engine, "practitioner", synthea_bulk)}
    organizations = {r["identifier"]: r for r in rows_of(engine, "organization", synthea_bulk)}
    locations = {r["identifier"]: r for r in rows_of(engine, "location", synthea_bulk)}
    sources = by_id(synthea_bulk, "PractitionerRole")
    for role in rows_of(engine, "practitioner_role", synthea_bulk):
        source = sources[role["id"]]
        assert role["practitioner_npi"] == source["practitioner"]["identifier"]["value"]
        assert role["practitioner_npi"] in practitioners
        assert role["organization_identifier"] in organizations
        assert role["location_identifier"] in locations
        assert role["specialty_code"] == first_code(source["specialty"][0])
    location_sources = by_id(synthea_bulk, "Location")
    managed = 0
    for identifier, row in locations.items():
        source = location_sources[row["id"]]
        managing = source.get("managingOrganization", {}).get("identifier", {}).get("value")
        assert row["managing_organization_identifier"] == managing
        assert managing is None or managing in organizations
        managed += managing is not None
        assert row["physical_type_code"] == first_code(source.get("physicalType"))
        if "position" not in source:  # e.g. a patient's home
            assert row["latitude"] is None
            continue
        assert (row["latitude"], row["longitude"]) == (
            source["position"]["latitude"],
            source["position"]["longitude"],
        ), identifier
        assert row["address_postal_code"] == source["address"].get("postalCode")
    assert managed > len(locations) / 2
    for row in practitioners.values():
        assert row["npi"] and row["family_name"]


def test_report_results_one_row_each_from_hl7_results(engine: DuckDBEngine) -> None:
    """ORU^R01 messages become a DiagnosticReport whose results are the OBX Observations."""
    folder = shared_path("reference/hl7v2-samples")
    resources = [
        resource
        for file in sorted(folder.glob("*.hl7"))
        for conversion in conversions(file.read_bytes())
        for resource in conversion.resources
        if resource["resourceType"] in ("DiagnosticReport", "Observation", "Patient")
    ]
    reports = by_id(resources, "DiagnosticReport")
    assert any(r.get("result") for r in reports.values()), "the samples hold a laboratory report"
    rows = rows_of(engine, "diagnostic_report_result", resources)
    expected = [
        (report_id, index, key(result))
        for report_id, report in sorted(reports.items())
        for index, result in enumerate(report.get("result", []))
    ]
    assert (
        sorted((r["diagnostic_report_id"], r["result_index"], r["observation_id"]) for r in rows) == expected
    )
    observations = set(by_id(resources, "Observation"))
    assert {r["observation_id"] for r in rows} <= observations
    for row in rows_of(engine, "diagnostic_report", resources):
        assert row["result_count"] == len(reports[row["id"]].get("result", []))


def test_imaging_studies_match_the_dicom_headers(engine: DuckDBEngine) -> None:
    instances, _ = read_instances(bundled_dicom_files(), None)
    by_study = defaultdict(list)
    for instance in instances:
        by_study[instance.study_uid].append(instance)
    studies = []
    for members in by_study.values():
        if len({m.patient_id for m in members}) == 1:
            studies.append(imaging_study(members))
    rows = {r["study_uid"]: r for r in rows_of(engine, "imaging_study", studies)}
    assert len(rows) == len(studies) > 1
    # the headers, read again with pydicom: study, modality and instance counts per study
    headers: dict[str, list[pydicom.Dataset]] = defaultdict(list)
    for file in bundled_dicom_files():
        try:
            dataset = pydicom.dcmread(file, stop_before_pixels=True)
        except Exception:  # files pydicom cannot read are not studies
            continue
        if f"urn:oid:{dataset.get('StudyInstanceUID')}" in rows:
            headers[f"urn:oid:{dataset.StudyInstanceUID}"].append(dataset)
    assert headers
    for uid, members in headers.items():
        row = rows[uid]
        assert row["number_of_instances"] == len({m.SOPInstanceUID for m in members})
        assert row["number_of_series"] == len({m.SeriesInstanceUID for m in members})
        assert row["modality"] == sorted({m.Modality for m in members})[0]
        assert row["patient_id"] == str(members[0].PatientID) or row["subject_identifier"] == str(
            members[0].PatientID
        )


def test_library_paths_exist() -> None:
    """Every view here is a file of the library (a typo in a table name would test nothing)."""
    assert set(ONE_ROW_PER_RESOURCE) | {"diagnostic_report_result"} <= set(load_library())
