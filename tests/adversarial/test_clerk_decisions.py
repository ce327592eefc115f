"""Clerk decisions are guarded: a pair is decided once, and changing a decision is an explicit,
recorded override.

Accepting a pair twice used to append a second ``review_accept`` event to the append-only
history, and a pair one clerk rejected was flipped to accepted by another with no warning.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from medlake.catalog.statuses import ReviewStatus
from medlake.cli import app
from medlake.errors import DecisionError
from medlake.lake.tables import Layer
from medlake.link.settings import LinkSettings
from medlake.mpi import MasterPatientIndex
from medlake.synth.linkage import generate_person_records
from medlake.workspace import Workspace, init_workspace, open_workspace

COLUMNS = {
    "id": "record_id", "institution": "source", "given": "given", "family": "family",
    "birth_date": "birth_date", "sex": "sex", "address_line": "address", "city": "city",
    "postcode": "postcode", "state": "state", "phone": "phone", "national_id": "identifier",
}  # fmt: skip

#: So strict that the model leaves many true pairs to a clerk.
STRICT = LinkSettings(match_threshold=0.99999, review_threshold=0.5)


def _queued(ws: Workspace) -> MasterPatientIndex:
    population = generate_person_records(600, seed=11)
    population["record_id"] = population["source"] + "." + population["record_id"]
    frame: pd.DataFrame = population
    table = pa.table(
        {
            column: pa.array(
                frame[name].astype(object).where(frame[name].notna(), None).tolist(), pa.string()
            )
            for column, name in COLUMNS.items()
        }
    )
    ws.lake.write(ws.lake.uri(Layer.WAREHOUSE, "person_record"), table, mode="overwrite")
    mpi = MasterPatientIndex(ws)
    mpi.run(STRICT, full=True)
    assert len(mpi.review_queue()) >= 3, "the strict thresholds left nothing for a clerk"
    return mpi


@pytest.fixture(scope="module")
def queued_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite workspace with a review queue, linked once; tests change copies of it."""
    home = tmp_path_factory.mktemp("decisions") / "ws"
    _queued(init_workspace(home, ingest_workers=1))
    return home


def _copy(queued_home: Path, tmp_path: Path) -> MasterPatientIndex:
    shutil.copytree(queued_home, tmp_path / "ws")
    return MasterPatientIndex(open_workspace(tmp_path / "ws"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mpi(request, queued_home: Path, tmp_path: Path, make_workspace) -> MasterPatientIndex:
    if request.param == "sqlite":
        return _copy(queued_home, tmp_path)
    return _queued(make_workspace(catalog_url=request.getfixturevalue("postgres_url")))


def _decisions(mpi: MasterPatientIndex, patient: str) -> list:
    return [e for e in mpi.history(patient_id=None) if e.kind in ("review_accept", "review_reject")
            and patient in (e.details or {}).get("patient_ids", [])]  # fmt: skip


def test_accepting_twice_is_refused_and_appends_no_second_event(mpi: MasterPatientIndex) -> None:
    item = mpi.review_queue()[0]
    mpi.accept(item.id, actor="anna")
    with pytest.raises(DecisionError, match="already accepted by anna"):
        mpi.accept(item.id, actor="anna")
    with pytest.raises(DecisionError, match="already accepted by anna"):
        mpi.accept(item.id, actor="ben", override="I agree")
    events = _decisions(mpi, item.patient_l)
    assert [(e.kind, e.actor) for e in events] == [("review_accept", "anna")]
    assert mpi.review_item(item.id).decided_by == "anna"


def test_a_rejected_pair_is_not_flipped_without_an_override(mpi: MasterPatientIndex) -> None:
    item = mpi.review_queue()[0]
    mpi.reject(item.id, actor="anna", note="different mothers' names")
    with pytest.raises(DecisionError, match=r"rejected by anna .*--override"):
        mpi.accept(item.id, actor="ben")
    assert mpi.review_item(item.id).status == ReviewStatus.REJECTED
    assert mpi.person_of(item.patient_l) != mpi.person_of(item.patient_r), "nothing was merged"
    with pytest.raises(DecisionError, match="needs a reason"):
        mpi.accept(item.id, actor="ben", override="  ")

    mpi.accept(item.id, actor="ben", override="birth certificate shows one child")
    decided = mpi.review_item(item.id)
    assert (decided.status, decided.decided_by) == (ReviewStatus.ACCEPTED, "ben")
    assert mpi.person_of(item.patient_l) == mpi.person_of(item.patient_r)
    events = _decisions(mpi, item.patient_l)
    assert [(e.kind, e.actor) for e in events] == [("review_reject", "anna"), ("review_accept", "ben")]
    override = events[-1].reason or ""
    assert "overrides rejected by anna" in override and "birth certificate shows one child" in override


def test_an_override_of_an_undecided_pair_is_refused(mpi: MasterPatientIndex) -> None:
    item = mpi.review_queue()[0]
    with pytest.raises(DecisionError, match="not decided"):
        mpi.reject(item.id, actor="ben", override="why not")
    assert mpi.review_item(item.id).status == ReviewStatus.PENDING


def _accept_in_a_process(home: str, review_id: int, actor: str, start, results) -> None:
    mpi = MasterPatientIndex(open_workspace(home))
    start.wait()
    try:
        mpi.accept(review_id, actor=actor)
        results.put((actor, "accepted"))
    except DecisionError as exc:
        results.put((actor, f"refused: {exc}"))


def test_two_clerks_deciding_at_once_one_wins(queued_home: Path, tmp_path: Path) -> None:
    """Two processes accept the same pair at the same moment: one event, one refusal."""
    mpi = _copy(queued_home, tmp_path)
    item = mpi.review_queue()[0]
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(2), context.Queue()
    clerks = [
        context.Process(
            target=_accept_in_a_process, args=(str(mpi.workspace.home), item.id, who, start, results)
        )
        for who in ("anna", "ben")
    ]
    for clerk in clerks:
        clerk.start()
    for clerk in clerks:
        clerk.join(120)
    outcomes = dict(results.get(timeout=5) for _ in clerks)
    assert sorted(o.split(":")[0] for o in outcomes.values()) == ["accepted", "refused"], outcomes
    events = _decisions(mpi, item.patient_l)
    assert len(events) == 1 and events[0].actor in outcomes


def test_cli_override_needs_a_reason_and_history_shows_it(mpi: MasterPatientIndex) -> None:
    item = mpi.review_queue()[0]
    runner = CliRunner()
    home = ["--home", str(mpi.workspace.home)]
    first = runner.invoke(app, ["link", "review", "reject", str(item.id), *home, "--by", "anna"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["link", "review", "accept", str(item.id), *home, "--by", "ben"])
    assert again.exit_code == 1 and "--override" in again.output
    bare = runner.invoke(app, ["link", "review", "accept", str(item.id), *home, "--override"])
    assert bare.exit_code != 0 and "--reason" in bare.output
    done = runner.invoke(
        app,
        [
            "link",
            "review",
            "accept",
            str(item.id),
            *home,
            "--by",
            "ben",
            "--override",
            "--reason",
            "same NHI",
        ],
    )
    assert done.exit_code == 0, done.output
    history = runner.invoke(app, ["link", "history", *home, "--patient", item.patient_l, "--json"])
    decided = [e for e in json.loads(history.output) if e["kind"] in ("review_accept", "review_reject")]
    assert [(e["kind"], e["actor"]) for e in decided] == [("review_reject", "anna"), ("review_accept", "ben")]
    assert "overrides rejected by anna" in decided[-1]["reason"] and "same NHI" in decided[-1]["reason"]
