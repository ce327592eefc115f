"""DuckDB reads a view's paths from one typed STRUCT per resource, with the JSON reading's rows.

Each rule of :mod:`medlake.views.typed_reads` is pinned on the SQL, and the rows are
compared with the JSON reading (the compiler without the typed conversion) over resources
with JSON nulls, missing and empty elements, elements of the wrong shape, extensions,
choice types and duplicate keys.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pyarrow as pa
import pytest

from medlake.engine.dialect import DuckDBDialect
from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.views import compile_view
from medlake.views.library import load_library


class JsonReadingDialect(DuckDBDialect):
    """DuckDB reading paths from the JSON text only: the reading before the typed one."""

    typed_json = False


def col(name: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "path": path, **extra}


def patient_view(*columns: dict[str, Any]) -> dict[str, Any]:
    return {"resource": "Patient", "select": [{"column": list(columns)}]}


def structure(sql: str) -> dict[str, Any]:
    """The type the resource is converted to."""
    match = re.search(r"json_transform\(__src\.resource, '([^']*)'\)", sql)
    assert match is not None, sql
    return json.loads(match.group(1))


def rows(engine: DuckDBEngine, view: dict[str, Any], texts: list[str], typed: bool = True) -> list[Any]:
    """The view's rows over resources given as JSON text (duplicate keys survive), sorted."""
    dialect = DuckDBDialect() if typed else JsonReadingDialect()
    compiled = compile_view(view, dialect)
    engine.register("__texts", pa.table({"resource": pa.array(texts, type=pa.string())}))
    try:
        table = engine.sql(compiled.sql("(SELECT resource FROM __texts)"))
    finally:
        engine.unregister("__texts")
    return sorted((json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist()), key=str)


# -- the SQL ----------------------------------------------------------------------------------


def test_the_resource_is_converted_once_to_the_paths_the_view_reads() -> None:
    view = patient_view(
        col("id", "id"),
        col("org", "managingOrganization.getReferenceKey(Organization)"),
        col("family", "name.family.first()"),
        col("n", "address.count()"),
        col("active", "active"),
    )
    sql = compile_view(view).sql("t")
    assert structure(sql) == {
        "id": "VARCHAR",
        "managingOrganization": {"reference": "VARCHAR"},
        "name": [{"family": "VARCHAR"}],
        "address": ["BOOLEAN"],  # only counted: the cheapest item type
        "active": "JSON",  # read as JSON, then cast as before
    }
    assert '__src.__typed."managingOrganization"."reference"' in sql
    assert 'len(__src.__typed."address")' in sql


def test_text_along_plain_paths_needs_no_fallback() -> None:
    view = patient_view(col("id", "id"), col("gender", "gender"), col("code", "maritalStatus.coding[0].code"))
    sql = compile_view(view).sql("t")
    assert "__typed_ok" not in sql and "__top" not in sql
    assert '__src.__typed."gender"' in sql


def test_wildcards_and_json_values_read_rows_with_nulls_as_json() -> None:
    view = patient_view(col("family", "name.family.first()"))
    sql = compile_view(view).sql("t")
    assert "NOT contains(CAST(__src.resource AS VARCHAR), 'null') AS __typed_ok" in sql
    assert re.search(r"CASE WHEN __src\.__typed_ok THEN .*__typed.* ELSE .*json_extract", sql)


def test_a_node_read_whole_stays_json_and_is_read_below_as_before() -> None:
    view = patient_view(
        col("m", "maritalStatus.coding.where(system = 's').code.first()"),
        col("c", "maritalStatus.coding.code.first()"),
    )
    sql = compile_view(view).sql("t")
    assert structure(sql) == {"maritalStatus": {"coding": ["JSON"]}}
    assert re.search(r"json_extract_string\(_t\d+, '\$\.code'\)", sql)


TELECOM_VIEW = {
    "resource": "Patient",
    "select": [
        {"column": [col("id", "id")]},
        {"forEach": "telecom", "column": [col("value", "value"), col("system", "system")]},
    ],
}


def test_for_each_walks_the_typed_items() -> None:
    sql = compile_view(TELECOM_VIEW).sql("t")
    assert structure(sql) == {"id": "VARCHAR", "telecom": [{"value": "VARCHAR", "system": "VARCHAR"}]}
    assert re.search(r'list_transform\(__src\.__typed\."telecom", lambda (_e\d+), _i\d+: .*\1\."value"', sql)


def test_for_each_over_items_used_whole_keeps_them_json() -> None:
    view = {"resource": "Patient", "select": [{"forEach": "telecom", "column": [col("t", "$this")]}]}
    assert structure(compile_view(view).sql("t")) == {"telecom": ["JSON"]}


def test_other_dialects_keep_the_json_reading() -> None:
    sql = compile_view(TELECOM_VIEW, JsonReadingDialect()).sql("t")
    assert "json_transform" not in sql and "__typed" not in sql


# -- the rows ---------------------------------------------------------------------------------

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "active": True,
    "gender": "female",
    "birthDate": "1970",
    "name": [{"use": "official", "family": "F", "given": ["a", "b"]}, {"family": "G"}],
    "telecom": [{"system": "phone", "value": "1"}, {"use": "home"}],
    "address": [{"city": "c1"}, {"city": "c2", "state": "s"}],
    "maritalStatus": {"coding": [{"system": "s", "code": "M"}]},
    "managingOrganization": {"reference": "Organization/o1"},
    "communication": [{"language": {"coding": [{"code": "en"}]}}],
    "link": [{"other": {"reference": "Patient/p2"}, "type": "seealso"}],
    "extension": [
        {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "F"},
        {
            "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
            "extension": [{"url": "ombCategory", "valueCoding": {"code": "2106-3"}}],
        },
    ],
}


