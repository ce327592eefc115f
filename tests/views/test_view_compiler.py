"""The compiler on hand-made resources: SQL shape, passthrough, types, iteration, FHIRPath."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.views import compile_view, resources_table

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "gender": "female",
    "birthDate": "1970-05",
    "name": [
        {"use": "usual", "family": "Li", "given": ["Mei"]},
        {"use": "official", "family": "Wang", "given": ["Xiu", "Ying"]},
    ],
    "telecom": [{"system": "phone", "value": "123"}, {"system": "email", "value": "a@b.cn"}],
    "managingOrganization": {"reference": "https://fhir.example.org/r4/Organization/o7/_history/2"},
    "generalPractitioner": [
        {"reference": "Practitioner/dr1"},
        {"reference": "urn:uuid:5f34c6bc-97ad-82e8-e4ea-1502e6a41152"},
        {"reference": "Practitioner?identifier=http://npi|42"},
    ],
    "multipleBirthInteger": 2,
}
OTHER = {"resourceType": "Patient", "id": "p2"}
OBSERVATION = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"}}


def view(*columns: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resource": "Patient", "select": [{"column": list(columns)}], **extra}


def column(name: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "path": path, **extra}


def value_of(run, path: str, resource: dict[str, Any] = PATIENT, **extra: Any) -> Any:
    rows = run(view(column("v", path, **extra)), [resource])
    assert len(rows) == 1
    return rows[0]["v"]


# -- the SQL and its source ----------------------------------------------------------------------


def test_passthrough_columns_come_first_and_other_types_are_skipped(engine: DuckDBEngine) -> None:
    table = pa.table(
        {
            "institution": ["h1", "h2", "h1"],
            "resource": resources_table([PATIENT, OTHER, OBSERVATION]).column("resource"),
        }
    )
    engine.register("sources_with_institution", table)
    try:
        compiled = compile_view(
            view(column("id", "id"), {"name": "given", "path": "name.given", "collection": True})
        )
        result = engine.sql(compiled.sql("sources_with_institution", passthrough=["institution"]))
    finally:
        engine.unregister("sources_with_institution")
    assert result.column_names == ["institution", "id", "given"]
    assert sorted(result.to_pylist(), key=lambda r: r["id"]) == [
        {"institution": "h1", "id": "p1", "given": ["Mei", "Xiu", "Ying"]},
        {"institution": "h2", "id": "p2", "given": []},
    ]


def test_type_column_replaces_parsing_resource_type(engine: DuckDBEngine) -> None:
    table = pa.table(
        {
            "resource_type": ["Patient", "Observation"],
            "resource": resources_table([PATIENT, OBSERVATION]).column("resource"),
        }
    )
    engine.register("typed_sources", table)
    try:
        sql = compile_view(view(column("id", "id"))).sql("typed_sources", type_column="resource_type")
        assert engine.sql(sql).to_pylist() == [{"id": "p1"}]
    finally:
        engine.unregister("typed_sources")


def test_bare_query_as_source(engine: DuckDBEngine) -> None:
    engine.register("raw_texts", resources_table([PATIENT]))
    try:
        sql = compile_view(view(column("id", "id"))).sql("SELECT resource FROM raw_texts")
        assert engine.sql(sql).to_pylist() == [{"id": "p1"}]
    finally:
        engine.unregister("raw_texts")


def test_single_row_views_need_no_unnest_and_parse_the_resource_once() -> None:
    compiled = compile_view(
        view(column("id", "id"), column("gender", "gender"), column("family", "name.family.first()"))
    )
    sql = compiled.sql("t")
    assert "unnest" not in sql
    # one multi-path read of the resource for the columns, one for the type test
    assert sql.count("__src.resource, [") == 1


def test_passthrough_name_clash_is_refused() -> None:
    with pytest.raises(ValueError, match="clash"):
        compile_view(view(column("institution", "id"))).sql("t", passthrough=["institution"])


# -- column types --------------------------------------------------------------------------------


def test_column_types_follow_the_fhir_types() -> None:
    compiled = compile_view(
        view(
            column("id", "id", type="id"),
            column("active", "active"),
            column("births", "multipleBirth.ofType(integer)"),
            column("when", "birthDate"),
            column("name", "name.first()"),
            column("given", "name.given", collection=True),
            column("score", "multipleBirth.ofType(integer) / 2"),
        )
    )
    types = {c.name: (c.type, c.sql_type, c.collection) for c in compiled.columns}
    assert types == {
        "id": ("id", "VARCHAR", False),
        "active": ("boolean", "BOOLEAN", False),
        "births": ("integer", "BIGINT", False),
        "when": ("date", "VARCHAR", False),
        "name": ("HumanName", "JSON", False),
        "given": ("string", "VARCHAR[]", True),
        "score": ("decimal", "DOUBLE", False),
    }


def test_complex_values_come_back_as_json(run) -> None:
    assert value_of(run, "name.first().given", collection=True) == ["Mei"]
    raw = value_of(run, "name.first()")
    assert '"family":"Li"' in raw.replace(" ", "")


# -- iteration -----------------------------------------------------------------------------------


def test_for_each_with_row_index_and_parent_columns(run) -> None:
    rows = run(
        {
            "resource": "Patient",
            "select": [
                {"column": [column("id", "id")]},
                {"forEach": "name", "column": [column("i", "%rowIndex"), column("family", "family")]},
            ],
        },
        [PATIENT, OTHER],
    )
    assert rows == [{"id": "p1", "i": 0, "family": "Li"}, {"id": "p1", "i": 1, "family": "Wang"}]


def test_for_each_or_null_keeps_resources_without_items(run) -> None:
    rows = run(
        {
            "resource": "Patient",
            "select": [
                {"column": [column("id", "id")]},
                {"forEachOrNull": "telecom", "column": [column("v", "value")]},
            ],
        },
        [PATIENT, OTHER],
    )
    assert sorted((r["id"], r["v"]) for r in rows if r["v"]) == [("p1", "123"), ("p1", "a@b.cn")]
    assert {"id": "p2", "v": None} in rows


def test_repeat_walks_deep_trees_in_document_order(run) -> None:
    def item(link_id: str, *children: dict[str, Any]) -> dict[str, Any]:
        node: dict[str, Any] = {"linkId": link_id}
        if children:
            node["item"] = list(children)
        return node

    deep = item(
        "1", item("1.1", item("1.1.1", item("1.1.1.1", item("1.1.1.1.1", item("1.1.1.1.1.1"))))), item("1.2")
    )
    response = {
        "resourceType": "QuestionnaireResponse",
        "id": "q1",
        "status": "completed",
        "item": [deep, item("2")],
    }
    rows = run(
        {
            "resource": "QuestionnaireResponse",
            "select": [{"repeat": ["item"], "column": [column("link", "linkId"), column("n", "%rowIndex")]}],
        },
        [response],
    )
    expected = ["1", "1.1", "1.1.1", "1.1.1.1", "1.1.1.1.1", "1.1.1.1.1.1", "1.2", "2"]
    assert [r["link"] for r in rows] == expected
    assert [r["n"] for r in rows] == list(range(len(expected)))


def test_union_all_branches_concatenate(run) -> None:
    rows = run(
        {
            "resource": "Patient",
            "select": [
                {
                    "unionAll": [
                        {"forEach": "telecom", "column": [column("v", "value")]},
                        {"forEach": "name", "column": [column("v", "family")]},
                    ]
                }
            ],
        },
        [PATIENT],
    )
    assert [r["v"] for r in rows] == ["123", "a@b.cn", "Li", "Wang"]


def test_where_filters_resources_and_constants_substitute(run) -> None:
    rows = run(
        view(
            column("id", "id"),
            where=[{"path": "name.where(use = %use).exists() and gender = 'female'"}],
            constant=[{"name": "use", "valueCode": "official"}],
        ),
        [PATIENT, OTHER],
    )
    assert rows == [{"id": "p1"}]


# -- FHIRPath ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("name.where(use = 'official').given.first()", "Xiu"),
        ("name.given.last()", "Ying"),
        ("name[1].given[1]", "Ying"),
        ("name.given.skip(1).first()", "Xiu"),
        ("name.given.take(2).last()", "Xiu"),
        ("name.given.tail().first()", "Xiu"),
        ("name.given.count()", 3),
        ("name.given.distinct().count()", 3),
        ("(name.given | name.given).count()", 3),
        ("name.given.combine(name.given).count()", 6),
        ("name.given.join(' ')", "Mei Xiu Ying"),
        ("name.all(family.exists())", True),
        ("name.exists(use = 'maiden')", False),
        ("telecom.where(system = 'email').value.single()", "a@b.cn"),
        ("telecom.select(value).last()", "a@b.cn"),
        ("iif(active, 'yes', 'no')", "yes"),
        ("active and gender = 'female'", True),
        ("active implies gender = 'male'", False),
        ("(gender = 'male') or {}", None),
        ("gender != 'male'", True),
        ("gender ~ 'FEMALE'", True),
        ("gender in ('female' | 'other')", True),
        ("name.given contains 'Mei'", True),
        ("birthDate > @1969", True),
        ("birthDate.startsWith('1970')", True),
        ("gender.upper()", "FEMALE"),
        ("gender.length()", 6),
        ("gender.substring(1, 3)", "ema"),
        ("gender.indexOf('male')", 2),
        ("gender.replace('fe', '')", "male"),
        ("gender.matches('^fem')", True),
        ("gender & '-' & id", "female-p1"),
        ("multipleBirth.ofType(integer) * 3 - 1", 5),
        ("multipleBirth.ofType(integer) div 2", 1),
        ("multipleBirth.ofType(integer) mod 2", 0),
        ("multipleBirth.ofType(integer) / 0", None),
        ("(multipleBirth.ofType(integer) / 4).round(1)", 0.5),
        ("multipleBirth is integer", True),
        ("multipleBirth.ofType(boolean).exists()", False),
        ("'42'.toInteger() + 1", 43),
        ("'true'.toBoolean()", True),
        ("'x'.convertsToInteger()", False),
        ("name.given.where($index = 1).first()", "Xiu"),
        ("telecom.where(value.matches('@')).system.first()", "email"),
        ("managingOrganization.getReferenceKey(Organization)", "o7"),
        ("managingOrganization.getReferenceKey(Patient)", None),
        ("generalPractitioner.getReferenceKey(Practitioner).first()", "dr1"),
        ("generalPractitioner.getReferenceKey().count()", 2),
        ("getResourceKey()", "p1"),
        ("Patient.name.family.first()", "Li"),
        ("birthDate.lowBoundary()", "1970-05-01"),
        ("birthDate.highBoundary()", "1970-05-31"),
    ],
)
def test_fhirpath_expressions(run, path: str, expected: Any) -> None:
    assert value_of(run, path) == expected


@pytest.mark.parametrize(
    ("when", "low", "high"),
    [
        ("2016", "2016-01-01T00:00:00.000+14:00", "2016-12-31T23:59:59.999-12:00"),
        ("2016-02", "2016-02-01T00:00:00.000+14:00", "2016-02-29T23:59:59.999-12:00"),
        ("2016-02-03T04:05:06+08:00", "2016-02-03T04:05:06.000+08:00", "2016-02-03T04:05:06.999+08:00"),
    ],
)
def test_date_time_boundaries(run, when: str, low: str, high: str) -> None:
    patient = {"resourceType": "Patient", "id": "d", "deceasedDateTime": when}
    assert value_of(run, "deceased.ofType(dateTime).lowBoundary()", patient) == low
    assert value_of(run, "deceased.ofType(dateTime).highBoundary()", patient) == high


def test_reference_keys_of_namespaced_ids_longer_than_fhir_ids(run) -> None:
    global_id = "regional-hospital-number-one." + "129c6ac7-8d06-89de-ad63-0204a93e76c3"
    patient = {
        "resourceType": "Patient",
        "id": global_id,
        "link": [{"other": {"reference": f"Patient/{global_id}"}}],
    }
    assert value_of(run, "link.other.getReferenceKey(Patient).first() = getResourceKey()", patient) is True


def test_choice_types_without_of_type_read_whatever_is_present(run) -> None:
    assert json.loads(value_of(run, "multipleBirth")) == 2
