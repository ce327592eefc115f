"""Exactly-once under concurrency: two processes ingesting the same delivery at once store it once.

``medlake ingest fhir REGION --per-folder`` started twice in parallel on one workspace used to
store most resources twice (both runs exit 0, the catalog says 8,133 stored, the raw layer holds
15,037 rows). Each ingest now commits an institution's rows under that institution's lock in the
catalog, and decides again under it what is new. These tests start real processes (spawned, so
nothing is shared but the workspace on disk and the catalog), released at the same moment.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from medlake.catalog.leases import Leases, held, lease_owner
from medlake.catalog.statuses import BatchStatus
from medlake.errors import Busy
from medlake.ingest import ingest_paths, institution_folders
from medlake.lake.tables import RAW_RESOURCES, Layer
from medlake.synth import generate_region
from medlake.workspace import Workspace, init_workspace, open_workspace
from tests.conftest import server_up

ROUNDS = 3
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("concurrent") / "region"
    generate_region(folder, 40, 7)
    return folder


def _ingest(home: str, sources: list[tuple[str, str]], start, results) -> None:
    """One ingest process: open the workspace, wait for the others, ingest, report."""
    ws = open_workspace(home)
    start.wait()
    try:
        reports = ingest_paths(ws, [(Path(path), institution) for path, institution in sources])
        results.put(("ok", [r.as_dict() for r in reports]))
    except Exception as exc:  # reported to the test, which fails with it
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _race(ws: Workspace, *jobs: list[tuple[str, str]]) -> list[list[dict]]:
    """Run each job (its (path, institution) list) in its own process, all released at once."""
    start, results = SPAWN.Barrier(len(jobs)), SPAWN.Queue()
    processes = [SPAWN.Process(target=_ingest, args=(str(ws.home), job, start, results)) for job in jobs]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    errors = [detail for status, detail in outcomes if status == "error"]
    assert not errors, errors
    return [detail for _, detail in outcomes]


def _check_exactly_once(ws: Workspace) -> int:
    """Raw rows are distinct resources, and the catalog's counts are the lake's; returns the rows."""
    raw = ws.lake.dataset(ws.lake.uri(Layer.RAW, RAW_RESOURCES)).to_table(
        columns=["institution", "resource_type", "resource_id", "content_hash"]
    )
    distinct = raw.group_by(["institution", "resource_type", "resource_id", "content_hash"]).aggregate([])
    assert raw.num_rows == distinct.num_rows, f"{raw.num_rows} raw rows for {distinct.num_rows} resources"
    batches = ws.catalog.batches()
    assert all(b.status == BatchStatus.COMMITTED for b in batches)
    assert all(b.received == b.stored + b.quarantined + b.duplicates for b in batches)
    assert sum(b.stored for b in batches) == raw.num_rows, "the catalog's stored counts are the lake's rows"
    dataset = ws.catalog.dataset("raw.resources")
    assert dataset is not None and dataset.rows == raw.num_rows
    by_institution = raw.group_by("institution").aggregate([("institution", "count")])
    counts = dict(
        zip(
            by_institution["institution"].to_pylist(),
            by_institution["institution_count"].to_pylist(),
            strict=True,
        )
    )
    assert dataset.rows_by_institution == counts
    return raw.num_rows


def _alone(tmp_path: Path, sources: list[tuple[str, str]]) -> int:
    """Rows one ingest on its own stores: what the racing ones together must store."""
    ws = init_workspace(tmp_path / "alone", ingest_workers=1)
    ingest_paths(ws, [(Path(p), i) for p, i in sources])
    return _check_exactly_once(ws)


def _same_delivery_twice(region: Path, tmp_path: Path, catalogs: Iterator[dict] | None = None) -> None:
    sources = [(str(folder), name) for folder, name in institution_folders(region)]
    expected = _alone(tmp_path, sources)
    for round_ in range(ROUNDS):
        settings = next(catalogs) if catalogs is not None else {}
        ws = init_workspace(tmp_path / f"race{round_}", ingest_workers=1, **settings)
        first, second = _race(ws, sources, sources)
        assert _check_exactly_once(ws) == expected
        theirs = {report["batch_id"]: report for report in second}
        assert len(first) == len(theirs) == len(ws.catalog.batches())
        for mine in first:
            other = theirs[mine["batch_id"]]
            assert mine["received"] == other["received"]
            # one of the two stored the delivery, the other found it stored
            assert sorted([mine["stored"], other["stored"]])[0] == 0
            assert mine["stored"] + other["stored"] == ws.catalog.batch(mine["batch_id"]).stored


@pytest.mark.slow
def test_the_same_region_ingested_twice_at_once_is_stored_once(region: Path, tmp_path: Path) -> None:
    _same_delivery_twice(region, tmp_path)


@pytest.fixture
def postgres_catalogs() -> Iterator[Iterator[dict]]:
    """Fresh PostgreSQL catalogs, one per workspace (as ``postgres_url``), dropped afterwards."""
    if not server_up(5432):
        pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
    import psycopg

    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    names: list[str] = []

    def catalogs() -> Iterator[dict]:
        while True:
            names.append(f"medlake_test_{uuid.uuid4().hex[:10]}")
            with psycopg.connect(admin, autocommit=True) as con:
                con.execute(f'CREATE DATABASE "{names[-1]}"')
            yield {"catalog_url": f"postgresql+psycopg://postgres@127.0.0.1:5432/{names[-1]}"}

    yield catalogs()
    with psycopg.connect(admin, autocommit=True) as con:
        for name in names:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.postgres
def test_the_same_region_ingested_twice_at_once_is_stored_once_on_postgres(
    region: Path, tmp_path: Path, postgres_catalogs: Iterator[dict]
) -> None:
    _same_delivery_twice(region, tmp_path, postgres_catalogs)


@pytest.mark.slow
def test_one_institution_folder_twice_at_once(region: Path, tmp_path: Path) -> None:
    """The issue's one-folder case (one run in three stored twice), repeated."""
    folder, name = institution_folders(region)[0]
    sources = [(str(folder), name)]
    expected = _alone(tmp_path, sources)
    for round_ in range(ROUNDS):
        ws = init_workspace(tmp_path / f"one{round_}", ingest_workers=1)
        _race(ws, sources, sources)
        assert _check_exactly_once(ws) == expected


