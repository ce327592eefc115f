"""medlake's view library in the form fhir4ds 0.5.1 can run: what had to change, and why.

fhir4ds accepts standard SQL-on-FHIR v2 ViewDefinitions, but its generator is pattern based.
Run column by column over the synthetic region (each column alone in a one-column view), the
library's views fail on:

* ``a.b.c.first()`` across repeating elements (e.g. ``code.coding.code.first()``): the SQL
  refers to a CTE ``first_result_N`` it never emits (DuckDB CatalogException). The FHIRPath
  indexer form ``code.coding[0].code`` runs and gives the same value whenever the first
  coding carries the element, as every coding of the synthetic region does;
* ``count()``: same missing-CTE error (``count_result_N``); no equivalent, column dropped;
* ``iif(...)`` and ``where()`` inside ``forEach``: malformed SQL (ParserException). The
  patient name columns become the first name's (the region's names are all ``official``);
  ``observation_component.loinc_code`` is dropped;
* ``where(system = '...')`` outside ``forEach`` *runs* but yields NULL for every row (it
  compiles to a JSONPath with the FHIRPath text inside): those columns are kept as they are,
  since they cost the same work, and the agreement check reports them as empty.

Everything else is passed through unchanged, so the work per view stays comparable.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from medlake.views.library import load_library

#: (view, column) → the path fhir4ds can run with the same meaning on this data.
REWRITES: dict[tuple[str, str], str] = {
    ("claim", "type_code"): "type.coding[0].code",
    ("claim", "insurer_display"): "insurance[0].coverage.display",
    ("condition", "clinical_status"): "clinicalStatus.coding[0].code",
    ("condition", "verification_status"): "verificationStatus.coding[0].code",
    ("condition", "category"): "category[0].coding[0].code",
    ("condition", "code"): "code.coding[0].code",
    ("condition", "code_system"): "code.coding[0].system",
    ("condition", "code_display"): "code.coding[0].display",
    ("encounter", "type_code"): "type[0].coding[0].code",
    ("encounter", "type_system"): "type[0].coding[0].system",
    ("encounter", "type_display"): "type[0].coding[0].display",
    ("encounter", "reason_code"): "reasonCode[0].coding[0].code",
    ("encounter", "reason_display"): "reasonCode[0].coding[0].display",
    ("encounter", "discharge_disposition"): "hospitalization.dischargeDisposition.coding[0].code",
    ("encounter", "practitioner_reference"): "participant[0].individual.reference",
    ("encounter", "location_reference"): "location[0].location.reference",
    ("explanation_of_benefit", "type_code"): "type.coding[0].code",
    ("explanation_of_benefit", "currency"): "total[0].amount.currency",
    ("immunization", "vaccine_code"): "vaccineCode.coding[0].code",
    ("immunization", "vaccine_system"): "vaccineCode.coding[0].system",
    ("immunization", "vaccine_display"): "vaccineCode.coding[0].display",
    ("medication_request", "reason_code"): "reasonCode[0].coding[0].code",
    ("medication_request", "frequency"): "dosageInstruction[0].timing.repeat.frequency",
    ("medication_request", "period"): "dosageInstruction[0].timing.repeat.period",
    ("medication_request", "period_unit"): "dosageInstruction[0].timing.repeat.periodUnit",
    ("observation", "category"): "category[0].coding[0].code",
    ("observation", "code"): "code.coding[0].code",
    ("observation", "code_system"): "code.coding[0].system",
    ("observation", "code_display"): "code.coding[0].display",
    ("observation", "interpretation"): "interpretation[0].coding[0].code",
    ("observation_component", "observation_code"): "code.coding[0].code",
    ("patient", "family_name"): "name[0].family",
    ("patient", "given_name"): "name[0].given[0]",
    ("patient", "marital_status"): "maritalStatus.coding[0].code",
    ("patient", "language"): "communication[0].language.coding[0].code",
    ("procedure", "code"): "code.coding[0].code",
    ("procedure", "code_system"): "code.coding[0].system",
    ("procedure", "code_display"): "code.coding[0].display",
    ("procedure", "reason_code"): "reasonCode[0].coding[0].code",
    ("person_record", "given"): "name[0].given[0]",
    ("person_record", "family"): "name[0].family",
    ("person_record", "address_line"): "address[0].line[0]",
    ("person_record", "city"): "address[0].city",
    ("person_record", "postcode"): "address[0].postalCode",
    ("person_record", "state"): "address[0].state",
    ("person_record", "phone"): "telecom[0].value",
}

#: (view, column) → why fhir4ds cannot compute it at all.
DROPPED: dict[tuple[str, str], str] = {
    ("claim", "item_count"): "count() compiles to a missing CTE",
    ("observation", "component_count"): "count() compiles to a missing CTE",
    ("explanation_of_benefit", "total_submitted"): "where() on a non-primitive compiles to invalid SQL",
    ("explanation_of_benefit", "total_benefit"): "where() on a non-primitive compiles to invalid SQL",
    ("observation_component", "loinc_code"): "where() inside forEach compiles to invalid SQL",
    ("person_record", "national_id"): "where() with a quoted literal compiles to invalid SQL",
}


@dataclass(frozen=True)
class Adapted:
    views: list[dict]
    rewritten: int
    dropped: int
    unchanged: int


def fhir4ds_views() -> Adapted:
    """The library with :data:`REWRITES` applied and :data:`DROPPED` removed.

    Raises ValueError when either table names a column the library does not have (the library
    changed): a stale adaptation would silently measure fhir4ds on less work.
    """
    library = load_library()
    seen: set[tuple[str, str]] = set()
    unchanged = 0
    views = []
    for name, original in library.items():
        view = copy.deepcopy(original)
        for select in _selects(view["select"]):
            kept = []
            for column in select.get("column", []):
                key = (name, column["name"])
                seen.add(key)
                if key in DROPPED:
                    continue
                if key in REWRITES:
                    column["path"] = REWRITES[key]
                else:
                    unchanged += 1
                kept.append(column)
            if "column" in select:
                select["column"] = kept
        views.append(view)
    unknown = (set(REWRITES) | set(DROPPED)) - seen
    if unknown:
        raise ValueError(
            f"fhir4ds adaptations name columns the view library does not have: {sorted(unknown)}"
        )
    return Adapted(views, rewritten=len(REWRITES), dropped=len(DROPPED), unchanged=unchanged)


def _selects(selects: list[dict]) -> list[dict]:
    found = []
    for select in selects:
        found.append(select)
        found.extend(_selects(select.get("select", [])))
        for branch in select.get("unionAll", []):
            found.extend(_selects([branch]))
    return found
