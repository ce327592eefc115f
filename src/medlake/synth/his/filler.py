"""Create the demo HIS on any SQLAlchemy URL, fill it, and change it between import runs.

``apply_changes`` does what a hospital does between two nightly imports: new patients
arrive with visits, results and prescriptions; open visits are discharged, lab results
are corrected, addresses change and prescriptions end, each stamping ``modified_at``
later than anything before. Its "now" is one day after the newest ``modified_at`` in
the database, and its random choices are seeded from the seed and that moment, so the
same database and seed always receive the same changes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, create_engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from medlake.errors import InputError, NotReady, SourceError
from medlake.sources.database.connection import display_url, scrub
from medlake.synth.his import catalogue as cat
from medlake.synth.his.generator import Counters, HisGenerator, Rows
from medlake.synth.his.schema import (
    TABLES,
    diagnosis,
    lab_result,
    metadata,
    patient,
    prescription,
    visit,
)

INSERT_BATCH_PATIENTS = 500


@dataclass
class HisSummary:
    """Rows inserted and updated per table."""

    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"inserted": self.inserted, "updated": self.updated}


def _engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """A database that refuses (unreachable, no such database, no rights) as one clear error, without
    the URL's secrets."""
    try:
        yield
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = detail[0] if detail else type(exc).__name__
        raise SourceError(scrub(f"{display_url(url)}: {type(exc).__name__}: {reason}", url)) from None


def _insert(connection: Connection, rows: Rows, summary: HisSummary) -> None:
    for table in TABLES:
        batch = rows.tables.get(table.name)
        if batch:
            connection.execute(table.insert(), batch)
            summary.inserted[table.name] = summary.inserted.get(table.name, 0) + len(batch)


def create_and_fill(url: str, patients: int = 100, seed: int = 1) -> HisSummary:
    """(Re)create the demo HIS tables at ``url`` and fill them with ``patients`` patient histories."""
    if patients < 0:
        raise InputError("patients must be 0 or more")
    engine = _engine(url)
    summary = HisSummary(inserted={t.name: 0 for t in TABLES})
    try:
        with _database_errors(url):
            metadata.drop_all(engine, checkfirst=True)
            metadata.create_all(engine)
            generator = HisGenerator(random.Random(seed), Counters())
            with engine.begin() as connection:
                done = 0
                while done < patients:
                    rows = Rows()
                    for _ in range(min(INSERT_BATCH_PATIENTS, patients - done)):
                        generator.patient(rows)
                        done += 1
                    _insert(connection, rows, summary)
    finally:
        engine.dispose()
    return summary


def _counters(connection: Connection) -> Counters:
    def top(column) -> int:
        return connection.execute(select(func.coalesce(func.max(column), 0))).scalar_one()

    orders = connection.execute(select(func.count(func.distinct(lab_result.c.order_no)))).scalar_one()
    return Counters(
        patient=top(patient.c.patient_id),
        visit=top(visit.c.visit_id),
        diagnosis=top(diagnosis.c.diagnosis_id),
        lab_result=top(lab_result.c.result_id),
        prescription=top(prescription.c.prescription_id),
        order=orders,
    )


def newest_change(connection: Connection) -> datetime:
    """The latest ``modified_at`` of any table: the demo HIS's clock."""
    latest = [connection.execute(select(func.max(t.c.modified_at))).scalar_one() for t in TABLES]
    present = [moment for moment in latest if moment is not None]
    if not present:
        raise NotReady("the demo HIS is empty: create it first (`medlake synth his URL`)")
    return max(present)


