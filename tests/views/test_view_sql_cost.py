"""The compiler's cheaper SQL: each rule is used, and the rows are those FHIRPath defines."""

from __future__ import annotations

import re
from typing import Any

import pytest

from medlake.engine.dialect import DuckDBDialect
from medlake.views import ViewEvaluationError, compile_view


class JsonReadingDialect(DuckDBDialect):
    """DuckDB reading paths from the JSON text only, as rows with JSON nulls and other
    engines do (the typed reading is pinned in test_view_typed_reads.py)."""

    typed_json = False


def patient_view(*columns: dict[str, Any]) -> dict[str, Any]:
    return {"resource": "Patient", "select": [{"column": list(columns)}]}


def col(name: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "path": path, **extra}


def shared_paths(sql: str) -> list[str]:
    """The paths of the one multi-path read of the resource."""
    match = re.search(r"json_extract\(__src\.resource, \[([^\]]*)\]\)", sql)
    assert match is not None, sql
    return re.findall(r"'([^']*)'", match.group(1))


# -- reference keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "typed", "untyped"),
    [
        ("Organization/o1", "o1", "o1"),
        ("Organization/h1.o-1", "h1.o-1", "h1.o-1"),
        ("Organization/", None, None),
        ("Organization/o1/_history/2", "o1", "o1"),
        ("http://h/fhir/Organization/o1", "o1", "o1"),
        ("Organization/o1?x=1", None, None),
        ("Organization/a/b", None, None),
        ("Organization/a#b", None, None),
        ("Patient/p1", None, "p1"),
        ("organization/o1", None, None),
        ("OrganizationX/o1", None, "o1"),
        ("X/o1", None, None),
        ("urn:uuid:u1", None, "u1"),
    ],
)
def test_reference_keys_of_plain_and_other_reference_texts(run, reference, typed, untyped) -> None:
    patient = {"resourceType": "Patient", "id": "p", "managingOrganization": {"reference": reference}}
    view = patient_view(
        col("typed", "managingOrganization.getReferenceKey(Organization)"),
        col("untyped", "managingOrganization.getReferenceKey()"),
    )
    assert run(view, [patient]) == [{"typed": typed, "untyped": untyped}]


def test_plain_reference_texts_are_tested_before_the_general_pattern() -> None:
    view = patient_view(col("org", "managingOrganization.getReferenceKey(Organization)"))
    sql = compile_view(view).sql("t")
    assert sql.index("starts_with(") < sql.index("regexp_extract(")


# -- reading the resource -------------------------------------------------------------------------


def test_paths_share_their_longest_start_without_a_wildcard() -> None:
    view = patient_view(
        col("org", "managingOrganization.reference"),
        col("family", "name.family.first()"),
        col("marital", "maritalStatus.coding.code.first()"),
        col("marital_system", "maritalStatus.coding.system.first()"),
    )
    sql = compile_view(view).sql("t")
    # no fragment for a step on the way (``$.managingOrganization``), one for both codings
    assert shared_paths(sql) == ["$.managingOrganization.reference", "$.name", "$.maritalStatus.coding"]


def test_first_of_a_path_is_read_as_text_in_one_extraction(run) -> None:
    view = patient_view(col("code", "maritalStatus.coding.code.first()"))
    sql = compile_view(view).sql("t")
    assert "list_extract(json_extract_string(list_extract(__src.__top, 1), '$[*].code'), 1)" in sql
    patient = {
        "resourceType": "Patient",
        "maritalStatus": {"coding": [{"system": "s"}, {"code": "M"}, {"code": "S"}]},
    }
    assert run(view, [patient]) == [{"code": "M"}]


@pytest.mark.parametrize(
    ("address", "count"),
    [([{"city": "a"}, {}, {"city": "b"}], 3), ([], 0), (None, 0), ({"city": "not a list"}, 0)],
)
def test_counting_an_array_reads_its_length(run, address, count) -> None:
    view = patient_view(col("n", "address.count()"), col("any", "address.exists()"))
    assert "json_array_length(" in compile_view(view, JsonReadingDialect()).sql("t")
    patient = {"resourceType": "Patient", "id": "p"}
    if address is not None:
        patient["address"] = address
    assert run(view, [patient]) == [{"n": count, "any": count > 0}]


# -- iterating views ------------------------------------------------------------------------------

TELECOM_VIEW = {
    "resource": "Patient",
    "select": [
        {"column": [col("id", "id"), col("given", "name.given")]},
        {"forEach": "telecom", "column": [col("value", "value"), col("system", "system"), col("use", "use")]},
    ],
}


def test_single_row_columns_are_read_outside_the_items_lambda() -> None:
    sql = compile_view(TELECOM_VIEW).sql("t")
    lambda_start = sql.index("lambda")
    assert "$.id" not in sql[lambda_start:].split("AS __list")[0]


def test_single_row_columns_still_fail_only_for_resources_with_rows(run) -> None:
    two_given = {"resourceType": "Patient", "id": "p1", "name": [{"given": ["a", "b"]}]}
    assert run(TELECOM_VIEW, [two_given]) == []
    with pytest.raises(ViewEvaluationError, match="column given"):
        run(TELECOM_VIEW, [{**two_given, "telecom": [{"value": "1"}]}])


def test_for_each_items_are_parsed_once_for_all_their_paths(run) -> None:
    sql = compile_view(TELECOM_VIEW, JsonReadingDialect()).sql("t")
    assert re.search(r"json_extract\(_e\d+, \['\$\.value', '\$\.system', '\$\.use'\]\)", sql)
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"given": ["a"]}],
        "telecom": [{"value": "1", "system": "phone"}, {"use": "home"}],
    }
    assert run(TELECOM_VIEW, [patient]) == [
        {"id": "p1", "given": "a", "value": "1", "system": "phone", "use": None},
        {"id": "p1", "given": "a", "value": None, "system": None, "use": "home"},
    ]


def test_for_each_reading_one_path_parses_each_item_directly() -> None:
    view = {"resource": "Patient", "select": [{"forEach": "telecom", "column": [col("value", "value")]}]}
    sql = compile_view(view, JsonReadingDialect()).sql("t")
    assert re.search(r"json_extract_string\(_e\d+, '\$\.value'\)", sql)
