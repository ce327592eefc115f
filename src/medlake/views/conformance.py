"""Run the official SQL-on-FHIR v2 conformance suite against the view compiler.

Each test file holds ``resources`` and ``tests``; a test has a ``view`` and either
``expect`` (rows), ``expectColumns`` (column order) or ``expectError``. Rows are compared
as the reference runners do: order-insensitively, as JSON values (so ``5`` equals ``5.0``),
with arrays for collection columns. A test whose view fails to compile or run passes only
if it expects an error.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.errors import InputError, MissingInput
from medlake.views.compiler import CompiledView, compile_view
from medlake.views.runner import run_view


@dataclass(frozen=True)
class TestResult:
    file: str
    name: str
    passed: bool
    message: str = ""

    __test__ = False  # not a pytest test class


@dataclass
class ConformanceReport:
    results: list[TestResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    @property
    def failures(self) -> list[TestResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "failed": self.failed, "results": [asdict(r) for r in self.results]}


@dataclass(frozen=True)
class ConformanceCase:
    """One test of one file, with the fixtures it runs on."""

    file: str
    name: str
    test: dict[str, Any]
    resources: list[dict[str, Any]]

    __test__ = False


def test_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their ``*.json`` files, sorted; keep files as given."""
    files: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise MissingInput(f"no conformance test file or directory at {path}")
    return files


def load_cases(paths: Iterable[Path]) -> list[ConformanceCase]:
    cases = []
    for path in test_files(paths):
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path} is not a SQL-on-FHIR test file: {exc}") from None
        if not isinstance(suite, dict) or not isinstance(suite.get("tests"), list):
            raise InputError(f"{path} is not a SQL-on-FHIR test file (no 'tests' list)")
        resources = suite.get("resources") or []
        for test in suite["tests"]:
            cases.append(ConformanceCase(path.name, str(test.get("title", "?")), test, resources))
    return cases


def run_case(case: ConformanceCase, engine: DuckDBEngine) -> TestResult:
    test = case.test
    expects_error = bool(test.get("expectError"))
    try:
        compiled = compile_view(test["view"], engine.dialect)
        table = run_view(engine, compiled, case.resources)
    except Exception as exc:
        if expects_error:
            return TestResult(case.file, case.name, True, f"raised as expected: {exc}")
        return TestResult(case.file, case.name, False, f"{type(exc).__name__}: {exc}")
    if expects_error:
        return TestResult(case.file, case.name, False, "expected an error, but the view ran")
    rows = result_rows(compiled, table)
    if "expectColumns" in test and compiled.column_names != test["expectColumns"]:
        return TestResult(
            case.file,
            case.name,
            False,
            f"columns {compiled.column_names} != expected {test['expectColumns']}",
        )
    if "expect" in test:
        problem = compare_rows(rows, test["expect"])
        if problem:
            return TestResult(case.file, case.name, False, problem)
    return TestResult(case.file, case.name, True)


def run_conformance(paths: list[Path]) -> ConformanceReport:
    """Run every test in the given files (or directories of ``*.json`` files)."""
    report = ConformanceReport()
    with DuckDBEngine() as engine:
        for case in load_cases(paths):
            report.results.append(run_case(case, engine))  # type: ignore[arg-type]
    return report


def result_rows(compiled: CompiledView, table: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-like dicts: JSON columns parsed, so they compare as values."""
    json_columns = {c.name for c in compiled.columns if c.is_json}
    rows = table.to_pylist()
    for row in rows:
        for name in json_columns:
            value = row.get(name)
            if isinstance(value, str):
                row[name] = json.loads(value)
            elif isinstance(value, list):
                row[name] = [json.loads(v) if isinstance(v, str) else v for v in value]
    return rows


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _row_key(row: dict[str, Any]) -> str:
    return json.dumps(_canonical(row), sort_keys=True)


def compare_rows(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> str | None:
    """None when the rows match as multisets; otherwise a message showing the difference."""
    got, want = Counter(map(_row_key, actual)), Counter(map(_row_key, expected))
    if got == want:
        return None
    missing = list((want - got).elements())
    unexpected = list((got - want).elements())
    return (
        f"rows differ: {len(actual)} returned, {len(expected)} expected; "
        f"missing {missing[:5]}; unexpected {unexpected[:5]}"
    )