def apply_changes(
    url: str,
    seed: int = 1,
    new_patients: int = 5,
    discharges: int = 5,
    corrections: int = 10,
    moves: int = 3,
    stopped_prescriptions: int = 3,
) -> HisSummary:
    """One day of hospital activity: new rows and updated rows with newer ``modified_at``."""
    engine = _engine(url)
    summary = HisSummary()
    try:
        with _database_errors(url), engine.begin() as connection:
            now = newest_change(connection) + timedelta(days=1)
            rng = random.Random(f"{seed}:{now.isoformat()}")
            counters = _counters(connection)
            day = HisGenerator(rng, counters, start=now, span=timedelta(hours=20), visit_spread_days=0)
            rows = Rows()
            for _ in range(new_patients):
                day.patient(rows)
            moment = iter(now + timedelta(minutes=7 * i) for i in range(1, 10_000))
            summary.updated["visit"], discharged_prescriptions = _discharge(
                connection, rng, discharges, moment
            )
            summary.updated["lab_result"] = _correct(
                connection, rng, day, counters.lab_result, corrections, moment
            )
            summary.updated["patient"] = _move(connection, rng, counters.patient, moves, moment)
            summary.updated["prescription"] = discharged_prescriptions + _stop(
                connection, rng, stopped_prescriptions, moment
            )
            summary.inserted = {t.name: 0 for t in TABLES}
            _insert(connection, rows, summary)
    finally:
        engine.dispose()
    return summary


def _discharge(connection: Connection, rng: random.Random, count: int, moment) -> tuple[int, int]:
    """Discharge open visits; their active prescriptions complete with them."""
    open_visits = (
        connection.execute(
            select(visit.c.visit_id).where(visit.c.visit_status == "A").order_by(visit.c.visit_id)
        )
        .scalars()
        .all()
    )
    changed = ended = 0
    for visit_id in rng.sample(list(open_visits), min(count, len(open_visits))):
        when = next(moment)
        connection.execute(
            update(visit)
            .where(visit.c.visit_id == visit_id)
            .values(visit_status="D", discharge_time=when, modified_at=when)
        )
        ended += connection.execute(
            update(prescription)
            .where(prescription.c.visit_id == visit_id, prescription.c.rx_status == "A")
            .values(rx_status="C", end_date=when.date(), modified_at=when)
        ).rowcount
        changed += 1
    return changed, ended


def _correct(
    connection: Connection, rng: random.Random, day: HisGenerator, last_id: int, count: int, moment
) -> int:
    """Corrected results: a new value, status C, a later ``modified_at`` (a new FHIR version)."""
    changed = 0
    for result_id in rng.sample(range(1, last_id + 1), min(count, last_id)):
        code = connection.execute(
            select(lab_result.c.test_code).where(lab_result.c.result_id == result_id)
        ).scalar_one_or_none()
        test = next((t for t in cat.LAB_TESTS if t.code == code), None)
        if test is None:
            continue
        value, unit, reference, flag = day.lab_value(test)
        connection.execute(
            update(lab_result)
            .where(lab_result.c.result_id == result_id)
            .values(
                result_value=value,
                unit=unit,
                ref_range=reference,
                abnormal_flag=flag,
                result_status="C",
                modified_at=next(moment),
            )
        )
        changed += 1
    return changed


def _move(connection: Connection, rng: random.Random, last_id: int, count: int, moment) -> int:
    changed = 0
    for patient_id in rng.sample(range(1, last_id + 1), min(count, last_id)):
        city, postal = rng.choice(cat.CITIES)
        result = connection.execute(
            update(patient)
            .where(patient.c.patient_id == patient_id)
            .values(
                street=f"{rng.choice(cat.STREETS)} {rng.randint(1, 120)}",
                city=city,
                postal_code=postal,
                modified_at=next(moment),
            )
        )
        changed += result.rowcount
    return changed


def _stop(connection: Connection, rng: random.Random, count: int, moment) -> int:
    active = (
        connection.execute(
            select(prescription.c.prescription_id)
            .where(prescription.c.rx_status == "A")
            .order_by(prescription.c.prescription_id)
        )
        .scalars()
        .all()
    )
    changed = 0
    for prescription_id in rng.sample(list(active), min(count, len(active))):
        when = next(moment)
        connection.execute(
            update(prescription)
            .where(prescription.c.prescription_id == prescription_id)
            .values(rx_status="S", end_date=when.date(), modified_at=when)
        )
        changed += 1
    return changed
