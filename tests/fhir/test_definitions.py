"""The R4 definitions validation ships: an extract of the specification's own package, not a list."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from fhirclient.models.attachment import Attachment

from medlake.fhir.definitions import SHIPPED, definitions, extract, render, required_codes, type_pattern
from medlake.fhir.primitives import element_rules
from medlake.fhir.validation import resource_classes


def test_the_shipped_extract_is_exactly_what_the_package_gives() -> None:
    """Re-extracted from ``hl7.fhir.r4.examples`` 4.0.1 (19 MB from npm, 190 MB unpacked: not for
    every run). ``python -m medlake.fhir.definitions`` writes it; point MEDLAKE_R4_PACKAGE at the
    unpacked ``package`` folder to compare."""
    folder = os.environ.get("MEDLAKE_R4_PACKAGE")
    if not folder:
        pytest.skip("set MEDLAKE_R4_PACKAGE to an unpacked hl7.fhir.r4.examples@4.0.1 package folder")
    assert render(extract(Path(folder))) == SHIPPED.read_text(encoding="utf-8")


def test_required_bindings_hold_the_value_sets_codes() -> None:
    url, codes = required_codes("Patient.gender")  # type: ignore[misc]
    assert url == "http://hl7.org/fhir/ValueSet/administrative-gender"
    assert codes == {"male", "female", "other", "unknown"}
    url, codes = required_codes("Observation.status")  # type: ignore[misc]
    assert {"registered", "preliminary", "final", "amended", "entered-in-error", "unknown"} <= codes
    assert required_codes("Coding.code") is None, "an unbound code takes any code"
    assert "Attachment.contentType" in definitions()["not_enumerable"], "MIME types are not enumerable"


def test_primitive_patterns_are_r4s_and_compile() -> None:
    assert type_pattern("id") == r"[A-Za-z0-9\-\.]{1,64}"
    compiled = {name: re.compile(pattern) for name, pattern in definitions()["patterns"].items()}
    assert compiled["positiveInt"].fullmatch("0") is None and compiled["positiveInt"].fullmatch("7")


def test_elements_get_their_r4_type_and_binding() -> None:
    patient = element_rules(resource_classes()["Patient"])
    assert patient["id"].fhir_type == "id", "Resource.id is an id, whatever its machine form says"
    assert patient["gender"].codes == {"male", "female", "other", "unknown"}
    assert patient["multipleBirthInteger"].bounds == (-(2**31), 2**31 - 1)
    attachment = element_rules(Attachment)
    assert attachment["size"].fhir_type == "unsignedInt" and attachment["size"].bounds == (0, 2**31 - 1)
