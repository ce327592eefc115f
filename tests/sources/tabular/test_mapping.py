"""The mapping engine: loading (with errors that point at the place), typed conversion, codes, units."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from medlake.fhir.validation import validate
from medlake.sources.tabular.mapping import MappingError, load_mapping, parse_mapping, shipped_mappings
from medlake.sources.tabular.strict_yaml import MappingSyntaxError, load_yaml
from medlake.synth.his import catalogue

LABS = """
name: test-labs
timezone: Europe/Berlin
codes:
  tests:
    system: http://loinc.org
    local_system: http://lab.example.org/test
    map:
      GLU: {code: 14749-6, display: Glucose, unit: mmol/L, convert: {mg/dL: 0.0555}, decimals: 1}
      WT: {code: 29463-7, display: Body weight}
      NO: {code: "0000-1"}
units: {mg/dl: mg/dL, mmol/l: mmol/L, lbs: "[lb_av]", kg: kg}
conversions:
  - {from: "[lb_av]", to: kg, factor: 0.45359237}
tables:
  labs:
    columns:
      id: {type: integer, required: true}
      patient: {required: true}
      test: {type: code, table: tests, required: true}
      value: {type: decimal, comparator: true}
      unit: {}
      taken: {type: datetime, format: "%d/%m/%Y %H:%M"}
      born: {type: date, format: "%d/%m/%Y"}
      fasting: {type: boolean}
    resources:
      - resourceType: Observation
        id: "obs-{id}"
        status: final
        code: {$concept: "{test}", text: "test {test}"}
        subject: {reference: "Patient/{patient}"}
        effectiveDateTime: "{taken}"
        valueQuantity: {$quantity: {value: "{value}", unit: "{unit}", analyte: "{test}", to: kg}}
        identifier: [{value: "{id}"}]
        note: [{text: "fasting: {fasting}"}]
      - resourceType: Patient
        $when: born
        id: "{patient}"
        birthDate: "{born}"
