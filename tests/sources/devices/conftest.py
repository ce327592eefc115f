"""Fixtures for device-stream tests: the real Mosquitto on loopback, a registry, unique topics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from medlake.ingest import ingest_path
from medlake.sources.devices.broker import discard_session
from medlake.synth.devices import Bedside, bedsides, write_registry
from medlake.workspace import Workspace
from tests.conftest import server_up

BROKER = "mqtt://127.0.0.1:1883"
INSTITUTION = "icu"


@pytest.fixture
def broker() -> str:
    if not server_up(1883):
        pytest.fail(
            "Mosquitto is not running on 127.0.0.1:1883 "
            "(start it: mosquitto -d -c /etc/mosquitto/mosquitto.conf)"
        )
    return BROKER


@pytest.fixture
def topic_prefix() -> str:
    """Topics of this test alone: the broker is shared with every other test and engineer."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client_ids(broker: str) -> Iterator[list[str]]:
    """Client ids whose persistent sessions the broker must forget after the test."""
    ids: list[str] = []
    yield ids
    for client_id in ids:
        discard_session(broker, client_id)


@pytest.fixture
def beds() -> list[Bedside]:
    return bedsides(4, deteriorate=0.5, seed=3)


@pytest.fixture
def registered(workspace: Workspace, beds: list[Bedside], tmp_path: Path) -> Path:
    """The monitors' Device resources, ingested for the institution as any FHIR delivery would be."""
    path = write_registry(beds, tmp_path / "devices.ndjson")
    [report] = ingest_path(workspace, path, INSTITUTION)
    assert report.stored == len(beds)
    return path
