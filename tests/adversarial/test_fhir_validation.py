"""Invalid R4 that validation once let through: each line of the corpus is quarantined with its reason.

``corpus/fhir/`` holds one file per kind of defect (ids, empty values, control characters,
required codes, duplicate keys, primitive ranges), one defect per line, and ``valid-edges`` the
values at the edge of each rule that must still be stored. Every line here is judged by both of
ingest's paths: the msgspec check must not vouch for a defect (it falls back), and the explaining
path must refuse it with a reason that names the element.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from medlake.fhir.structs import check
from medlake.ingest import ingest_path
from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, Layer

CORPUS = Path(__file__).with_name("corpus") / "fhir"

#: file → per line (from 1): the quarantine stage and a fragment of the reason.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "ids.ndjson": [
        ("validation", "id: 'x/y' is not a valid id"),
        ("validation", "id: 'has space' is not a valid id"),
        ("validation", "id: an empty string is not a value"),
        ("validation", "is not a valid id (R4: [A-Za-z0-9\\-\\.]{1,64})"),
        ("validation", "id: 'line\\nbreak' is not a valid id"),
        ("validation", "id: '../../x' is not a valid id"),
    ],
    "empty-values.ndjson": [
        ("validation", "code: an empty object is not a value"),
        ("validation", "name.0: an empty object is not a value"),
        ("validation", "name.0.family: an empty string is not a value"),
        ("validation", "gender: null is not a value"),
        ("validation", "name.0.given.1: null is not a value (only beside an extension in _given)"),
        ("validation", "_birthDate.extension: an empty array is not a value"),
    ],
    "control-characters.ndjson": [
        ("validation", "name.0.family: control character U+0000"),
        ("validation", "name.0.family: control character U+0007"),
        ("validation", "note.0.text: control character U+001B"),
    ],
    "required-codes.ndjson": [
        (
            "validation",
            "status: 'bogus' is not a code of the required value set "
            "http://hl7.org/fhir/ValueSet/observation-status",
        ),
        (
            "validation",
            "gender: 'M' is not a code of the required value set "
            "http://hl7.org/fhir/ValueSet/administrative-gender (female, male, other, unknown)",
        ),
        ("validation", "telecom.0.system: 'telephone' is not a code of the required value set"),
    ],
    "duplicate-keys.ndjson": [
        ("parse", "duplicate JSON key 'id'"),
        ("parse", "duplicate JSON key 'name.0.family'"),
        ("parse", "duplicate JSON key 'gender'"),
    ],
    "primitive-ranges.ndjson": [
        (
            "validation",
            "valueInteger: 9223372036854775808 is outside the range of an integer "
            "(-2147483648 to 2147483647)",
        ),
        ("validation", "valueInteger: 2147483648 is outside the range of an integer"),
        ("validation", "valueInteger: -2147483649 is outside the range of an integer"),
        ("validation", "multipleBirthInteger: 99999999999 is outside the range of an integer"),
        ("validation", "photo.0.size: -1 is outside the range of an unsignedInt"),
        ("validation", "valueTime"),
        ("validation", "birthDate"),
        ("validation", "issued"),
        ("validation", "meta.versionId: 'v 1' is not a valid id"),
        ("parse", "malformed JSON: number is infinity when parsed as double"),
    ],
}


def _rows(ws, name: str) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, name))
    return [] if table is None else table.sort_by("line").to_pylist()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_defect_is_quarantined_with_its_reason(workspace, name: str) -> None:
    expected = EXPECTED[name]
    lines = (CORPUS / name).read_bytes().splitlines()
    assert len(lines) == len(expected), "one expectation per line of the corpus file"
    for line in lines:
        assert check(line) is None, f"the fast path vouched for a defect: {line[:120]!r}"
    [report] = ingest_path(workspace, CORPUS / name, "hosp-b")
    assert (report.received, report.stored, report.quarantined) == (len(lines), 0, len(lines))
    assert report.received == report.stored + report.quarantined + report.duplicates
    assert _rows(workspace, RAW_RESOURCES) == []
    quarantined = _rows(workspace, QUARANTINE)
    for row, (stage, reason), line in zip(quarantined, expected, lines, strict=True):
        assert row["stage"] == stage and reason in row["reason"], (row["line"], row["reason"])
        assert row["raw"].encode() == line, "the quarantine keeps the line as received"


def test_the_values_at_the_edge_of_each_rule_are_stored(workspace) -> None:
    lines = (CORPUS / "valid-edges.ndjson").read_bytes().splitlines()
    [report] = ingest_path(workspace, CORPUS / "valid-edges.ndjson", "hosp-b")
    assert (report.received, report.stored, report.quarantined) == (len(lines), len(lines), 0)
    stored = {row["resource_id"] for row in _rows(workspace, RAW_RESOURCES)}
    assert "A-1." * 16 in stored and "v4" in stored, "a 64-character id; a null beside its extension"


def test_a_bundle_entry_that_repeats_a_key_is_refused_and_the_others_stored(workspace) -> None:
    [report] = ingest_path(workspace, CORPUS / "duplicate-keys-bundle.json", "hosp-b")
    assert (report.received, report.stored, report.quarantined) == (2, 1, 1)
    [row] = _rows(workspace, QUARANTINE)
    assert row["line"] == 2 and row["stage"] == "parse"
    assert "duplicate JSON key 'resource.id'" in row["reason"]
    assert [r["resource_id"] for r in _rows(workspace, RAW_RESOURCES)] == ["ok1"], "not d3b, silently"
