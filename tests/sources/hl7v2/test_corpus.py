"""The project's own corpus of awkward input: each defect quarantined with its reason, the rest goes on."""

from __future__ import annotations

import base64
import hashlib

import pytest

from medlake.sources.hl7v2 import conversions, ingest_hl7_path, split_messages
from tests.sources.hl7v2.conftest import CORPUS, quarantine_rows, raw_rows, resources, stored_messages


def _ingest(ws, name: str):
    [report] = ingest_hl7_path(ws, CORPUS / name, "hosp-a")
    assert report.received == report.stored + report.quarantined + report.duplicates
    return report


def _reasons(ws, name: str) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for row in quarantine_rows(ws):
        if row["source_file"].endswith(name):
            found.setdefault(row["line"], []).append((row["stage"], row["reason"]))
    return found


def _names(ws) -> set[str]:
    return {p["name"][0]["family"] for p in resources(ws, "Patient") if p.get("name")}


def test_truncated_messages_are_quarantined_and_the_next_message_survives(workspace) -> None:
    _ingest(workspace, "truncated.hl7")
    reasons = _reasons(workspace, "truncated.hl7")
    assert reasons[1] == [
        ("parse", "the next message header begins inside segment PID: this message is truncated")
    ]
    assert reasons[3][0][0] == "structure" and "exactly one PV1" in reasons[3][0][1]
    assert "truncated" in reasons[3][0][1]
    assert 2 not in reasons
    assert _names(workspace) == {"WHOLE"}
    [row] = [q for q in quarantine_rows(workspace) if q["line"] == 1]
    assert row["raw"].startswith("MSH|") and row["raw"].endswith("PID|1||T100^^^NORTHHOSP^MR||TRUNC^AN\r")


def test_wrong_segment_order_is_rejected_with_the_segment_named(workspace) -> None:
    _ingest(workspace, "wrong-order.hl7")
    reasons = _reasons(workspace, "wrong-order.hl7")
    assert reasons[1] == [
        ("structure", "PV1 (segment 3) comes before PID (segment 4): ADT^A01 requires PID before PV1")
    ]
    assert reasons[2] == [
        ("structure", "OBX (segment 2) comes before any PID, ORC or OBR: it belongs to nothing")
    ]
    assert 3 not in reasons
    assert _names(workspace) == {"ORDER"}  # only the third, well-ordered message


def test_invalid_dates_quarantine_what_depends_on_them(workspace) -> None:
    report = _ingest(workspace, "invalid-dates.hl7")
    reasons = _reasons(workspace, "invalid-dates.hl7")
    # message 1: a birth date in month 13 costs the Patient, not the visit
    birth = "Patient: PID-7 (date/time of birth) '19801345' is not a valid date/time: month must be in 1..12"
    assert reasons[1] == [("convert", birth)]
    # message 2: 30 February costs that one Observation, not its sibling or the report
    [(stage, reason)] = reasons[2]
    assert stage == "convert" and "OBX-14" in reason and "'20240230080000+0000'" in reason
    # message 3: MSH-7 orders every version, so the whole message is rejected
    [(stage, reason)] = reasons[3]
    assert stage == "convert" and reason.startswith(
        "MSH-7 (date/time of message) 'yesterday' is not an HL7 date/time"
    )
    types = sorted(r["resource_type"] for r in raw_rows(workspace))
    assert types == ["Binary", "Binary", "DiagnosticReport", "Encounter", "Observation", "Patient"]
    [report_resource] = resources(workspace, "DiagnosticReport")
    [observation] = resources(workspace, "Observation")
    assert report_resource["result"] == [{"reference": f"Observation/{observation['id']}"}]
    assert report.quarantined == 3


def test_custom_encoding_characters_read_the_same_as_the_standard_ones(workspace) -> None:
    custom, standard = (
        conversions((CORPUS / f"{n}-encoding.hl7").read_bytes()) for n in ("custom", "standard")
    )
    [custom], [standard] = custom, standard
    assert custom.ack_code == standard.ack_code == "AA"

    def without_meta(conversion):
        return [{k: v for k, v in r.items() if k != "meta"} for r in conversion.resources[1:]]

    assert without_meta(custom) == without_meta(standard)
    patient = custom.resources[1]
    assert patient["name"][0] == {"family": "O'NEIL&SMYTH", "given": ["MARY", "J"]}
    assert patient["name"][1] == {"family": "MOLLY", "use": "nickname"}
    assert patient["address"][0]["line"] == ["1 Pipe | Hat ^ Lane", "Flat *3*"]
    assert [i["value"] for i in patient["identifier"]] == ["E100", "998877"]  # the repetition separator is %
    _ingest(workspace, "custom-encoding.hl7")
    assert (CORPUS / "custom-encoding.hl7").read_bytes() in stored_messages(workspace)


def test_escape_sequences_are_resolved(workspace) -> None:
    _ingest(workspace, "escapes.hl7")
    [patient] = resources(workspace, "Patient")
    assert patient["name"][0] == {"family": "BÉRANGER".replace("É", "é"), "given": ["JOSé"]}
    [observation] = resources(workspace, "Observation")
    assert observation["valueString"] == "a|b ^ c & d ~ e \\ f\nsecond line"
    assert observation["note"] == [{"text": "Reviewed by Dr Brown\nCopy to GP"}]


