"""The v2 → FHIR mapping in detail: dates, values, statuses, ids, escapes, determinism."""

from __future__ import annotations

import orjson
import pytest

from medlake.fhir.validation import validate
from medlake.sources.hl7v2 import conversions, convert_message
from medlake.sources.hl7v2.datatypes import ConversionError, fhir_date, fhir_datetime, fhir_instant
from medlake.sources.hl7v2.escapes import Delimiters, escape, unescape
from tests.sources.hl7v2.conftest import CORPUS

MSH = "MSH|^~\\&|LAB|NORTHHOSP|MEDLAKE|REGION|20240312100000+0000||{kind}|{ctrl}|P|2.5.1"
PID = "PID|1||P1^^^NORTHHOSP^MR||DOE^JANE||19700101|F"


def oru(
    *results: str, ctrl: str = "C1", obr: str = "OBR|1|PL1|FL1|24331-1^Lipid panel^LN|||20240312090000+0000"
) -> bytes:
    obr_line = obr + "|" * (25 - obr.count("|")) + "F"
    return "\r".join([MSH.format(kind="ORU^R01^ORU_R01", ctrl=ctrl), PID, obr_line, *results, ""]).encode()


def only(conversion, resource_type: str) -> dict:
    [found] = [r for r in conversion.resources if r["resourceType"] == resource_type]
    return found


@pytest.mark.parametrize(
    ("text", "date", "datetime"),
    [
        ("1985", "1985", "1985"),
        ("198502", "1985-02", "1985-02"),
        ("19850214", "1985-02-14", "1985-02-14"),
        ("198502141030", "1985-02-14", "1985-02-14T10:30:00+00:00"),
        ("20210817151943.4+0200", "2021-08-17", "2021-08-17T15:19:43.4+02:00"),
        ("201203141259-0215", "2012-03-14", "2012-03-14T12:59:00-02:15"),
    ],
)
def test_dates_keep_their_precision(text, date, datetime) -> None:
    assert fhir_date(text, "X-1") == date
    assert fhir_datetime(text, "X-1", "UTC") == datetime


def test_times_without_offset_take_the_configured_zone() -> None:
    assert fhir_datetime("20240115083000", "X-1", "Europe/Paris") == "2024-01-15T08:30:00+01:00"
    assert fhir_datetime("20240715083000", "X-1", "Europe/Paris") == "2024-07-15T08:30:00+02:00"
    assert fhir_instant("2024", "X-1", "UTC") == "2024-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "bad", ["2024-01-15", "20241301", "20240230", "2024011", "20240115250000", "1985x", "20240115+2500"]
)
def test_invalid_dates_are_refused_with_the_field_named(bad) -> None:
    with pytest.raises(ConversionError, match=r"^PID-7 "):
        fhir_datetime(bad, "PID-7", "UTC")


def test_escape_and_unescape_are_inverse_for_any_delimiters() -> None:
    text = "a|b^c&d~e\\f\nline"
    for d in (Delimiters(), Delimiters.from_msh("*", "#%!@")):
        assert unescape(escape(text, d), d) == text
    assert unescape("\\X41\\\\Zunknown\\ and \\", Delimiters()) == "A\\Zunknown\\ and \\"


UCUM = "http://unitsofmeasure.org"
SALMONELLA = {"system": "http://snomed.info/sct", "code": "27268008", "display": "Salmonella"}


