"""Named locks held in the catalog: writers on any process or host take turns.

A lock is a row of ``leases``: who holds it and until when. Taking it is one conditional
``UPDATE … WHERE owner IS NULL OR expires_at < now`` (the database serialises updates of a row:
SQLite takes its write lock for the statement, PostgreSQL makes a second updater wait for the
first and re-check the condition), so of two writers exactly one gets it, whatever process or
host they run on. It is a lease, not a lock that lives with a connection: a holder renews it
from a background thread while it works, so one that dies (kill -9, a host lost) frees it when
it expires, and a waiting writer takes over. "Now" is the database server's clock on PostgreSQL
(hosts' clocks may differ) and the local clock on SQLite (one file, one host).

``generation`` is bumped before every write made under the lease: a holder compares it with the
value after its own last write to learn whether another writer came in between, and a holder
whose lease was taken from it (it stalled past the expiry) learns so before it writes, not after.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from medlake.catalog.models import Lease
from medlake.catalog.store import Catalog, utcnow
from medlake.errors import Busy

#: Seconds a lease lasts without renewal; the holder renews it three times in that span.
DEFAULT_TTL = 60.0
#: Seconds a writer waits for a lease before giving up.
DEFAULT_WAIT = 1800.0


class LeaseLost(Busy):
    """The lease expired while its holder worked (it stalled longer than the lease lasts) and
    another writer took it: the holder must not write."""


def lease_owner(purpose: str) -> str:
    """An owner name unique to this holder, which says where it runs (for ``medlake`` to show)."""
    return f"{purpose}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_local_holder(owner: str | None) -> str | None:
    """``owner`` if it names a process of this host that no longer runs (see :func:`lease_owner`).

    A reused process id looks alive, so such a lease is left to expire: never taken early wrongly.
    """
    if not owner or "@" not in owner:
        return None
    place = owner.rsplit("@", 1)[1].rsplit(":", 2)
    if len(place) != 3 or place[0] != socket.gethostname() or not place[1].isdigit():
        return None
    try:
        os.kill(int(place[1]), 0)
    except ProcessLookupError:
        return owner
    except OSError:  # it exists but is not ours to signal
        return None
    return None


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, until when, and how many writes were made under it so far."""

    owner: str | None
    expires_at: datetime | None
    generation: int


class Leases:
    """The catalog's leases: take, renew, bump and release them by name."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.dialect = catalog.engine.dialect.name

    def _now(self, s: Session) -> datetime:
        if self.dialect == "postgresql":
            return s.scalar(select(func.clock_timestamp()))  # type: ignore[return-value]
        return utcnow()

    def _ensure_row(self, name: str) -> None:
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(Lease).values(name=name, generation=0).on_conflict_do_nothing()
        with self.catalog.session() as s:
            s.execute(statement)

    def try_acquire(self, name: str, owner: str, ttl: float) -> int | None:
        """Take the lease if it is free, expired or already ``owner``'s; its generation, else None.

        A lease whose holder was a process of this host that is gone (killed) is taken at once
        rather than when it expires, so a rerun after ``kill -9`` does not wait.
        """
        for _ in range(2):
            with self.catalog.session() as s:
                current = s.execute(select(Lease.owner).where(Lease.name == name)).first()
                if current is None:  # the lock's first use: make its row, then take it
                    absent = True
                else:
                    absent = False
                    now = self._now(s)
                    free = or_(Lease.owner.is_(None), Lease.expires_at < now, Lease.owner == owner)
                    dead = _dead_local_holder(current.owner)
                    if dead is not None:
                        free = or_(free, Lease.owner == dead)
                    taken = s.execute(
                        update(Lease)
                        .where(Lease.name == name, free)
                        .values(owner=owner, acquired_at=now, expires_at=now + timedelta(seconds=ttl))
                    )
                    if taken.rowcount != 1:
                        return None
                    return int(s.scalar(select(Lease.generation).where(Lease.name == name)) or 0)
            if absent:
                self._ensure_row(name)
        return None

    def renew(self, name: str, owner: str, ttl: float) -> bool:
        """Extend ``owner``'s lease; False if it is no longer theirs."""
        with self.catalog.session() as s:
            now = self._now(s)
            renewed = s.execute(
                update(Lease)
                .where(Lease.name == name, Lease.owner == owner)
                .values(expires_at=now + timedelta(seconds=ttl))
            )
            return renewed.rowcount == 1

    def bump(self, name: str, owner: str, ttl: float) -> int:
        """Before a write under the lease: check it is still ``owner``'s, renew it, count the write.

        Returns the new generation; raises :class:`LeaseLost` if another writer has it now.
        """
        with self.catalog.session() as s:
            now = self._now(s)
            bumped = s.execute(
                update(Lease)
                .where(Lease.name == name, Lease.owner == owner)
                .values(
                    generation=Lease.generation + 1,
                    writer=owner,
                    expires_at=now + timedelta(seconds=ttl),
                )
            )
            if bumped.rowcount != 1:
                raise LeaseLost(f"the lock {name!r} expired and another writer took it; nothing was written")
            return int(s.scalar(select(Lease.generation).where(Lease.name == name)) or 0)

    def release(self, name: str, owner: str) -> None:
        with self.catalog.session() as s:
            s.execute(
                update(Lease)
                .where(Lease.name == name, Lease.owner == owner)
                .values(owner=None, expires_at=None)
            )

    def holder(self, name: str) -> Holder | None:
        with self.catalog.session() as s:
            row = s.get(Lease, name)
            return None if row is None else Holder(row.owner, row.expires_at, row.generation)


@dataclass
class HeldLease:
    """A lease while it is held: its generation, and :meth:`bump` before every write under it."""

    leases: Leases
    name: str
    owner: str
    ttl: float
    generation: int
    lost: threading.Event = field(default_factory=threading.Event)

    def bump(self) -> int:
        """Count a write about to be made (raises :class:`LeaseLost` if the lease is gone)."""
        self.generation = self.leases.bump(self.name, self.owner, self.ttl)
        return self.generation


@contextmanager
def held(
    catalog: Catalog,
    name: str,
    owner: str,
    *,
    ttl: float = DEFAULT_TTL,
    wait: float = DEFAULT_WAIT,
) -> Iterator[HeldLease]:
    """Hold the lease ``name`` around a block, waiting up to ``wait`` seconds for it.

    A background thread renews it every third of ``ttl`` while the block runs; the lease is
    released when the block ends, however it ends. A holder that is killed releases nothing:
    its lease expires ``ttl`` seconds after its last renewal.
    """
    leases = Leases(catalog)
    deadline = time.monotonic() + wait
    pause = 0.02
    while (generation := leases.try_acquire(name, owner, ttl)) is None:
        if time.monotonic() >= deadline:
            holder = leases.holder(name)
            who = ""
            if holder is not None and holder.owner and holder.expires_at is not None:
                who = f" by {holder.owner} until {holder.expires_at:%Y-%m-%d %H:%M:%S} UTC"
            raise Busy(f"the lock {name!r} is held{who}; gave up after {wait:g} s")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
    lease = HeldLease(leases, name, owner, ttl, generation)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            try:
                if not leases.renew(name, owner, ttl):
                    lease.lost.set()
                    return
            except Exception:  # a catalog hiccup: try again at the next beat, the lease has time left
                continue

    beat = threading.Thread(target=renew, name=f"lease:{name}", daemon=True)
    beat.start()
    try:
        yield lease
    finally:
        stop.set()
        beat.join()
        leases.release(name, owner)
