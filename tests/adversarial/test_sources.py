"""The other sources: HL7 v2, notes, DICOM and MQTT devices, each fed what once slipped through.

* an ORU whose OBR-25 (result status) is empty keeps its DiagnosticReport, status ``unknown``,
  with a data-quality warning naming the message and the field (it was quarantined whole);
* a NUL in an HL7 field, an empty or blank note, a DICOM UID that is not an OID are quarantined
  with the reason (they became a Patient name with a NUL, a DocumentReference with empty data,
  ``urn:oid:../../evil``);
* over MQTT, an Observation with ``"status":"bogus"`` is quarantined, and the keys of a compact
  reading that have no place in the Observation are reported in a warning, not dropped unseen.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pydicom
import pytest

from medlake.ingest.warnings import data_quality_warnings
from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, Layer
from medlake.sources.documents import ingest_dicom, ingest_notes
from medlake.sources.hl7v2.convert import convert_message
from medlake.sources.hl7v2.files import ingest_hl7_path
from tests.sources.devices.conftest import INSTITUTION as DEVICE_INSTITUTION
from tests.sources.devices.conftest import beds, broker, client_ids, registered, topic_prefix  # noqa: F401
from tests.sources.documents.conftest import bundled_dicom_files

CORPUS = Path(__file__).with_name("corpus")


def _rows(ws, name: str) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, name))
    return [] if table is None else table.to_pylist()


def _resources(ws, resource_type: str) -> list[dict]:
    return [
        orjson.loads(r["resource"]) for r in _rows(ws, RAW_RESOURCES) if r["resource_type"] == resource_type
    ]


def test_an_oru_without_a_result_status_keeps_its_report_with_a_warning(workspace) -> None:
    path = CORPUS / "hl7" / "oru-empty-obr25.hl7"
    assert convert_message(path.read_bytes()).ack_code == "AA", "stored, so acknowledged"
    [report] = ingest_hl7_path(workspace, path, "hosp-b")
    assert report.quarantined == 0 and report.received == report.stored + report.duplicates
    [diagnostic] = _resources(workspace, "DiagnosticReport")
    assert diagnostic["status"] == "unknown" and diagnostic["result"]
    [warning] = data_quality_warnings(workspace)
    assert (warning["kind"], warning["resource_type"]) == ("defaulted", "DiagnosticReport")
    assert warning["warning"] == (
        "OBR-25 (result status) is empty in OBR (segment 3) of ORU^R01 message 'MSG-OBR25'; "
        "status stored as 'unknown'"
    )
    assert _rows(workspace, QUARANTINE) == []


def test_a_nul_in_an_hl7_field_quarantines_the_message_naming_the_field(workspace) -> None:
    path = CORPUS / "hl7" / "nul-in-field.hl7"
    conversion = convert_message(path.read_bytes())
    assert conversion.ack_code == "AE"
    [report] = ingest_hl7_path(workspace, path, "hosp-b")
    assert (report.stored, report.quarantined) == (0, 1)
    [row] = _rows(workspace, QUARANTINE)
    assert row["stage"] == "parse"
    assert row["reason"].startswith("control character U+0000 in PID-5 (segment 2)")
    assert "\x00" in row["raw"], "the message is kept as received"


def test_empty_and_blank_notes_are_quarantined_and_a_real_one_stored(workspace, tmp_path) -> None:
    folder = tmp_path / "notes"
    shutil.copytree(CORPUS / "notes", folder)
    reports = ingest_notes(workspace, folder, "hosp-b")
    assert sum(r.stored for r in reports) == 1 and sum(r.quarantined for r in reports) == 2
    reasons = {Path(r["source_file"]).name: r["reason"] for r in _rows(workspace, QUARANTINE)}
    assert reasons["p-1_2024-03-01_empty.txt"].startswith("empty file: a note with no content")
    assert reasons["p-1_2024-03-02_blank.txt"] == "the note holds no text (5 bytes of white space only)"
    [note] = _resources(workspace, "DocumentReference")
    assert note["content"][0]["attachment"]["size"] == len(b"Discharged home, well.\n")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_dicom_uid_that_is_not_an_oid_is_quarantined(workspace, tmp_path) -> None:
    source = next(f for f in bundled_dicom_files() if f.name == "CT_small.dcm")
    dataset = pydicom.dcmread(source)
    dataset.StudyInstanceUID = "../../evil"
    folder = tmp_path / "pacs"
    folder.mkdir()
    dataset.save_as(folder / "evil.dcm")
    shutil.copy(source, folder / "good.dcm")
    reports = ingest_dicom(workspace, folder, "radiology")
    assert sum(r.quarantined for r in reports) == 1
    [row] = _rows(workspace, QUARANTINE)
    assert row["source_file"].endswith("evil.dcm")
    assert row["reason"].startswith("StudyInstanceUID (0020,000D) '../../evil' is not a DICOM UID")
    stored = _resources(workspace, "ImagingStudy")
    assert len(stored) == 1 and "evil" not in json.dumps(stored)


@pytest.mark.mqtt
def test_device_messages_bogus_status_quarantined_unknown_keys_reported(
    workspace,
    broker,  # noqa: F811
    registered,  # noqa: F811
    beds,  # noqa: F811
    topic_prefix,  # noqa: F811
    client_ids,  # noqa: F811
) -> None:
    from tests.sources.devices.test_stream import options, publish, start

    serial = beds[0].serial
    payloads = [
        (CORPUS / "mqtt" / name).read_text().replace("DEVICE", serial).encode()
        for name in ("fhir-status-bogus.json", "compact-unknown-keys.json")
    ]
    stream, thread = start(workspace, broker, options(topic_prefix, client_ids))
    publish(broker, [(f"{topic_prefix}/{serial}/vitals", payload) for payload in payloads])
    thread.join(30)
    assert not thread.is_alive() and not thread.failure  # type: ignore[attr-defined]
    totals = stream.totals
    assert (totals.received, totals.stored, totals.quarantined) == (2, 1, 1)
    [row] = _rows(workspace, QUARANTINE)
    assert row["stage"] == "validation"
    assert row["reason"].startswith(
        "status: 'bogus' is not a code of the required value set http://hl7.org/fhir/ValueSet/observation-status"
    )
    [warning] = data_quality_warnings(workspace, DEVICE_INSTITUTION)
    assert warning["kind"] == "unmapped"
    assert warning["warning"] == (
        'payload keys with no place in the Observation, left out: {"battery":87,"firmware":"2.1.4"}'
    )