@pytest.mark.slow
def test_overlapping_deliveries_at_once_store_each_resource_once(region: Path, tmp_path: Path) -> None:
    """Two different deliveries of one institution that share resources (a source read twice with
    other chunk boundaries), ingested at once: the shared resources are stored once."""
    observations = {
        name: (folder / "Observation.ndjson").read_text().splitlines(keepends=True)
        for folder, name in institution_folders(region)
        if (folder / "Observation.ndjson").is_file()
    }
    name = max(observations, key=lambda institution: len(observations[institution]))
    lines = observations[name]
    assert len(lines) >= 30, "the synthetic institution has too few observations to overlap"
    third = len(lines) // 3
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    (first / "Observation.ndjson").write_text("".join(lines[: 2 * third]))
    (second / "Observation.ndjson").write_text("".join(lines[third:]))
    for round_ in range(ROUNDS):
        ws = init_workspace(tmp_path / f"overlap{round_}", ingest_workers=1)
        _race(ws, [(str(first), name)], [(str(second), name)])
        assert _check_exactly_once(ws) == len(lines)
        overlap = len(lines[third : 2 * third])
        assert sum(b.duplicates for b in ws.catalog.batches()) == overlap


def test_different_institutions_ingest_in_parallel(region: Path, tmp_path: Path) -> None:
    """Two institutions at once both store everything, on a fresh lake both create tables in."""
    (a, a_name), (b, b_name) = institution_folders(region)[:2]
    expected = _alone(tmp_path, [(str(a), a_name), (str(b), b_name)])
    ws = init_workspace(tmp_path / "two", ingest_workers=1)
    first, second = _race(ws, [(str(a), a_name)], [(str(b), b_name)])
    # each run stored its own institution only (the race returns them in the order they ended)
    stored_by_run = {frozenset(r["institution"] for r in run) for run in (first, second)}
    assert stored_by_run == {frozenset({a_name}), frozenset({b_name})}
    assert _check_exactly_once(ws) == expected


def test_one_institutions_lock_does_not_hold_up_another(region: Path, tmp_path: Path) -> None:
    """While one institution's commit lock is held, another institution commits; the held one waits
    and, past its wait, says who holds the lock."""
    (a, a_name), (b, b_name) = institution_folders(region)[:2]
    ws = init_workspace(tmp_path / "held", ingest_workers=1, ingest_lock_wait=2)
    with held(ws.catalog, f"ingest:{a_name}", lease_owner("test")):
        [report, *_] = ingest_paths(ws, [(b, b_name)])
        assert report.stored > 0, "the other institution committed while the lock was held"
        with pytest.raises(Busy, match=f"ingest:{a_name}.*held by test@"):
            ingest_paths(ws, [(a, a_name)])
    reports = ingest_paths(ws, [(a, a_name)])
    assert sum(r.stored for r in reports) > 0
    _check_exactly_once(ws)


def _hold_and_die(home: str, name: str, ready) -> None:
    ws = open_workspace(home)
    with held(ws.catalog, name, lease_owner("doomed"), ttl=2):
        ready.set()
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_holders_lock_is_taken_over_at_once(region: Path, tmp_path: Path) -> None:
    """kill -9 while holding the commit lock: the next ingest on this host sees the holder is gone."""
    folder, name = institution_folders(region)[0]
    ws = init_workspace(tmp_path / "killed", ingest_workers=1, ingest_lock_wait=10)
    ready = SPAWN.Event()
    doomed = SPAWN.Process(target=_hold_and_die, args=(str(ws.home), f"ingest:{name}", ready))
    doomed.start()
    doomed.join(120)
    assert ready.is_set() and doomed.exitcode == -signal.SIGKILL
    holder = Leases(ws.catalog).holder(f"ingest:{name}")
    assert holder is not None and (holder.owner or "").startswith("doomed@"), "the dead holder kept it"
    reports = ingest_paths(ws, [(folder, name)])
    assert sum(r.stored for r in reports) > 0
    _check_exactly_once(ws)


def test_a_lost_hosts_lock_expires(region: Path, tmp_path: Path) -> None:
    """A holder on another host that stops renewing (the host died) frees the lock when it expires."""
    folder, name = institution_folders(region)[0]
    ws = init_workspace(tmp_path / "lost", ingest_workers=1, ingest_lock_wait=60)
    assert Leases(ws.catalog).try_acquire(f"ingest:{name}", "ingest@gone-host:4242:0000", ttl=3) == 0
    clock = time.monotonic()
    reports = ingest_paths(ws, [(folder, name)])
    assert time.monotonic() - clock >= 2, "it waited for the lease to expire"
    assert sum(r.stored for r in reports) > 0
    _check_exactly_once(ws)
