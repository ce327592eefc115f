"""The index on both catalog backends, fed straight from labelled synthetic person records.

The warehouse table ``person_record`` is written directly (FHIR ingest is tested elsewhere), so
the same scenario runs quickly on SQLite and on the real PostgreSQL server: a full run, late
records linked incrementally, a clerk's decision, a split, and the audit trail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from medlake.lake.tables import Layer
from medlake.mpi import MasterPatientIndex
from medlake.synth.linkage import generate_person_records
from medlake.workspace import Workspace
from tests.conftest import pairs_of

COLUMNS = {
    "id": "record_id", "institution": "source", "given": "given", "family": "family",
    "birth_date": "birth_date", "sex": "sex", "address_line": "address", "city": "city",
    "postcode": "postcode", "state": "state", "phone": "phone", "national_id": "identifier",
}  # fmt: skip


def write_person_record(ws: Workspace, frame: pd.DataFrame, mode: str) -> None:
    table = pa.table(
        {
            column: pa.array(
                frame[field].astype(object).where(frame[field].notna(), None).tolist(), pa.string()
            )
            for column, field in COLUMNS.items()
        }
    )
    ws.lake.write(ws.lake.uri(Layer.WAREHOUSE, "person_record"), table, mode=mode)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ws(request, make_workspace) -> Workspace:
    if request.param == "sqlite":
        return make_workspace()
    return make_workspace(catalog_url=request.getfixturevalue("postgres_url"))


@pytest.mark.slow
def test_full_incremental_decisions_and_history(ws: Workspace) -> None:
    population = generate_person_records(3000, seed=5)
    population["record_id"] = population["source"] + "." + population["record_id"]
    truth = population.set_index("record_id")["person_id"].astype(str)
    late = population.sample(60, random_state=1)
    write_person_record(ws, population.drop(late.index), "overwrite")
    mpi = MasterPatientIndex(ws)

    first = mpi.run()
    assert first.mode == "full" and first.records == 2940
    before = ws.table("warehouse.person_link").to_pandas().set_index("patient_id")["person_id"]

    write_person_record(ws, late, "append")
    second = mpi.run()
    assert (second.mode, second.new, second.changed) == ("incremental", 60, 0)
    after = ws.table("warehouse.person_link").to_pandas().set_index("patient_id")["person_id"]
    assert all(mpi.resolve(before[p]) == after[p] for p in before.index), "existing ids are kept"
    predicted, true = pairs_of(after), pairs_of(truth)
    assert len(predicted & true) / len(predicted) >= 0.98
    assert len(predicted & true) / len(true) >= 0.95
    late_true = {pair for pair in true if set(pair) & set(late["record_id"])}
    assert len(late_true & predicted) >= 0.9 * len(late_true), "late records joined their persons"

    idle = mpi.run()
    assert (idle.new, idle.changed, idle.created, idle.merged) == (0, 0, 0, 0)
    assert idle.version == second.version, "a run that changes nothing does not rewrite person_link"

    item = mpi.review_queue()[0]
    mpi.accept(item.id, actor="steward", note="checked")
    assert mpi.person_of(item.patient_l) == mpi.person_of(item.patient_r)
    person = mpi.person_of(item.patient_l)
    new_id = mpi.split(item.patient_r, actor="steward")
    assert mpi.person_of(item.patient_r) == new_id != person
    third = mpi.run(full=True)
    assert third.mode == "full"
    assert mpi.person_of(item.patient_r) != mpi.person_of(item.patient_l), "the split holds on a full run"

    # Rows written by the bulk path read back like any other: aware UTC timestamps, JSON details.
    started = datetime.now(UTC) - timedelta(hours=1)
    events = mpi.history()
    assert all(started < e.at <= datetime.now(UTC) for e in events)
    assert all(isinstance(e.details, dict) for e in events if e.kind == "create")
    assert all(started < created <= datetime.now(UTC) for _, _, created in mpi.store.persons().values())
    kinds = [e.kind for e in mpi.history(patient_id=item.patient_r)]
    assert {"review_accept", "split"} <= set(kinds)
    assert "merge" in {e.kind for e in mpi.history(person_id=person)}
    assert all(e.actor == "steward" for e in mpi.history() if e.kind == "review_accept")
    assert any(e.kind == "split" and e.actor == "steward" for e in mpi.history(patient_id=item.patient_r))
    links = ws.table("warehouse.person_link").to_pandas()
    assert dict(zip(links["patient_id"], links["person_id"], strict=True)) == {
        pid: m.person_id for pid, m in mpi.store.members().items()
    }