def _positions(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a JSON tree."""
    found: list[tuple[Any, Any]] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in children:
        found.append((node, key))
        found.extend(_positions(value))
    return found


#: for types the Synthea samples lack: as the DICOM source writes it (sources/documents/dicom.py)
IMAGING_STUDY = {
    "resourceType": "ImagingStudy",
    "id": "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322",
    "identifier": [
        {"system": "urn:dicom:uid", "value": "urn:oid:1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"}
    ],
    "status": "available",
    "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"}],
    "subject": {"reference": "Patient/1CT1"},
    "started": "2004-01-19T07:27:30+00:00",
    "numberOfSeries": 1,
    "numberOfInstances": 2,
    "description": "CT head",
    "series": [
        {
            "uid": "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322",
            "number": 1,
            "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
            "numberOfInstances": 2,
            "bodySite": {"system": "http://snomed.info/sct", "code": "69536005", "display": "Head"},
            "instance": [
                {
                    "uid": "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
                    "sopClass": {"code": "1.2.840.10008.5.1.4.1.1.2"},
                },
                {
                    "uid": "1.3.6.1.4.1.5962.1.1.1.1.2.20040119072730.12322",
                    "sopClass": {"code": "1.2.840.10008.5.1.4.1.1.2"},
                },
            ],
        }
    ],
}
MISSING_FROM_SYNTHEA = {"ImagingStudy": IMAGING_STUDY}


def variants(resource: dict[str, Any]) -> list[str]:
    """``resource`` as JSON text, and with each element in turn null, missing, of the
    wrong shape (an array's first item for the array, an object wrapped in an array, a
    string mentioning null), and with duplicate keys, first and last."""
    texts = [json.dumps(resource)]
    count = len(_positions(resource))
    for index in range(count):
        for change in ("null", "missing", "shape", "mentions null"):
            changed = copy.deepcopy(resource)
            container, key = _positions(changed)[index]
            if key == "resourceType":
                continue
            value = container[key]
            if change == "null":
                container[key] = None
            elif change == "missing":
                container.pop(key) if isinstance(container, dict) else container.clear()
            elif change == "shape" and isinstance(value, list):
                container[key] = value[0] if value else {}
            elif change == "shape" and isinstance(value, dict):
                container[key] = [value]
            elif change == "mentions null" and isinstance(value, str):
                container[key] = value + " null"
            else:
                continue
            texts.append(json.dumps(changed))
    whole = json.dumps(resource)
    for key in resource:
        if key != "resourceType":
            texts.append(whole[:-1] + ", " + json.dumps({key: None})[1:-1] + "}")
            texts.append("{" + json.dumps({key: None})[1:-1] + ", " + whole[1:])
    return texts


EXTRA_VIEWS = {
    "shapes": patient_view(
        col("id", "id"),
        col("active", "active"),
        col("gender", "gender"),
        col("family", "name.family.first()"),
        col("given", "name.given", collection=True),
        col("names", "name.count()"),
        col("has_telecom", "telecom.exists()"),
        col("tel", "telecom.value.join(',')"),
        col("code", "maritalStatus.coding[0].code"),
        col("codes", "maritalStatus.coding.code", collection=True),
        col("official", "name.where(use = 'official').family.first()"),
        col("name", "name.first()"),
    ),
    "each": {
        "resource": "Patient",
        "select": [
            {"column": [col("id", "id")]},
            {
                "forEachOrNull": "telecom",
                "column": [col("i", "%rowIndex"), col("v", "value"), col("s", "system")],
            },
            {"forEach": "address", "column": [col("city", "city"), col("pid", "%resource.id")]},
        ],
    },
    "items_whole": {
        "resource": "Patient",
        "select": [{"forEach": "name", "column": [col("n", "$this"), col("family", "family")]}],
    },
}


@pytest.fixture(scope="module")
def engine() -> Any:
    with DuckDBEngine(threads=2) as eng:
        yield eng


def _rows_or_error(engine: DuckDBEngine, view: dict[str, Any], text: str, typed: bool) -> list[str]:
    try:
        return rows(engine, view, [text], typed)
    except Exception as exc:
        message = str(exc)
        return [message[message.find("medlake view") :].splitlines()[0]]


@pytest.mark.parametrize("name", [*sorted(load_library()), *EXTRA_VIEWS])
def test_rows_are_those_of_the_json_reading(
    engine: DuckDBEngine, synthea_bulk: list[dict[str, Any]], synthea_bundles: list[dict[str, Any]], name: str
) -> None:
    view = EXTRA_VIEWS.get(name) or load_library()[name]
    examples = [r for r in synthea_bulk + synthea_bundles if r["resourceType"] == view["resource"]][:2]
    if view["resource"] == "Patient":
        examples.append(PATIENT)
    if view["resource"] in MISSING_FROM_SYNTHEA:
        examples.append(MISSING_FROM_SYNTHEA[view["resource"]])
    texts = [t for example in examples for t in variants(example)]
    assert texts, f"no {view['resource']} to vary"
    try:
        expected = rows(engine, view, texts, typed=False)
    except Exception:  # the data breaks the view (several values in a column): one at a time
        expected = sorted(r for t in texts for r in _rows_or_error(engine, view, t, typed=False))
        assert sorted(r for t in texts for r in _rows_or_error(engine, view, t, typed=True)) == expected
        return
    assert rows(engine, view, texts) == expected
