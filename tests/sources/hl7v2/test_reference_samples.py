"""The reference samples (real-world-style messages written by others) land whole.

Every message is stored (its Binary plus the resources converted from it) or quarantined
with a reason that names the segment, field or message type at fault; expectations are
read from the samples themselves at test time.
"""

from __future__ import annotations

import hashlib
import re

import hl7
import pytest

from medlake.fhir.validation import validate
from medlake.sources.hl7v2 import conversions, ingest_hl7_path, split_messages
from tests.conftest import shared_path
from tests.sources.hl7v2.conftest import SAMPLES, quarantine_rows, raw_rows, resources, stored_messages

#: A quarantine reason is defensible when it points at the part of the message at fault.
DEFENSIBLE = re.compile(r"\b(MSH|EVN|PID|PV1|MRG|OBR|OBX)-\d+\b|message type \S+ is not processed")


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    from medlake.workspace import init_workspace

    folder = shared_path(SAMPLES)
    ws = init_workspace(tmp_path_factory.mktemp("samples") / "ws", ingest_workers=1)
    reports = ingest_hl7_path(ws, folder, "samples")
    return folder, ws, reports


def _parsed(path):
    """The sample's messages as python-hl7 sees them (CR segment ends, BOM removed)."""
    return [hl7.parse(chunk.text.decode("utf-8")) for chunk in split_messages(path.read_bytes())]


def test_every_sample_is_stored_or_quarantined_with_a_reason(landed) -> None:
    folder, ws, reports = landed
    files = sorted(folder.glob("*.hl7"))
    skipped = [r for r in reports if r.status == "skipped"]  # the samples' LICENSE, said, not read
    assert all("not a file name this source takes" in r.reason for r in skipped)
    reports = [r for r in reports if r not in skipped]
    assert [r.source for r in reports] == [str(f) for f in files]
    for report in reports:
        assert report.received == report.stored + report.quarantined + report.duplicates
    quarantined = quarantine_rows(ws)
    kept = {hashlib.sha256(m).hexdigest() for m in stored_messages(ws)}
    for file in files:
        for conversion in conversions(file.read_bytes()):
            rows = [
                q for q in quarantined if q["source_file"] == str(file) and q["line"] == conversion.number
            ]
            if conversion.rejection is not None:  # not taken: quarantined whole, with the message text
                assert [q["reason"] for q in rows] == [conversion.rejection.reason]
                assert rows[0]["raw"].encode() == conversion.text
            else:  # taken: the message itself is in the raw layer, failures are quarantined
                assert hashlib.sha256(conversion.text).hexdigest() in kept, file.name
                assert len(rows) == len(conversion.failures)
            for row in rows:
                assert DEFENSIBLE.search(row["reason"]), row["reason"]
    assert {q["stage"] for q in quarantined} <= {"parse", "structure", "convert"}, (
        "converter output is valid R4"
    )


def test_every_stored_resource_is_valid_r4(landed) -> None:
    _, ws, _ = landed
    stored = resources(ws)
    assert {r["resourceType"] for r in stored} >= {
        "Binary",
        "Patient",
        "Encounter",
        "Observation",
        "DiagnosticReport",
    }
    for resource in stored:
        validate(resource)


def test_merge_links_the_surviving_and_the_merged_patient(landed) -> None:
    folder, ws, _ = landed
    [message] = _parsed(folder / "ADT-A40-01.hl7")
    survivor_mrn = str(message.segment("PID")[3][0][0][0])
    prior_mrn = str(message.segment("MRG")[1][0][0][0])
    patients = resources(ws, "Patient")

    def having(mrn):
        return [p for p in patients if any(i.get("value") == mrn for i in p.get("identifier", []))]

    [survivor] = [p for p in having(survivor_mrn) if p.get("link")]
    [prior] = having(prior_mrn)
    assert survivor["link"] == [{"other": {"reference": f"Patient/{prior['id']}"}, "type": "replaces"}]
    assert prior["link"] == [{"other": {"reference": f"Patient/{survivor['id']}"}, "type": "replaced-by"}]
    assert prior["active"] is False
    assert survivor["id"] != prior["id"]


def test_lab_results_become_observations_with_loinc_codes_and_units(landed) -> None:
    folder, ws, _ = landed
    [message] = _parsed(folder / "LAB-ORU-1.hl7")
    observations = {
        o["code"]["coding"][0]["code"]: o for o in resources(ws, "Observation") if o["code"].get("coding")
    }
    checked = 0
    for obx in message.segments("OBX"):
        code, system = str(obx[3][0][0][0]), str(obx[3][0][2][0])
        observation = observations[code]
        if system == "LN":
            assert observation["code"]["coding"][0]["system"] == "http://loinc.org"
        value, units = str(obx[5]), str(obx[6])
        if value:
            assert observation["valueQuantity"]["value"] == pytest.approx(float(value))
            assert observation["valueQuantity"].get("unit") == (units or None)
            checked += 1
        else:
            assert "valueQuantity" not in observation
    assert checked >= 5


def test_results_are_listed_by_their_report(landed) -> None:
    _, ws, _ = landed
    observation_ids = {o["id"] for o in resources(ws, "Observation")}
    reports = resources(ws, "DiagnosticReport")
    assert reports
    for report in reports:
        assert report["result"], report["id"]
        assert {r["reference"].split("/")[1] for r in report["result"]} <= observation_ids


def test_byte_order_marks_and_line_ends_do_not_matter(landed) -> None:
    folder, ws, _ = landed
    with_bom = [f for f in sorted(folder.glob("*.hl7")) if f.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert with_bom, "the samples include files with a byte-order mark"
    kept = stored_messages(ws)
    for file in with_bom:
        [chunk] = split_messages(file.read_bytes())
        assert chunk.text.startswith(b"MSH|^~\\&|")
        assert b"\n" not in chunk.text and b"\xef\xbb\xbf" not in chunk.text
        assert chunk.text in kept


def test_the_same_samples_again_store_nothing(landed) -> None:
    folder, ws, _ = landed
    before = len(raw_rows(ws)), len(quarantine_rows(ws))
    again = ingest_hl7_path(ws, folder, "samples")
    assert {r.status for r in again} - {"skipped"} == {"unchanged"}
    assert (len(raw_rows(ws)), len(quarantine_rows(ws))) == before