@pytest.mark.parametrize(
    ("obx", "expected"),
    [
        (
            "OBX|1|NM|2093-3^Cholesterol^LN||+5.20|mmol/L^^UCUM|||||F",
            {"valueQuantity": {"value": 5.2, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"}},
        ),
        (
            "OBX|1|SN|2093-3^Cholesterol^LN||>^10|mmol/L^^UCUM|||||F",
            {
                "valueQuantity": {
                    "value": 10,
                    "unit": "mmol/L",
                    "system": UCUM,
                    "code": "mmol/L",
                    "comparator": ">",
                }
            },
        ),
        (
            "OBX|1|SN|5130-0^Titer^LN||^1^:^128||||||F",
            {"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 128}}},
        ),
        (
            "OBX|1|SN|5130-0^Range^LN||^2^-^4||||||F",
            {"valueRange": {"low": {"value": 2}, "high": {"value": 4}}},
        ),
        (
            "OBX|1|CWE|600-7^Organism^LN||27268008^Salmonella^SCT||||||F",
            {"valueCodeableConcept": {"coding": [SALMONELLA], "text": "Salmonella"}},
        ),
        ("OBX|1|TX|22637-3^Report^LN||line one~line two||||||F", {"valueString": "line one\nline two"}),
        ("OBX|1|ST|8251-1^Comment^LN||a^b, ends in \\S\\||||||F", {"valueString": "a^b, ends in ^"}),
        ("OBX|1|DTM|21112-8^Birth date^LN||20240101||||||F", {"valueDateTime": "2024-01-01"}),
        ("OBX|1|TM|8000-1^Time^L||1430||||||F", {"valueTime": "14:30:00"}),
    ],
)
def test_observation_values_follow_obx_2(obx, expected) -> None:
    conversion = convert_message(oru(obx))
    assert conversion.ack_code == "AA", conversion.reason
    observation = only(conversion, "Observation")
    assert {k: v for k, v in observation.items() if k.startswith("value")} == expected
    validate(observation)


def test_encapsulated_data_becomes_an_attachment() -> None:
    pdf = "OBX|1|ED|18842-5^Summary^LN||^application^pdf^Base64^JVBERi0=||||||F"
    observation = only(convert_message(oru(pdf)), "Observation")
    [extension] = observation["extension"]
    assert extension["valueAttachment"] == {"contentType": "application/pdf", "data": "JVBERi0="}


@pytest.mark.parametrize(
    ("obx", "reason"),
    [
        ("OBX|1|NM|2093-3^Cholesterol^LN||five|mmol/L|||||F", "'five' is not a number"),
        ("OBX|1|NM|2093-3^Cholesterol^LN||5~6|mmol/L|||||F", "holds 2 values of type NM"),
        ("OBX|1|NM|||5|mmol/L|||||F", "OBX-3 (observation identifier) is empty"),
        ("OBX|1|NM|2093-3^Cholesterol^LN||5|mmol/L|||||Q", "OBX-11 'Q' is not an HL7 table 0085"),
        ("OBX|1|ED|18842-5^Summary^LN||^application^pdf^Base64^%%%||||||F", "not Base64"),
    ],
)
def test_an_unconvertible_result_is_reported_and_the_rest_kept(obx, reason) -> None:
    good = "OBX|2|NM|2571-8^Triglyceride^LN||1.4|mmol/L|||||F"
    conversion = convert_message(oru(obx, good))
    assert conversion.ack_code == "AE"
    [(what, why)] = conversion.failures
    assert what == "Observation" and reason in why
    assert only(conversion, "Observation")["code"]["coding"][0]["code"] == "2571-8"
    report = only(conversion, "DiagnosticReport")
    assert len(report["result"]) == 1, "the report lists only what was stored"
    [record] = [r for r in conversion.records("f", 1) if r.error]
    assert record.error_stage == "convert" and record.text == conversion.text


def test_status_codes_follow_the_ig_concept_maps() -> None:
    flags = ["F", "P", "C", "X", ""]
    lines = [f"OBX|{i}|NM|{i}-{i}^Test {i}^LN||1||||||{flag}" for i, flag in enumerate(flags, start=1)]
    conversion = convert_message(oru(*lines))
    statuses = [r["status"] for r in conversion.resources if r["resourceType"] == "Observation"]
    assert statuses == ["final", "preliminary", "corrected", "cancelled", "unknown"]
    discharge = (
        (CORPUS / "admit-then-update.hl7").read_bytes().split(b"\rMSH")[0].replace(b"ADT^A01", b"ADT^A03")
    )
    assert only(convert_message(discharge), "Encounter")["status"] == "finished"


def test_a_corrected_result_replaces_the_preliminary_one() -> None:
    preliminary = convert_message(oru("OBX|1|NM|2093-3^Cholesterol^LN||5.2|mmol/L|||||P", ctrl="C1"))
    corrected = convert_message(oru("OBX|1|NM|2093-3^Cholesterol^LN||5.4|mmol/L|||||C", ctrl="C2"))
    first, second = only(preliminary, "Observation"), only(corrected, "Observation")
    assert first["id"] == second["id"], "same order (filler number), same test: same Observation"
    assert (first["valueQuantity"]["value"], second["valueQuantity"]["value"]) == (5.2, 5.4)
    assert only(preliminary, "DiagnosticReport")["id"] == only(corrected, "DiagnosticReport")["id"]


def test_conversion_is_deterministic() -> None:
    for path in sorted(CORPUS.glob("*.hl7")):
        data = path.read_bytes()
        first = [orjson.dumps(r) for c in conversions(data) for r in c.resources]
        assert first == [orjson.dumps(r) for c in conversions(data) for r in c.resources], path.name


def test_observations_without_an_order_get_message_scoped_ids() -> None:
    msh = MSH.format(kind="ADT^A01^ADT_A01", ctrl="ADT-9")
    message = "\r".join(
        [
            msh,
            "EVN|A01",
            PID,
            "PV1|1|I|||||||||||||||||V9",
            "OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F",
            "",
        ]
    )
    conversion = convert_message(message.encode())
    observation = only(conversion, "Observation")
    assert observation["encounter"]["reference"] == f"Encounter/{only(conversion, 'Encounter')['id']}"
    resent = convert_message(message.encode())
    assert only(resent, "Observation") == observation
