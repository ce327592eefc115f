"""Fixtures for the view tests: an engine, and Synthea resources read from ../shared/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.views import run_view
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def engine() -> Iterator[DuckDBEngine]:
    with DuckDBEngine(threads=2) as eng:
        yield eng  # type: ignore[misc]


@pytest.fixture
def run(engine: DuckDBEngine):
    """``run(view, resources)`` → rows as dicts."""

    def run_rows(view: dict[str, Any], resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        table: pa.Table = run_view(engine, view, resources)
        return table.to_pylist()

    return run_rows


def _read_ndjson(folder: Path) -> list[dict[str, Any]]:
    resources = []
    for file in sorted(folder.glob("*.ndjson")):
        with file.open(encoding="utf-8") as lines:
            resources.extend(json.loads(line) for line in lines if line.strip())
    return resources


def _resolve_references(node: Any, targets: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in targets:
                node[key] = targets[value]
            else:
                _resolve_references(value, targets)
    elif isinstance(node, list):
        for item in node:
            _resolve_references(item, targets)


def _bundle_resources(folder: Path) -> list[dict[str, Any]]:
    """Resources of Synthea transaction bundles, with ``urn:uuid:`` references resolved to
    ``Type/id`` as the ingest pipeline does, so reference keys join."""
    resources = []
    for file in sorted(folder.glob("*.json")):
        bundle = json.loads(file.read_text(encoding="utf-8"))
        entries = bundle.get("entry") or []
        targets = {
            e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in entries
            if "fullUrl" in e and "id" in e.get("resource", {})
        }
        for entry in entries:
            _resolve_references(entry["resource"], targets)
            resources.append(entry["resource"])
    return resources


@pytest.fixture(scope="session")
def synthea_bulk() -> list[dict[str, Any]]:
    return _read_ndjson(shared_path("reference/synthea-bulk-10-patients"))


@pytest.fixture(scope="session")
def synthea_bundles() -> list[dict[str, Any]]:
    return _bundle_resources(shared_path("reference/synthea-bundles"))
