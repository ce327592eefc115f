"""The official SQL-on-FHIR v2 conformance suite, one pytest case per test (from ../shared/)."""

from __future__ import annotations

import pytest

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.views.conformance import ConformanceCase, load_cases, run_case, run_conformance
from tests.conftest import SHARED

SUITE = SHARED / "reference" / "sql-on-fhir-v2" / "tests"
CASES: list[ConformanceCase | None] = load_cases([SUITE]) if SUITE.is_dir() else [None]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file}::{c.name}" if c else "suite-absent" for c in CASES])
def test_conformance_case(case: ConformanceCase | None, engine: DuckDBEngine) -> None:
    if case is None:
        pytest.skip(f"the SQL-on-FHIR v2 suite {SUITE} is not present (it lives in ../shared/)")
    result = run_case(case, engine)
    assert result.passed, result.message


def test_runner_reports_every_test_of_the_suite() -> None:
    if not SUITE.is_dir():
        pytest.skip(f"the SQL-on-FHIR v2 suite {SUITE} is not present (it lives in ../shared/)")
    report = run_conformance([SUITE])
    assert len(report.results) == len(CASES)
    assert report.failed == 0, [f"{r.file}::{r.name}: {r.message}" for r in report.failures]
    assert report.summary() == f"{len(CASES)} passed, 0 failed"
