"""Reading expectations straight from FHIR resources, for the view library's tests: each view's
rows are compared with what plain Python finds in the same resources."""

from __future__ import annotations

from typing import Any

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.views import run_view
from medlake.views.library import library_view


def rows_of(engine: DuckDBEngine, table: str, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the library view ``table`` gives for ``resources``."""
    return run_view(engine, library_view(table), resources).to_pylist()


def by_id(resources: list[dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in resources if r["resourceType"] == resource_type}


def first_code(concept: dict[str, Any] | None, system: str | None = None) -> str | None:
    """The first code of a CodeableConcept (of ``system``, if given), as a view's ``.first()`` reads it."""
    for coding in (concept or {}).get("coding", []):
        if system is None or coding.get("system") == system:
            return coding.get("code")
    return None