def test_batch_file_gives_each_message_and_checks_the_trailer(workspace, tmp_path) -> None:
    report = _ingest(workspace, "batch.hl7")
    assert report.quarantined == 0
    assert _names(workspace) == {"BATCH"} and len(resources(workspace, "Patient")) == 3
    assert all(b"\n" not in m for m in stored_messages(workspace))
    short = tmp_path / "short-batch.hl7"
    data = (CORPUS / "batch.hl7").read_bytes()
    short.write_bytes(data.replace(b"BTS|3", b"BTS|4"))
    ingest_hl7_path(workspace, short, "hosp-a")
    [(stage, reason)] = [v for rows in _reasons(workspace, "short-batch.hl7").values() for v in rows]
    assert stage == "read" and reason.startswith("BTS-1 says 4 messages but 3 were found")


def test_mllp_framed_file_and_a_frame_cut_off(workspace) -> None:
    report = _ingest(workspace, "mllp-framed.hl7")
    reasons = _reasons(workspace, "mllp-framed.hl7")
    assert reasons == {
        3: [("read", "truncated: MLLP frame not closed (no 0x1C end block before end of input)")]
    }
    assert report.quarantined == 1
    [observation] = resources(workspace, "Observation")
    ucum = "http://unitsofmeasure.org"
    assert observation["valueQuantity"] == {"value": 13.2, "unit": "g/dL", "system": ucum, "code": "g/dL"}
    assert observation["referenceRange"][0]["low"]["value"] == 12.0
    [visit] = {e["id"] for e in resources(workspace, "Encounter")}  # a version from the ADT and from the ORU
    assert observation["encounter"] == {"reference": f"Encounter/{visit}"}, "the ORU names the ADT's visit"
    assert len(resources(workspace, "Patient")) == 2, "one patient, one version per message"
    assert len({p["id"] for p in resources(workspace, "Patient")}) == 1


def test_z_segments_survive_in_the_stored_message(workspace) -> None:
    report = _ingest(workspace, "z-segments.hl7")
    assert report.quarantined == 0
    [binary] = resources(workspace, "Binary")
    message = base64.b64decode(binary["data"])
    assert b"\rZPI|1|Prefers morning appointments|Interpreter: Polish\r" in message
    assert binary["id"] == hashlib.sha256(message).hexdigest()
    assert binary["contentType"] == "x-application/hl7-v2+er7"
    for resource in resources(workspace):
        if resource["resourceType"] != "Binary":
            assert resource["meta"]["source"] == f"Binary/{binary['id']}"


def test_unprocessable_messages_are_rejected_and_the_file_goes_on(workspace) -> None:
    _ingest(workspace, "unprocessable.hl7")
    reasons = _reasons(workspace, "unprocessable.hl7")
    assert reasons[1] == [("read", "2 segment(s) before any MSH: the message header is missing")]
    assert reasons[2][0][0] == "parse" and "message type SIU^S12 is not processed" in reasons[2][0][1]
    assert reasons[3] == [("parse", "MSH-12 version '3.0' is not supported (HL7 v2.1 to v2.8.x)")]
    assert 4 not in reasons
    assert _names(workspace) == {"AFTER"}


def test_byte_order_mark_and_bare_cr(workspace) -> None:
    [chunk] = split_messages((CORPUS / "bom-cr.hl7").read_bytes())
    assert chunk.text.startswith(b"MSH|") and chunk.error is None
    assert _ingest(workspace, "bom-cr.hl7").quarantined == 0
    assert _names(workspace) == {"BYTE"}


def test_an_update_makes_a_newer_version_of_the_same_patient(workspace) -> None:
    _ingest(workspace, "admit-then-update.hl7")
    versions = sorted(
        (r["last_updated"], r["resource_id"], r["resource"])
        for r in raw_rows(workspace)
        if r["resource_type"] == "Patient"
    )
    assert len(versions) == 2 and versions[0][1] == versions[1][1], "same id, two versions"
    assert versions[0][0] < versions[1][0], "the A08 is the later version"
    assert '"given":["JOHN","PAUL"]' in versions[1][2] and '"given":["JON"]' in versions[0][2]
    encounters = {r["resource_id"] for r in raw_rows(workspace) if r["resource_type"] == "Encounter"}
    assert len(encounters) == 1, "the same visit number is the same Encounter"


def test_the_same_message_twice_stores_nothing_new(workspace, tmp_path) -> None:
    _ingest(workspace, "admit-then-update.hl7")
    before = len(raw_rows(workspace))
    again = tmp_path / "resent.hl7"  # another file, same messages: a re-delivery, not the same file
    again.write_bytes((CORPUS / "admit-then-update.hl7").read_bytes().replace(b"\r", b"\r\n"))
    report = _ingest(workspace, str(again))
    assert report.status == "committed" and report.stored == 0 and report.duplicates == report.received
    assert len(raw_rows(workspace)) == before


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.hl7")))
def test_every_corpus_message_is_accounted_for(workspace, name) -> None:
    report = _ingest(workspace, name)
    expected = sum(len(c.records(name, c.number)) for c in conversions((CORPUS / name).read_bytes()))
    assert report.received == expected
    assert report.stored + report.duplicates == len(raw_rows(workspace))
    assert report.quarantined == len(quarantine_rows(workspace))
