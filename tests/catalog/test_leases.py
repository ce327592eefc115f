"""Leases (named locks in the catalog) on both backends: one holder at a time, across processes,
and a dead holder's lease expires."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from medlake.catalog import Catalog
from medlake.catalog.leases import LeaseLost, Leases, held, lease_owner
from medlake.errors import Busy

SPAWN = multiprocessing.get_context("spawn")


def test_one_holder_at_a_time_and_generations_count_writes(catalog: Catalog) -> None:
    leases = Leases(catalog)
    assert leases.try_acquire("ingest:a", "one", ttl=30) == 0
    assert leases.try_acquire("ingest:a", "two", ttl=30) is None, "held by one"
    assert leases.try_acquire("ingest:b", "two", ttl=30) == 0, "another name is another lock"
    assert leases.bump("ingest:a", "one", ttl=30) == 1
    with pytest.raises(LeaseLost):
        leases.bump("ingest:a", "two", ttl=30)
    leases.release("ingest:a", "one")
    assert leases.try_acquire("ingest:a", "two", ttl=30) == 1, "the count survives its holders"
    holder = leases.holder("ingest:a")
    assert holder is not None and (holder.owner, holder.generation) == ("two", 1)


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_write(catalog: Catalog) -> None:
    leases = Leases(catalog)
    assert leases.try_acquire("ingest:a", "stalled", ttl=0.2) == 0
    time.sleep(0.4)
    assert leases.try_acquire("ingest:a", "next", ttl=30) == 0
    with pytest.raises(LeaseLost, match="another writer took it"):
        leases.bump("ingest:a", "stalled", ttl=30)
    assert not leases.renew("ingest:a", "stalled", ttl=30)


def test_held_renews_while_the_block_runs_and_releases_after(catalog: Catalog) -> None:
    with held(catalog, "build", "worker-1", ttl=0.6) as lease:
        time.sleep(1.5)  # past two lease lengths: only renewal keeps it
        assert not lease.lost.is_set()
        assert Leases(catalog).try_acquire("build", "worker-2", ttl=30) is None
        assert lease.bump() == 1
    assert Leases(catalog).holder("build").owner is None  # type: ignore[union-attr]
    with (
        pytest.raises(Busy, match="held by worker-3"),
        held(catalog, "build", "worker-3", ttl=30),
        held(catalog, "build", "worker-4", wait=0.3),
    ):
        pass


def _count_under_lease(url: str, rounds: int, path: str) -> None:
    catalog = Catalog(url)
    for _ in range(rounds):
        with held(catalog, "counter", lease_owner("test"), ttl=30):
            with open(path) as file:
                value = int(file.read())
            time.sleep(0.005)  # widen the window a lost update would need
            with open(path, "w") as file:
                file.write(str(value + 1))
    catalog.close()


def test_processes_take_turns(catalog: Catalog, tmp_path) -> None:
    """Three processes increment a file under the lease: no increment is lost."""
    counter = tmp_path / "counter"
    counter.write_text("0")
    processes = [
        SPAWN.Process(target=_count_under_lease, args=(catalog.url, 15, str(counter))) for _ in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(180)
        assert process.exitcode == 0
    assert counter.read_text() == "45"
