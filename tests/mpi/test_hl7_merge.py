"""An HL7 ADT^A40 merge written by others (../shared reference samples) reaches the person index.

The sample says which patient survives (PID) and which record was merged into it (MRG); after
ingest, build and an index run, both records must be one person, linked on the institution's
word (``source link``) and with the merge in the audit trail.
"""

from __future__ import annotations

import hl7
import pytest

from medlake.build.run import build_all
from medlake.mpi import MasterPatientIndex
from medlake.sources.hl7v2 import ingest_hl7_path, split_messages
from tests.conftest import shared_path
from tests.sources.hl7v2.conftest import SAMPLES, resources


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    from medlake.workspace import init_workspace

    folder = shared_path(SAMPLES)
    ws = init_workspace(tmp_path_factory.mktemp("a40") / "ws", ingest_workers=1)
    ingest_hl7_path(ws, folder, "samples")
    build_all(ws)
    return folder, ws, MasterPatientIndex(ws).run()


def test_the_survivor_and_the_merged_record_are_one_person(merged) -> None:
    folder, ws, report = merged
    [message] = [
        hl7.parse(c.text.decode("utf-8")) for c in split_messages((folder / "ADT-A40-01.hl7").read_bytes())
    ]
    survivor_mrn = str(message.segment("PID")[3][0][0][0])
    prior_mrn = str(message.segment("MRG")[1][0][0][0])

    def patient_with(mrn: str, linked: bool) -> str:
        [patient] = [
            p
            for p in resources(ws, "Patient")
            if any(i.get("value") == mrn for i in p.get("identifier", [])) and bool(p.get("link")) == linked
        ]
        return f"samples.{patient['id']}"

    survivor, prior = patient_with(survivor_mrn, True), patient_with(prior_mrn, True)
    assert report.source_links >= 2
    links = ws.table("warehouse.person_link").to_pandas().set_index("patient_id")
    assert links.loc[survivor, "person_id"] == links.loc[prior, "person_id"]
    assert {links.loc[survivor, "match_basis"], links.loc[prior, "match_basis"]} == {"source link"}
    person = links.loc[survivor, "person_id"]
    events = MasterPatientIndex(ws).history(person_id=person)
    assert any(e.kind == "create" and {survivor, prior} <= set(e.details["patient_ids"]) for e in events)


def test_too_few_records_for_a_model_still_link_on_what_needs_none(merged) -> None:
    """The samples hold a handful of patients: no model can be estimated, and the run says so."""
    _, ws, report = merged
    assert report.mode == "full" and report.model.startswith("not trained (EMTrainingException")
    assert report.persons < report.records, "the institution's merge still joined two records"
    again = MasterPatientIndex(ws).run()
    assert again.mode == "full", "without a stored model, the next run tries to train again"
