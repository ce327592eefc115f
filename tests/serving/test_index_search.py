"""Searching the serving index built from the shared Synthea export.

Each expected answer is counted from the export's NDJSON with plain Python, following the
FHIR R4 search rules as the specification words them; the index is never asked to grade itself.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from medlake.serving import SearchError, ServingIndex, UnknownResourceType, parse_search
from tests.serving.conftest import EVERYTHING, INSTITUTION, Scope, records


def ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [found.id for found in page.matches]


def search_all(index: ServingIndex, resource_type: str, params: list[tuple[str, str]], scope=EVERYTHING):  # type: ignore[no-untyped-def]
    """Every match of a search, page by page (so paging is exercised too)."""
    query = parse_search(resource_type, [*params, ("_count", "100")])
    found, offset = [], 0
    while True:
        page = index.search(query, scope, offset)
        found += ids(page)
        if not page.has_next:
            return page.total, found
        offset += len(page.matches)


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def test_patient_compartment_matches_the_export(synthea_index: ServingIndex, synthea_folder: Path) -> None:
    encounters = records(synthea_folder, "Encounter")
    by_patient = Counter(e["subject"]["reference"].split("/")[1] for e in encounters)
    patient, expected = by_patient.most_common(1)[0]
    total, found = search_all(synthea_index, "Encounter", [("patient", f"{INSTITUTION}.{patient}")])
    assert total == expected == len(found) == len(set(found))
    wanted = {
        f"{INSTITUTION}.{e['id']}" for e in encounters if e["subject"]["reference"] == f"Patient/{patient}"
    }
    assert set(found) == wanted
    # subject=Patient/<id> is the same set; a patient that does not exist has none
    assert (
        search_all(synthea_index, "Encounter", [("subject", f"Patient/{INSTITUTION}.{patient}")])[0]
        == expected
    )
    assert search_all(synthea_index, "Encounter", [("patient", "synthea.nobody")])[0] == 0


def test_token_search_by_system_and_code(synthea_index: ServingIndex, synthea_folder: Path) -> None:
    conditions = records(synthea_folder, "Condition")
    codes = Counter((c["system"], c["code"]) for r in conditions for c in r["code"]["coding"])
    (system, code), expected = codes.most_common(1)[0]
    assert search_all(synthea_index, "Condition", [("code", f"{system}|{code}")])[0] == expected
    assert search_all(synthea_index, "Condition", [("code", code)])[0] == expected
    assert search_all(synthea_index, "Condition", [("code", f"http://loinc.org|{code}")])[0] == 0
    # two values are alternatives (OR); two parameters must both hold (AND)
    (_, code2), expected2 = codes.most_common(2)[1]
    assert search_all(synthea_index, "Condition", [("code", f"{code},{code2}")])[0] == expected + expected2
    clinical = Counter(r["clinicalStatus"]["coding"][0]["code"] for r in conditions)
    both = sum(
        1
        for r in conditions
        if any(c["code"] == code for c in r["code"]["coding"])
        and r["clinicalStatus"]["coding"][0]["code"] == "active"
    )
    assert clinical["active"] > 0
    assert search_all(synthea_index, "Condition", [("code", code), ("clinical-status", "active")])[0] == both


def test_date_prefixes_follow_the_specification(synthea_index: ServingIndex, synthea_folder: Path) -> None:
    # Encounter.period: the resource's range is [start, end + 1 s) at the precision of seconds.
    periods = {
        e["id"]: (instant(e["period"]["start"]), instant(e["period"]["end"]) + timedelta(seconds=1))
        for e in records(synthea_folder, "Encounter")
    }
    day_low, day_high = datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 1, 2, tzinfo=UTC)
    expected = {
        "lt2015-01-01": {i for i, (lo, _) in periods.items() if lo < day_low},
        "gt2015-01-01": {i for i, (_, hi) in periods.items() if hi > day_high},
        "ge2015-01-01": {
            i for i, (lo, hi) in periods.items() if hi > day_high or (lo >= day_low and hi <= day_high)
        },
        "le2015-01-01": {
            i for i, (lo, hi) in periods.items() if lo < day_low or (lo >= day_low and hi <= day_high)
        },
    }
    for value, wanted in expected.items():
        total, found = search_all(synthea_index, "Encounter", [("date", value)])
        assert {f.split(".", 1)[1] for f in found} == wanted, value
        assert total == len(wanted)
    # a range: both bounds hold
    between = {i for i, (lo, hi) in periods.items() if lo < day_low and hi > datetime(2010, 1, 2, tzinfo=UTC)}
    assert search_all(synthea_index, "Encounter", [("date", "gt2010-01-01"), ("date", "lt2015-01-01")])[
        0
    ] == len(between)


def test_patient_demographics(synthea_index: ServingIndex, synthea_folder: Path) -> None:
    patients = records(synthea_folder, "Patient")
    genders = Counter(p["gender"] for p in patients)
    assert search_all(synthea_index, "Patient", [("gender", "female")])[0] == genders["female"]
    family = patients[0]["name"][0]["family"]
    prefix = family[:3].upper()  # string search: case-insensitive, from the start
    wanted = {
        p["id"]
        for p in patients
        if any(n.get("family", "").lower().startswith(prefix.lower()) for n in p["name"])
    }
    assert {
        i.split(".", 1)[1] for i in search_all(synthea_index, "Patient", [("family", prefix)])[1]
    } == wanted
    assert search_all(synthea_index, "Patient", [("name", family.lower())])[0] >= 1
    assert search_all(synthea_index, "Patient", [("family:exact", family)])[0] >= 1
    assert family != family.lower()
    assert search_all(synthea_index, "Patient", [("family:exact", family.lower())])[0] == 0
    given = patients[0]["name"][0]["given"][0]
    assert search_all(synthea_index, "Patient", [("given", given)])[0] >= 1
    born_before = {p["id"] for p in patients if p["birthDate"] < "1960-01-01"}
    assert {
        i.split(".", 1)[1] for i in search_all(synthea_index, "Patient", [("birthdate", "lt1960")])[1]
    } == born_before
    identifier = patients[1]["identifier"][1]
    found = search_all(
        synthea_index, "Patient", [("identifier", f"{identifier['system']}|{identifier['value']}")]
    )
    assert found[1] == [f"{INSTITUTION}.{patients[1]['id']}"]
    assert search_all(synthea_index, "Patient", [("_id", f"{INSTITUTION}.{patients[2]['id']}")])[0] == 1


def test_sort_paging_and_include(synthea_index: ServingIndex, synthea_folder: Path) -> None:
    encounters = records(synthea_folder, "Encounter")
    patient = Counter(e["subject"]["reference"] for e in encounters).most_common(1)[0][0].split("/")[1]
    query = parse_search(
        "Encounter",
        [
            ("patient", f"{INSTITUTION}.{patient}"),
            ("_sort", "-date"),
            ("_count", "7"),
            ("_include", "Encounter:patient"),
        ],
    )
    first = synthea_index.search(query, EVERYTHING, 0, include_scope=lambda _type: EVERYTHING)
    second = synthea_index.search(query, EVERYTHING, 7, include_scope=lambda _type: EVERYTHING)
    assert len(first.matches) == len(second.matches) == 7 and first.has_next
    assert not set(ids(first)) & set(ids(second))
    ends = [instant(f.resource["period"]["end"]) for f in first.matches + second.matches]
    assert ends == sorted(ends, reverse=True)
    assert [f.id for f in first.included] == [f"{INSTITUTION}.{patient}"]
    count = synthea_index.search(parse_search("Encounter", [("_summary", "count")]), EVERYTHING)
    assert count.total == len(encounters) and count.matches == []


def test_the_scope_is_applied_in_the_query(synthea_index: ServingIndex, synthea_folder: Path) -> None:
    patient = records(synthea_folder, "Patient")[0]["id"]
    elsewhere = Scope(institutions=frozenset({"another-hospital"}))
    assert search_all(synthea_index, "Encounter", [], elsewhere)[0] == 0
    assert synthea_index.read("Patient", f"{INSTITUTION}.{patient}", elsewhere) is None
    assert (
        synthea_index.read("Patient", f"{INSTITUTION}.{patient}", EVERYTHING).id == f"{INSTITUTION}.{patient}"
    )
    # limited to persons: without warehouse.person_link no resource has a person, so none is read
    assert search_all(synthea_index, "Patient", [], Scope(patients=frozenset({"P0000"})))[0] == 0
    assert search_all(synthea_index, "Patient", [], Scope(patients=frozenset()))[0] == 0
    # an include reaches only what the included type's scope allows
    query = parse_search("Encounter", [("_include", "Encounter:patient"), ("_count", "3")])
    page = synthea_index.search(query, EVERYTHING, include_scope=lambda _type: elsewhere)
    assert page.matches and page.included == []
    page = synthea_index.search(query, EVERYTHING, include_scope=lambda _type: None)
    assert page.included == []


@pytest.mark.parametrize(
    ("resource_type", "params", "message"),
    [
        ("Patient", [("colour", "red")], "unknown search parameter 'colour'"),
        ("Observation", [("subject.name", "x")], "chained search"),
        ("Encounter", [("date", "sa2015")], "the sa prefix is not supported"),
        ("Encounter", [("date", "2015-13-45")], "not a FHIR date"),
        ("Patient", [("gender:text", "f")], "modifier :text is not supported"),
        ("Patient", [("_count", "-1")], "_count must be a whole number"),
        ("Patient", [("_sort", "colour")], "cannot sort Patient by 'colour'"),
        ("Patient", [("_include", "Patient:gender")], "not a reference parameter"),
        ("Patient", [("_summary", "text")], "not supported"),
    ],
)
def test_a_search_it_cannot_answer_is_refused(resource_type: str, params: list, message: str) -> None:
    with pytest.raises(SearchError, match=message):
        parse_search(resource_type, params)


def test_a_type_not_served_is_not_found() -> None:
    with pytest.raises(UnknownResourceType):
        parse_search("Basic", [])


def test_every_resource_of_the_export_is_indexed_once(
    synthea_index: ServingIndex, synthea_folder: Path
) -> None:
    for resource_type in ("Patient", "Encounter", "Condition", "Procedure", "Organization", "Practitioner"):
        expected = len({r["id"] for r in records(synthea_folder, resource_type)})
        assert search_all(synthea_index, resource_type, [])[0] == expected, resource_type
        # _lastUpdated is stamped from the arrival when the sender gave none
        assert search_all(synthea_index, resource_type, [("_lastUpdated", "gt2000-01-01")])[0] == expected
