"""Invalid views fail at compile time with a message naming the problem; data that breaks a
view's rules fails at run time with ViewEvaluationError."""

from __future__ import annotations

from typing import Any

import pytest

from medlake.views import ViewDefinitionError, ViewEvaluationError, compile_view


def patient_view(*columns: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"resource": "Patient", "select": [{"column": list(columns)}], **extra}


def col(path: str, name: str = "v", **extra: Any) -> dict[str, Any]:
    return {"name": name, "path": path, **extra}


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ([], "must be a JSON object"),
        ({}, "resource is required"),
        ({"resource": "Patient"}, "select is required"),
        ({"resource": "Patient", "select": []}, "select is required"),
        ({"resource": "Patient", "select": [{}]}, "no column, select or unionAll"),
        ({"resource": "Patiant", "select": [{"column": [col("id")]}]}, "not a FHIR R4 resource type"),
        (
            {"resourceType": "Library", "resource": "Patient", "select": [{"column": [col("id")]}]},
            "resourceType",
        ),
        (patient_view(col("id", name="1st")), "must start with a letter"),
        (patient_view(col("id", name="a"), col("gender", name="a")), "repeated: a"),
        (patient_view(col("id", colour="red")), "unknown keys: colour"),
        (patient_view(col("id", collection="yes")), "collection must be true or false"),
        (patient_view(col("id", type="Strng")), "unknown FHIR type 'Strng'"),
        (patient_view({"name": "v"}), "path must be a FHIRPath string"),
        (
            {"resource": "Patient", "select": [{"forEach": 1, "column": [col("id")]}]},
            "forEach must be a FHIRPath",
        ),
        (
            {
                "resource": "Patient",
                "select": [{"forEach": "name", "repeat": ["name"], "column": [col("id")]}],
            },
            "only one of forEach",
        ),
        ({"resource": "Patient", "select": [{"repeat": "item", "column": [col("id")]}]}, "non-empty list"),
        (patient_view(col("name.family.(")), "invalid FHIRPath"),
        (patient_view(col("@@")), "invalid FHIRPath"),
        (patient_view(col("name family")), "invalid FHIRPath"),
        (patient_view(col("name.frobnicate()")), "frobnicate() is not supported"),
        (patient_view(col("name.first(1)")), "first() takes 0..0 arguments"),
        (patient_view(col("name.where(use = %missing)")), "undefined constant %missing"),
        (patient_view(col("id"), constant=[{"name": "c"}]), "exactly one value"),
        (
            patient_view(col("id"), constant=[{"name": "c", "valueString": "a", "valueCode": "b"}]),
            "exactly one value",
        ),
        (patient_view(col("id"), constant=[{"name": "c", "valueInteger": "1"}]), "wrong JSON type"),
        (patient_view(col("id"), where=[{"path": "name.family"}]), "must return a boolean"),
        (patient_view(col("id"), where=[{"expression": "active"}]), "string 'path'"),
        (patient_view(col("deceased.ofType(Quantity)")), "cannot be a Quantity"),
        (patient_view(col("gender.family")), "primitive type"),
        (patient_view(col("gender + 1")), "supported on numbers only"),
        (patient_view(col("name.getReferenceKey()")), "needs a Reference"),
        (patient_view(col("managingOrganization.getReferenceKey(Banana)")), "not a resource type"),
        (
            {
                "resource": "Patient",
                "select": [
                    {"unionAll": [{"column": [col("id", name="a")]}, {"column": [col("id", name="b")]}]}
                ],
            },
            "same columns in the same order",
        ),
        (
            {
                "resource": "Patient",
                "select": [
                    {"unionAll": [{"column": [col("id", name="a")]}, {"column": [col("active", name="a")]}]}
                ],
            },
            "give both the same type",
        ),
    ],
)
def test_invalid_views_are_rejected_with_a_reason(view: Any, message: str) -> None:
    with pytest.raises(ViewDefinitionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_view(view)


def test_several_values_in_a_single_valued_column_fail_at_run_time(run) -> None:
    patient = {"resourceType": "Patient", "id": "p", "name": [{"family": "A"}, {"family": "B"}]}
    with pytest.raises(
        ViewEvaluationError, match=r"column family \(name.family\) produced more than one value"
    ):
        run(patient_view(col("name.family", name="family")), [patient])
    rows = run(patient_view(col("name.family", name="family", collection=True)), [patient])
    assert rows == [{"family": ["A", "B"]}]


def test_operators_on_collections_fail_at_run_time(run) -> None:
    patient = {"resourceType": "Patient", "id": "p", "name": [{"family": "A"}, {"family": "B"}]}
    with pytest.raises(ViewEvaluationError, match="more than one item"):
        run(patient_view(col("name.family.lower()")), [patient])


def test_unknown_elements_compile_with_a_warning_and_read_nothing(run) -> None:
    view = patient_view(col("id", name="id"), col("nmae.family.first()", name="family"))
    compiled = compile_view(view)
    assert any("Patient has no element 'nmae'" in w for w in compiled.warnings)
    assert run(view, [{"resourceType": "Patient", "id": "p", "name": [{"family": "A"}]}]) == [
        {"id": "p", "family": None}
    ]


def test_resources_must_be_resources(run) -> None:
    with pytest.raises(ValueError, match="resource #1 is not a FHIR resource"):
        run(patient_view(col("id")), [{"resourceType": "Patient", "id": "a"}, {"id": "b"}])
