"""The master patient index's state in the catalog database: members, persons, events, reviews, models.

All reads and writes of the MPI tables go through ``MpiStore``. A run's changes are written in
one transaction (``apply``), so a crash leaves either the previous mapping or the new one, never
half of each; reads use SQLAlchemy Core because a region holds millions of members and ORM
objects would cost more than the linkage itself.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any, NamedTuple

import pyarrow as pa
from sqlalchemy import JSON, Table, Text, bindparam, cast, func, insert, or_, select, update
from sqlalchemy.orm import Session

from medlake.catalog.models import MpiEvent, MpiMember, MpiModel, MpiPerson, MpiReview
from medlake.catalog.statuses import EventKind, PersonStatus, ReviewStatus
from medlake.catalog.store import Catalog, utcnow
from medlake.config import Settings
from medlake.errors import DecisionError, InputError, NotFound
from medlake.mpi.reconcile import Change


def current_actor(settings: Settings | None = None) -> str:
    """Who is acting, for the audit trail: the ``actor`` setting (``MEDLAKE_ACTOR``), else the
    operating-system user."""
    configured = settings.actor if settings is not None else os.environ.get("MEDLAKE_ACTOR")
    try:
        return configured or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


class Member(NamedTuple):
    """One row of the global <-> node map."""

    patient_id: str
    institution: str
    person_id: str
    fingerprint: str
    basis: str


#: ``Member`` as columns (``MpiStore.member_table``).
MEMBER_SCHEMA = pa.schema([(name, pa.string()) for name in Member._fields])


@dataclass(frozen=True)
class ReviewItem:
    id: int
    patient_l: str
    patient_r: str
    status: ReviewStatus
    match_probability: float | None
    reason: str | None
    evidence: list | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    kind: EventKind
    person_id: str | None
    other_person_id: str | None
    patient_id: str | None
    reason: str | None
    actor: str
    job_id: str | None
    details: dict | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "person_id": self.person_id,
            "other_person_id": self.other_person_id,
            "patient_id": self.patient_id,
            "reason": self.reason,
            "actor": self.actor,
            "job_id": self.job_id,
            "details": self.details,
        }


@dataclass
class RunChanges:
    """Everything one linkage run writes, applied together."""

    job_id: str
    actor: str
    members_new: list[dict]
    members_updated: list[dict]
    members_removed: list[str]
    persons_created: list[str]
    persons_merged: dict[str, str]
    persons_retired: list[str]
    changes: list[Change]
    review_candidates: list[dict]
    #: Pending review items whose records are now one person, or gone: nothing left to decide.
    review_superseded: list[tuple[str, str]] = field(default_factory=list)
    model_json: str | None = None
    model_records: int = 0


#: The columns of a ``Member``, in its order.
_MEMBER_QUERY = select(
    MpiMember.patient_id, MpiMember.institution, MpiMember.person_id, MpiMember.fingerprint, MpiMember.basis
)


class IssuedIds:
    """``person_id in issued``: was the id ever issued? The ``taken`` set for minting new ids.

    A run that mints a few ids asks the catalog about each; one that mints many (a region's first
    run) loads every issued id once instead, so neither pays for the other's case.
    """

    LOAD_ALL_AFTER = 1_000

    def __init__(self, store: MpiStore) -> None:
        self.store = store
        self.asked = 0
        self.everything: set[str] | None = None

    def __contains__(self, person_id: object) -> bool:
        if not isinstance(person_id, str):
            return False
        if self.everything is None:
            self.asked += 1
            if self.asked <= self.LOAD_ALL_AFTER:
                return self.store.is_issued(person_id)
            self.everything = self.store.person_ids()
        return person_id in self.everything


class MpiStore:
    """Typed access to the MPI tables of one catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # ------------------------------------------------------------------ reads
    def members(self) -> dict[str, Member]:
        """patient id -> member, every member (for a steward or a test; runs use ``member_table``)."""
        table = self.member_table()
        columns = [table.column(name).to_pylist() for name in MEMBER_SCHEMA.names]
        return {row[0]: Member._make(row) for row in zip(*columns, strict=True)}

    def member_table(self) -> pa.Table:
        """Every member as columns (``Member``'s fields), for runs over a whole region.

        Read through the driver cursor: the ORM's per-row result processing and a Python
        object per member were most of an incremental run's reading time at a million members.
        """
        sql = str(_MEMBER_QUERY.compile(self.catalog.engine))
        with self.catalog.engine.connect() as connection:
            rows = connection.exec_driver_sql(sql).fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(MEMBER_SCHEMA)
        return pa.table([pa.array(c, pa.string()) for c in columns], schema=MEMBER_SCHEMA)

    def members_of(self, person_id: str) -> list[Member]:
        query = _MEMBER_QUERY.where(MpiMember.person_id == person_id).order_by(MpiMember.patient_id)
        with self.catalog.engine.connect() as connection:
            return [Member._make(row) for row in connection.execute(query)]

    def member(self, patient_id: str) -> Member | None:
        with self.catalog.engine.connect() as connection:
            row = connection.execute(_MEMBER_QUERY.where(MpiMember.patient_id == patient_id)).first()
        return Member._make(row) if row else None

    def person_ids(self) -> set[str]:
        """Every id ever issued (never to be minted again)."""
        with self.catalog.engine.connect() as connection:
            return set(connection.execute(select(MpiPerson.id)).scalars())

    def is_issued(self, person_id: str) -> bool:
        """Was this id ever issued (active, merged or retired)? Asked per id: a run mints few."""
        with self.catalog.engine.connect() as connection:
            return (
                connection.execute(select(MpiPerson.id).where(MpiPerson.id == person_id)).first() is not None
            )

    def created_at(self, person_id: str) -> datetime | None:
        with self.catalog.engine.connect() as connection:
            return connection.execute(select(MpiPerson.created_at).where(MpiPerson.id == person_id)).scalar()

    def persons(self) -> dict[str, tuple[str, str | None, datetime]]:
        """person id -> (status, merged_into, created_at), every id ever issued."""
        query = select(MpiPerson.id, MpiPerson.status, MpiPerson.merged_into, MpiPerson.created_at)
        with self.catalog.engine.connect() as connection:
            return {row[0]: (row[1], row[2], row[3]) for row in connection.execute(query)}

    def resolve(self, person_id: str) -> str:
        """The active id a (possibly merged-away) id now stands for; KeyError if never issued."""
        seen: set[str] = set()
        current = person_id
        with self.catalog.session() as s:
            while True:
                row = s.get(MpiPerson, current)
                if row is None:
                    raise NotFound(f"no person {person_id!r} in the master patient index")
                if row.status != PersonStatus.MERGED or row.merged_into is None or current in seen:
                    return current
                seen.add(current)
                current = row.merged_into

    def decisions(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(accepted pairs, rejected pairs) of every clerk decision ever made."""
        query = select(MpiReview.patient_l, MpiReview.patient_r, MpiReview.status).where(
            MpiReview.status.in_([ReviewStatus.ACCEPTED, ReviewStatus.REJECTED])
        )
        accepted, rejected = [], []
        with self.catalog.engine.connect() as connection:
            for left, right, status in connection.execute(query):
                (accepted if status == ReviewStatus.ACCEPTED else rejected).append((left, right))
        return accepted, rejected

    def latest_model(self) -> str | None:
        query = select(MpiModel.model).order_by(MpiModel.id.desc()).limit(1)
        with self.catalog.engine.connect() as connection:
            return connection.execute(query).scalar()

    def reviews(
        self, status: ReviewStatus | str | None = ReviewStatus.PENDING, limit: int | None = None
    ) -> list[ReviewItem]:
        """Review items, most probable match first: those of ``status``, or all of them (None)."""
        query = select(MpiReview).order_by(MpiReview.match_probability.desc(), MpiReview.id)
        if status is not None:
            if status not in ReviewStatus.__members__.values():
                known = ", ".join(ReviewStatus)
                raise InputError(f"a review item is {known}; there is no status {status!r}")
            query = query.where(MpiReview.status == ReviewStatus(status))
        if limit is not None:
            query = query.limit(limit)
        with self.catalog.session() as s:
            return [_review_item(row) for row in s.scalars(query)]

    def pending_pairs(self) -> list[tuple[str, str]]:
        """The record pairs of pending review items (no evidence loaded: a run needs only the pairs)."""
        query = select(MpiReview.patient_l, MpiReview.patient_r).where(
            MpiReview.status == ReviewStatus.PENDING
        )
        with self.catalog.engine.connect() as connection:
            return [(left, right) for left, right in connection.execute(query)]

    def state(self) -> int:
        """The newest event id: it changes exactly when the mapping (or a decision on it) changes."""
        with self.catalog.engine.connect() as connection:
            return int(connection.execute(select(func.max(MpiEvent.id))).scalar() or 0)

    def pending_count(self) -> int:
        query = select(func.count()).select_from(MpiReview).where(MpiReview.status == ReviewStatus.PENDING)
        with self.catalog.engine.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def review(self, review_id: int) -> ReviewItem:
        with self.catalog.session() as s:
            row = s.get(MpiReview, review_id)
            if row is None:
                raise NotFound(f"no review item {review_id}")
            return _review_item(row)

    def events(
        self, person_id: str | None = None, patient_id: str | None = None, limit: int | None = None
    ) -> list[Event]:
        query = select(MpiEvent).order_by(MpiEvent.id)
        if person_id is not None:
            query = query.where(or_(MpiEvent.person_id == person_id, MpiEvent.other_person_id == person_id))
        if patient_id is not None:
            query = query.where(
                or_(
                    MpiEvent.patient_id == patient_id,
                    cast(MpiEvent.details, Text).like(f'%"{_escape_like(patient_id)}"%', escape="\\"),
                )
            )
        if limit is not None:
            query = query.limit(limit)
        with self.catalog.session() as s:
            return [
                Event(
                    e.id,
                    e.at,
                    e.kind,
                    e.person_id,
                    e.other_person_id,
                    e.patient_id,
                    e.reason,
                    e.actor,
                    e.job_id,
                    e.details,
                )
                for e in s.scalars(query)
            ]

    # ------------------------------------------------------------------ writes
    def apply(self, run: RunChanges) -> None:
        """Write one run's outcome in a single transaction."""
        now = utcnow()
        with self.catalog.session() as s:
            if run.persons_created:
                _bulk_insert(
                    s,
                    MpiPerson.__table__,
                    {
                        "status": PersonStatus.ACTIVE,
                        "merged_into": None,
                        "created_at": now,
                        "updated_at": now,
                        "job_id": run.job_id,
                    },
                    {"id": run.persons_created},
                )
            if run.members_new:
                _bulk_insert(
                    s,
                    MpiMember.__table__,
                    {"linked_at": now, "job_id": run.job_id},
                    {k: [m[k] for m in run.members_new] for k in run.members_new[0]},
                )
            if run.members_updated:
                s.execute(
                    update(MpiMember),
                    [{**m, "linked_at": now, "job_id": run.job_id} for m in run.members_updated],
                )
            for chunk in _chunks(run.members_removed, 500):
                s.execute(MpiMember.__table__.delete().where(MpiMember.patient_id.in_(chunk)))
            persons = MpiPerson.__table__
            if run.persons_merged:
                s.execute(
                    persons.update()
                    .where(persons.c.id == bindparam("absorbed"))
                    .values(status=PersonStatus.MERGED, merged_into=bindparam("survivor"), updated_at=now),
                    [{"absorbed": a, "survivor": b} for a, b in run.persons_merged.items()],
                )
            if run.persons_retired:
                s.execute(
                    persons.update()
                    .where(persons.c.id == bindparam("person"))
                    .values(status=PersonStatus.RETIRED, updated_at=now),
                    [{"person": p} for p in run.persons_retired],
                )
            self._add_events(s, run.changes, run.actor, run.job_id, now)
            self._upsert_reviews(s, run.review_candidates, run.job_id, now)
            if run.review_superseded:
                review = MpiReview.__table__
                s.execute(
                    review.update()
                    .where(
                        review.c.patient_l == bindparam("left"),
                        review.c.patient_r == bindparam("right"),
                        review.c.status == ReviewStatus.PENDING,
                    )
                    .values(status=ReviewStatus.SUPERSEDED),
                    [{"left": left, "right": right} for left, right in run.review_superseded],
                )
            if run.model_json is not None:
                s.add(
                    MpiModel(
                        created_at=now, records=run.model_records, model=run.model_json, job_id=run.job_id
                    )
                )

    def decide(
        self,
        review_id: int,
        status: ReviewStatus,
        actor: str,
        note: str | None = None,
        *,
        override: str | None = None,
    ) -> ReviewItem:
        """Record a clerk's decision on a review item, and apply an acceptance at once (merge).

        A pair is decided once: a second decision (the same clerk's double click, or another
        clerk who disagrees) is refused, so the append-only history holds one decision per pair
        unless somebody meant to change it. ``override`` is that intent, with its reason: the
        event then names the decision it replaces, who made it and when. The row is claimed by
        a conditional update on the status it was read with, so of two clerks deciding the same
        pair at once one wins and the other is refused, on any catalog backend.
        """
        if status not in (ReviewStatus.ACCEPTED, ReviewStatus.REJECTED):
            raise DecisionError(
                f"a decision is {ReviewStatus.ACCEPTED!r} or {ReviewStatus.REJECTED!r}, not {status!r}"
            )
        if override is not None and not override.strip():
            raise DecisionError(
                "an override needs a reason (--reason): the history keeps why a decision changed"
            )
        now = utcnow()
        with self.catalog.session() as s:
            row = s.get(MpiReview, review_id)
            if row is None:
                raise NotFound(f"no review item {review_id}")
            left, right = s.get(MpiMember, row.patient_l), s.get(MpiMember, row.patient_r)
            if left is None or right is None:
                raise DecisionError(f"review item {review_id} names a record that is no longer linked")
            if status == ReviewStatus.REJECTED and left.person_id == right.person_id:
                raise DecisionError(
                    f"{row.patient_l} and {row.patient_r} are one person ({left.person_id}) already: "
                    f"use `medlake link split {row.patient_r}` to separate them"
                )
            previous = _previous_decision(row, status, override)
            claimed = s.execute(
                update(MpiReview)
                .where(MpiReview.id == review_id, MpiReview.status == row.status)
                .values(status=status, decided_at=now, decided_by=actor, note=note)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                raise DecisionError(
                    f"review item {review_id} was decided by somebody else a moment ago: "
                    f"`medlake link review show {review_id}`"
                )
            s.refresh(row)
            change_kind = (
                EventKind.REVIEW_ACCEPT if status == ReviewStatus.ACCEPTED else EventKind.REVIEW_REJECT
            )
            reason = note if previous is None else f"{previous}: {override}" + (f"; {note}" if note else "")
            changes = [
                Change(change_kind, left.person_id, right.person_id, (row.patient_l, row.patient_r), reason)
            ]
            if status == ReviewStatus.ACCEPTED and left.person_id != right.person_id:
                survivor, absorbed = self._older(s, left.person_id, right.person_id)
                moved = list(s.scalars(select(MpiMember.patient_id).where(MpiMember.person_id == absorbed)))
                s.execute(
                    update(MpiMember)
                    .where(MpiMember.person_id == absorbed)
                    .values(person_id=survivor, basis="clerk decision", linked_at=now)
                )
                s.execute(
                    update(MpiPerson)
                    .where(MpiPerson.id == absorbed)
                    .values(status=PersonStatus.MERGED, merged_into=survivor, updated_at=now)
                )
                changes.append(
                    Change(
                        EventKind.MERGE,
                        survivor,
                        absorbed,
                        tuple(sorted(moved)),
                        f"clerk accepted review {review_id}",
                    )
                )
            self._add_events(s, changes, actor, None, now)
            s.flush()
            return _review_item(row)

    def split(self, patient_id: str, new_person_id: str, actor: str, note: str | None = None) -> list[str]:
        """Move one record out of its person into ``new_person_id``; reject it against its old co-members.

        The rejections are what make the split last: every later run keeps the pairs apart.
        Returns the former co-members.
        """
        now = utcnow()
        with self.catalog.session() as s:
            member = s.get(MpiMember, patient_id)
            if member is None:
                raise NotFound(f"no linked patient record {patient_id!r}")
            old_person = member.person_id
            others = list(
                s.scalars(
                    select(MpiMember.patient_id).where(
                        MpiMember.person_id == old_person, MpiMember.patient_id != patient_id
                    )
                )
            )
            if not others:
                raise DecisionError(f"{patient_id} is the only record of {old_person}: nothing to split")
            s.add(
                MpiPerson(
                    id=new_person_id,
                    status=PersonStatus.ACTIVE,
                    merged_into=None,
                    created_at=now,
                    updated_at=now,
                )
            )
            s.flush()
            member.person_id, member.basis, member.linked_at = new_person_id, "clerk decision", now
            for other in others:
                left, right = sorted((patient_id, other))
                existing = s.scalars(
                    select(MpiReview).where(MpiReview.patient_l == left, MpiReview.patient_r == right)
                ).first()
                if existing is None:
                    existing = MpiReview(
                        patient_l=left, patient_r=right, created_at=now, reason="split by a clerk"
                    )
                    s.add(existing)
                existing.status, existing.decided_at, existing.decided_by, existing.note = (
                    ReviewStatus.REJECTED,
                    now,
                    actor,
                    note,
                )
            self._add_events(
                s,
                [
                    Change(
                        EventKind.SPLIT, new_person_id, old_person, (patient_id,), note or "split by a clerk"
                    )
                ],
                actor,
                None,
                now,
            )
            return sorted(others)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _older(s: Session, a: str, b: str) -> tuple[str, str]:
        rows = {p.id: p for p in s.scalars(select(MpiPerson).where(MpiPerson.id.in_([a, b])))}
        first, second = sorted((a, b), key=lambda p: (rows[p].created_at, p))
        return first, second

    @staticmethod
    def _add_events(
        s: Session, changes: Sequence[Change], actor: str, job_id: str | None, now: datetime
    ) -> None:
        if not changes:
            return
        _bulk_insert(
            s,
            MpiEvent.__table__,
            {"at": now, "actor": actor, "job_id": job_id},
            {
                "kind": [c.kind for c in changes],
                "person_id": [c.person_id for c in changes],
                "other_person_id": [c.other_person_id for c in changes],
                "patient_id": [c.patient_ids[0] if len(c.patient_ids) == 1 else None for c in changes],
                "reason": [c.reason for c in changes],
                "details": [{"patient_ids": list(c.patient_ids)} if c.patient_ids else None for c in changes],
            },
        )

    @staticmethod
    def _upsert_reviews(s: Session, candidates: Iterable[dict], job_id: str, now: datetime) -> None:
        """New pending items; refreshed scores on pending ones; decided items are never touched."""
        candidates = list(candidates)
        if not candidates:
            return
        existing: dict[tuple[str, str], MpiReview] = {}
        lefts = sorted({c["patient_l"] for c in candidates})
        for chunk in _chunks(lefts, 500):
            for row in s.scalars(select(MpiReview).where(MpiReview.patient_l.in_(chunk))):
                existing[(row.patient_l, row.patient_r)] = row
        fresh = []
        for c in candidates:
            row = existing.get((c["patient_l"], c["patient_r"]))
            if row is None:
                fresh.append({**c, "status": ReviewStatus.PENDING, "created_at": now, "job_id": job_id})
            elif row.status in (ReviewStatus.PENDING, ReviewStatus.SUPERSEDED):
                row.status = ReviewStatus.PENDING
                row.match_probability, row.reason, row.evidence = (
                    c["match_probability"],
                    c["reason"],
                    c["evidence"],
                )
        if fresh:
            s.execute(insert(MpiReview), fresh)


def _bulk_insert(s: Session, table: Table, constants: dict[str, Any], columns: dict[str, list]) -> None:
    """INSERT many rows through the driver's bulk path: COPY on PostgreSQL, the driver's executemany
    on SQLite, SQLAlchemy's insertmanyvalues elsewhere.

    A run writes up to a million members, persons and events at once. SQLAlchemy's executemany
    converts and re-packs every value of every row, which at that size costs twice the driver's
    own time on SQLite and more on PostgreSQL; here a constant (the run's timestamp, job, actor)
    is converted once, a varying value only if its type needs it (by the type's own bind
    processor), and the driver gets plain rows.
    """
    connection = s.connection()
    dialect = connection.dialect
    names = [*constants, *columns]
    count = len(next(iter(columns.values())))
    series: dict[str, Any] = {}
    for name, value in constants.items():
        process = _processor(table.c[name].type, dialect)
        series[name] = repeat(process(value) if process else value, count)
    for name, values in columns.items():
        process = _processor(table.c[name].type, dialect)
        series[name] = [process(v) for v in values] if process else values
    rows = zip(*(series[name] for name in names), strict=True)
    quote = dialect.identifier_preparer.quote
    target = f"{quote(table.name)} ({', '.join(quote(name) for name in names)})"
    if dialect.name == "postgresql":
        driver = connection.connection.driver_connection  # in the session's transaction
        with driver.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elif dialect.paramstyle == "qmark":
        connection.exec_driver_sql(f"INSERT INTO {target} VALUES ({', '.join('?' * len(names))})", list(rows))
    else:
        connection.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])


