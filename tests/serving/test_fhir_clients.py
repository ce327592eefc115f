"""A FHIR client written by others reads and searches medlake: SMART on FHIR's ``fhirclient``.

It parses every answer into its R4 model classes, so a resource, a Bundle or a
CapabilityStatement that strays from R4 fails here, and it follows the server's ``next`` links
by itself.
"""

from __future__ import annotations

import pytest
from fhirclient import client
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.encounter import Encounter
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRNotFoundException

from tests.serving.conftest import Served


def fhir_client(served: Served, user: str) -> client.FHIRClient:
    smart = client.FHIRClient(settings={"app_id": "medlake-tests", "api_base": f"{served.url}/fhir/"})
    smart.server.session.headers["Authorization"] = f"Bearer {served.tokens[user]}"
    return smart


def test_fhirclient_reads_the_capability_statement(served: Served) -> None:
    smart = fhir_client(served, "clinician-home")
    statement = CapabilityStatement(smart.server.request_json("metadata"))
    types = {r.type for r in statement.rest[0].resource}
    assert {"Patient", "Observation", "Encounter"} <= types


def test_fhirclient_reads_and_searches(served: Served) -> None:
    region = served.region
    smart = fhir_client(served, "resident-a")
    mine = region.patients[region.person]
    patient = Patient.read(mine[0], smart.server)
    assert patient.id == mine[0] and patient.name
    # a search the client pages through itself (next links), parsed into Encounter models
    encounters = list(Encounter.where(struct={"_count": "2"}).perform_resources_iter(smart.server))
    assert encounters and all(e.subject.reference.split("/", 1)[1] in mine for e in encounters)
    assert len({e.id for e in encounters}) == len(encounters)
    first = next(Encounter.where(struct={"_count": "2"}).perform_iter(smart.server))
    assert first.total == len(encounters)
    # another person's Patient: the client sees a 404, as for an id that does not exist
    other = region.patients[region.other][0]
    with pytest.raises(FHIRNotFoundException):
        Patient.read(other, smart.server)
    assert next(Encounter.where(struct={"patient": other}).perform_iter(smart.server)).total == 0
