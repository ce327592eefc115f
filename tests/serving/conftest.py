"""A workspace holding the shared Synthea bulk export, built and indexed once per test session.

The expected answers of the search tests are computed from the NDJSON files themselves, with
plain Python over the JSON, never from the index under test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from medlake.api import Workspace, init_workspace
from medlake.serving import ServingIndex
from tests.conftest import shared_path

SYNTHEA = "reference/synthea-bulk-10-patients"
INSTITUTION = "synthea"


@dataclass(frozen=True)
class Scope:
    """An access scope as medlake.access.policy.AccessScope has it (patients, institutions)."""

    resource_type: str = ""
    patients: frozenset[str] | None = None
    institutions: frozenset[str] | None = None


EVERYTHING = Scope()


def records(folder: Path, resource_type: str) -> list[dict]:
    """Every resource of ``resource_type`` in the export, as sent."""
    rows: list[dict] = []
    for path in sorted(folder.glob(f"{resource_type}.*.ndjson")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


@pytest.fixture(scope="session")
def synthea_folder() -> Path:
    return shared_path(SYNTHEA)


@pytest.fixture(scope="session")
def synthea_workspace(synthea_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = init_workspace(tmp_path_factory.mktemp("synthea") / "ws", ingest_workers=1)
    ws.ingest(synthea_folder, INSTITUTION)
    ws.build()
    return ws


@pytest.fixture(scope="session")
def synthea_index(synthea_workspace: Workspace) -> ServingIndex:
    index = ServingIndex(synthea_workspace)
    index.refresh()
    return index


@dataclass(frozen=True)
class Region:
    """The demo region, linked and indexed, with two institutions and persons to play roles."""

    ws: Workspace
    index: ServingIndex
    home: str  # an institution
    away: str  # another institution
    person: str  # a global person with a Patient at ``home``
    other: str  # another person with a Patient at ``home``
    patients: dict[str, list[str]]  # person -> their integrated Patient ids


@pytest.fixture(scope="session")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    from medlake.mpi import MasterPatientIndex
    from tests.conftest import built_region

    ws, _ = built_region(tmp_path_factory.mktemp("served_region"), residents=20, seed=7)
    MasterPatientIndex(ws).run()
    ws = Workspace(ws.settings)
    index = ServingIndex(ws)
    index.refresh()
    patients: dict[str, list[str]] = {}
    by_institution: dict[str, list[str]] = {}
    for row in ws.table("warehouse.person_link").to_pylist():
        patient = (
            row["patient_id"] if "." in row["patient_id"] else f"{row['institution']}.{row['patient_id']}"
        )
        patients.setdefault(row["person_id"], []).append(patient)
        by_institution.setdefault(row["institution"], []).append(row["person_id"])
    from collections import Counter

    encounters = Counter(ws.table("integrated.Encounter", ["institution"])["institution"].to_pylist())
    home, away = [i for i, _ in encounters.most_common(2)]  # institutions with clinical activity
    person, other = sorted(set(by_institution[home]))[:2]
    return Region(ws, index, home, away, person, other, patients)