def _processor(column_type: Any, dialect: Any) -> Any:
    # dialect_impl: the dialect's own processing (SQLite stores timestamps as text in its format).
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None and isinstance(column_type, JSON):  # SQLAlchemy would have the driver adapt it
        return lambda value: None if value is None else json.dumps(value)
    return process


def _previous_decision(row: MpiReview, status: ReviewStatus, override: str | None) -> str | None:
    """What an override replaces ("overrides rejected by alice at …"), None for a first decision;
    refuses a second decision that is not an override, and an override that changes nothing."""
    if row.status not in (ReviewStatus.ACCEPTED, ReviewStatus.REJECTED):
        return None if override is None else _nothing_to_override(row)
    by = f"{row.status} by {row.decided_by or 'unknown'}"
    when = f" at {row.decided_at:%Y-%m-%d %H:%M:%S} UTC" if row.decided_at else ""
    if row.status == status:
        raise DecisionError(f"review item {row.id} is already {by}{when}: nothing changed")
    if override is None:
        raise DecisionError(
            f"review item {row.id} was {by}{when}; to change it, decide again with --override "
            "--reason '…' (the history keeps both decisions and why)"
        )
    return f"overrides {by}{when}"


def _nothing_to_override(row: MpiReview) -> str:
    raise DecisionError(f"review item {row.id} is {row.status}, not decided: decide it without --override")


def _review_item(row: MpiReview) -> ReviewItem:
    return ReviewItem(
        row.id,
        row.patient_l,
        row.patient_r,
        row.status,
        row.match_probability,
        row.reason,
        row.evidence,
        row.created_at,
        row.decided_at,
        row.decided_by,
        row.note,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
