"""Workspaces for the serving tests, each built once per session: the shared Synthea bulk export
(indexed), the demo region (linked and indexed), and a real uvicorn serving that region.

The expected answers of the search tests are computed from the NDJSON files themselves, with
plain Python over the JSON, never from the index under test.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from medlake.access import keys
from medlake.access.identity import add_user
from medlake.api import Workspace, init_workspace
from medlake.server import create_app
from medlake.serving import ServingIndex
from tests.conftest import server_up, shared_path

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


PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Served:
    url: str
    region: Region
    tokens: dict[str, str]  # user -> bearer token


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def served(region: Region) -> Iterator[Served]:
    ws = region.ws
    users = {
        "resident-a": dict(roles=["resident"], patient=region.person),
        "resident-b": dict(roles=["resident"], patient=region.other),
        "clinician-home": dict(roles=["clinician"], tenant=region.home),
        "clinician-away": dict(roles=["clinician"], tenant=region.away),
        "admin": dict(roles=["admin"]),
        "analyst": dict(roles=["analyst"]),
    }
    keys.rotate(ws.home)  # the token signing key (`medlake users rotate-key`)
    for name, grant in users.items():
        add_user(ws, name, password=PASSWORD, **grant)  # type: ignore[arg-type]
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ws), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server_up(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    tokens = {}
    for name in users:  # the real password grant, as a person's client signs in
        answer = httpx.post(
            f"{url}/auth/token", data={"grant_type": "password", "username": name, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        tokens[name] = answer.json()["access_token"]
    try:
        yield Served(url, region, tokens)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