"""


@pytest.fixture(scope="module")
def labs():
    return parse_mapping(load_yaml(LABS), "labs.yaml").table()


def row(**cells: object) -> dict:
    return {"id": "7", "patient": "p1", "test": "GLU", "value": "95", "unit": "mg/dl"} | cells


def resources(table, **cells: object) -> list[dict]:
    made = table.resources_for(row(**cells))
    for resource in made:
        validate(resource)
    return made


def convert_error(table, **cells: object) -> str:
    [record] = table.records(row(**cells), "labs.csv", 3, b"original row")
    assert record.error is not None and record.error_stage == "convert" and record.text == b"original row"
    return record.error


def test_yaml_keeps_codes_as_text_and_refuses_repeated_keys() -> None:
    data = load_yaml("a: NO\nb: 007\nc: 2024-01-31\nd: true\ne: 12\nf: 0.5\ng: ~\n")
    assert data == {"a": "NO", "b": "007", "c": "2024-01-31", "d": True, "e": 12, "f": 0.5, "g": None}
    with pytest.raises(MappingSyntaxError, match=r"line 2: key 'GLU' appears twice"):
        load_yaml("GLU: 1\nGLU: 2\n")


def test_a_row_becomes_valid_resources_with_codes_and_converted_units(labs) -> None:
    observation, patient = resources(
        labs, value="95", unit="mg/dl", taken="01/02/2024 08:30", born="03/04/1950"
    )
    assert observation["id"] == "obs-7" and observation["subject"] == {"reference": "Patient/p1"}
    assert observation["identifier"] == [{"value": "7"}], "an integer column in a FHIR string renders as text"
    glucose = labs.columns["test"].codes.lookup("GLU")
    assert observation["code"]["coding"] == [
        {"system": "http://loinc.org", "code": glucose.code, "display": glucose.display},
        {"system": "http://lab.example.org/test", "code": "GLU"},
    ]
    assert observation["code"]["text"] == f"test {glucose.code}"
    expected = (Decimal("95") * glucose.convert["mg/dL"]).quantize(Decimal("0.1"))
    assert observation["valueQuantity"] == {
        "value": float(expected),
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    }
    assert observation["effectiveDateTime"] == "2024-02-01T08:30:00+01:00", (
        "local time gets the mapping's zone"
    )
    assert patient == {"resourceType": "Patient", "id": "p1", "birthDate": "1950-04-03"}


def test_generic_conversions_comparators_and_empty_elements(labs) -> None:
    [observation] = resources(labs, test="WT", value="165", unit="lbs", fasting="")
    factor = labs.units.conversions[("[lb_av]", "kg")]
    assert observation["valueQuantity"]["value"] == float((Decimal(165) * factor).quantize(Decimal("0.01")))
    assert observation["valueQuantity"]["code"] == "kg"
    assert "note" not in observation and "effectiveDateTime" not in observation, (
        "empty cells leave elements out"
    )
    [observation] = resources(labs, value="<2", unit="mmol/l")
    assert observation["valueQuantity"]["comparator"] == "<" and observation["valueQuantity"]["value"] == 2
    [observation] = resources(labs, test="NO", value="", unit="")
    assert "valueQuantity" not in observation and observation["code"]["coding"][0]["code"] == "0000-1"


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"born": "31/02/1980"}, "column 'born': '31/02/1980' is not a date in format %d/%m/%Y"),
        (
            {"taken": "2024-02-01"},
            "column 'taken': '2024-02-01' is not a date and time in format %d/%m/%Y %H:%M",
        ),
        ({"value": "high"}, "column 'value': 'high' is not a number"),
        ({"id": "7.5"}, "column 'id': '7.5' is not an integer"),
        ({"fasting": "maybe"}, "column 'fasting': 'maybe' is not a boolean"),
        ({"test": "TSH"}, "column 'test': 'TSH' is not in code table 'tests'"),
        ({"patient": " "}, "column 'patient': empty, but required"),
        ({"unit": "mg%"}, "column 'unit': unit 'mg%' is not known"),
        ({"unit": "kg"}, "column 'unit': no conversion from kg to mmol/L for 'GLU'"),
        ({"unit": ""}, "column 'unit': empty, but the value 95 needs a unit"),
        ({"patient": "p/1", "born": "01/01/1950"}, "id 'p/1' (from '{patient}') is not a FHIR id"),
    ],
)
def test_rows_that_do_not_convert_name_the_column_and_reason(labs, cells, reason) -> None:
    assert reason in convert_error(labs, **cells)


def test_every_bad_column_of_a_row_is_reported_at_once(labs) -> None:
    error = convert_error(labs, born="x", value="y")
    assert "column 'value'" in error and "column 'born'" in error


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('subject: {reference: "Patient/{patient}"}', 'subject: {reference: "Patient/{patiant}"}'),
            "uses {patiant}, which is not a declared column",
        ),
        (("effectiveDateTime:", "effectivedatetime:"), "Observation has no element 'effectivedatetime'"),
        (('identifier: [{value: "{id}"}]', 'identifier: {value: "{id}"}'), "identifier: a list in FHIR"),
        (("timezone: Europe/Berlin\n", ""), "a datetime column needs a time zone"),
        (("table: tests, required", "table: test, required"), "no code table 'test'"),
        (
            ("    resources:", "    colums: {}\n    resources:"),
            "tables.labs.colums: unknown key (known: columns, csv",
        ),
        (
            ("display: Glucose,", "dispaly: Glucose,"),
            "codes.tests.map.GLU.dispaly: unknown key (known: code, convert",
        ),
        (
            ("fasting: {type: boolean}", "fasting: {type: bolean}"),
            "tables.labs.columns.fasting.type: input should",
        ),
        (
            ("id: {type: integer, required: true}", "id: {type: integer, required: yes}"),
            "required: input should be a",
        ),
        (
            ("factor: 0.45359237", "factor: -2"),
            "conversions[0].factor: a conversion factor must be a positive number",
        ),
        (("name: test-labs\n", ""), "mapping: 'name' is required"),
        (("resourceType: Patient", "resourceType: Patients"), "'Patients' is not an R4 resource type"),
        (("status: final", 'status: {$concept: "{test}"}'), "FHIR expects a text here, not an object"),
        (
            ("value: {type: decimal, comparator: true}", "value: {}"),
            "column 'value' must be of type decimal or integer",
        ),
    ],
)
def test_mapping_mistakes_fail_at_load_with_their_place(tmp_path, change, message) -> None:
    old, new = change
    assert old in LABS
    path = tmp_path / "labs.yaml"
    path.write_text(LABS.replace(old, new, 1))
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_shipped_mappings_load_and_cover_the_demo_catalogues() -> None:
    shipped = shipped_mappings()
    assert {"his-demo", "region-patients", "region-lab-results"} <= set(shipped)
    for name in shipped:
        assert load_mapping(name).tables
    his = load_mapping("his-demo")
    lab_codes = his.tables["lab_results"].columns["test_code"].codes
    units = his.tables["lab_results"].units
    for test in catalogue.LAB_TESTS:
        entry = lab_codes.lookup(test.code)
        assert entry is not None, f"lab test {test.code} has no code table entry"
        for spelling in test.units:  # every unit the analysers print converts to the entry's unit
            units.factor(units.ucum(spelling), entry.unit, entry)
    tables = {
        "diag_code": (his.tables["diagnoses"], catalogue.DIAGNOSES),
        "drug_code": (his.tables["prescriptions"], [d.code for d in catalogue.FORMULARY]),
        "route": (his.tables["prescriptions"], {d.route for d in catalogue.FORMULARY}),
        "visit_type": (his.tables["visits"], catalogue.VISIT_TYPES),
        "abnormal_flag": (his.tables["lab_results"], catalogue.FLAGS),
    }
    for column, (table, codes) in tables.items():
        missing = [c for c in codes if table.columns[column].codes.lookup(c) is None]
        assert not missing, f"{column}: {missing} have no entry"
    diagnoses = his.tables["diagnoses"].columns["diag_code"].codes
    assert all(diagnoses.lookup(local).code == icd for local, (icd, _) in catalogue.DIAGNOSES.items())
    for drug in catalogue.FORMULARY:
        assert his.tables["prescriptions"].units.ucum(drug.unit)


def test_records_are_json_and_deterministic(labs) -> None:
    first = labs.records(row(), "f", 1, b"")
    second = labs.records(row(), "f", 1, b"")
    assert [r.text for r in first] == [r.text for r in second]
    assert orjson.loads(first[0].text)["resourceType"] == "Observation"
