"""A person's record across institutions, and the direct reader over the Delta warehouse.

:class:`PersonRecord` is what every reader returns: the golden demographics with their
sources, the linked patients, a timeline (one row per encounter, condition, procedure,
medication request, immunization, claim and payment) and observation series as tidy rows
(time, code, name, value, unit, institution, source id) that plot as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from medlake.errors import NotFound, NotReady
from medlake.person.golden import GOLDEN_TABLE, LINK_TABLE
from medlake.person.queries import (
    LINK_COLUMNS,
    OBSERVATION_COLUMNS,
    TIMELINE_COLUMNS,
    observation_sql,
    sql_literal,
    timeline_sql,
)
from medlake.person.survivorship import FIELD_GROUPS
from medlake.workspace import Workspace

#: Warehouse tables the person record reads.
SOURCE_TABLES = (
    "person_link",
    "person_golden",
    "encounter",
    "condition",
    "procedure",
    "medication_request",
    "immunization",
    "claim",
    "explanation_of_benefit",
    "observation",
    "observation_component",
)


class UnknownPersonError(NotFound):
    """No linked person has this global id."""

    def __init__(self, person_id: str, where: str) -> None:
        super().__init__(person_id)
        self.person_id = person_id
        self.message = (
            f"no person {person_id!r} in {where}: global ids are warehouse.person_link.person_id "
            "(run `medlake link run` then `medlake person build` after new data)"
        )

    def __str__(self) -> str:
        return self.message


@dataclass
class PersonRecord:
    """One resident across institutions."""

    person_id: str
    #: golden demographics: field -> value, plus ``<group>_from`` citing the integrated patient id
    golden: dict[str, Any]
    #: linked patients: person_id, patient_id, institution, match_basis
    patients: pd.DataFrame
    #: one row per event, in time order (undated events last)
    timeline: pd.DataFrame
    #: numeric observations and components: one row per value, by code then time
    observations: pd.DataFrame
    source: str = field(default="")

    def sources(self) -> dict[str, dict[str, str | None]]:
        """Field group -> {institution, patient_id} of the record it was taken from."""
        cited: dict[str, dict[str, str | None]] = {}
        institution_of = dict(zip(self.patients["patient_id"], self.patients["institution"], strict=True))
        for group in FIELD_GROUPS:
            patient = self.golden.get(f"{group}_from")
            cited[group] = {"institution": institution_of.get(patient), "patient_id": patient}
        return cited

    def series_summary(self) -> pd.DataFrame:
        """Per series: code, name, unit, count and the latest value with its time."""
        columns = ["code", "name", "count", "latest_value", "unit", "latest_time"]
        obs = self.observations
        if obs.empty:
            return pd.DataFrame(columns=columns)
        counts = obs.groupby("code", sort=True).size().rename("count")
        dated = obs.sort_values(["code", "time"], na_position="first", kind="mergesort")
        latest = dated.groupby("code", sort=True).tail(1).set_index("code")
        summary = latest.join(counts).reset_index()
        summary = summary.rename(columns={"value": "latest_value", "time": "latest_time"})
        return summary[columns]

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "golden": self.golden,
            "sources": self.sources(),
            "patients": _records(self.patients),
            "timeline": _records(self.timeline),
            "observations": _records(self.observations),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")


def assemble(
    person_id: str,
    golden: dict[str, Any],
    patients: Sequence[Sequence[Any]],
    timeline: Sequence[Sequence[Any]],
    observations: Sequence[Sequence[Any]],
    source: str,
) -> PersonRecord:
    """A record from raw rows (in the column orders of :mod:`queries`), ordered the same way for every
    reader: sorting here, not in each store's SQL, keeps text collation out of the result. Sorting
    tuples before building the frames is several times cheaper than sorting the frames."""
    return PersonRecord(
        person_id=person_id,
        golden=golden,
        patients=_frame(patients, LINK_COLUMNS, ("patient_id",)),
        timeline=_frame(timeline, TIMELINE_COLUMNS, ("time", "kind", "source_id")),
        observations=_frame(observations, OBSERVATION_COLUMNS, ("code", "time", "source_id", "component")),
        source=source,
    )


def _frame(rows: Sequence[Sequence[Any]], columns: Sequence[str], order: Sequence[str]) -> pd.DataFrame:
    """Rows sorted by ``order`` (missing values last) as a frame without the person_id column."""
    positions = [columns.index(c) for c in order]

    def key(row: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
        return tuple((row[i] is None, "" if row[i] is None else row[i]) for i in positions)

    ordered = sorted((tuple(r) for r in rows), key=key)
    data: dict[str, Any] = {}
    for i, column in enumerate(columns):
        if column == "person_id":
            continue
        values = [r[i] for r in ordered]
        if column == "value":
            data[column] = pd.array([float("nan") if v is None else float(v) for v in values], "float64")
        elif column == "component":
            data[column] = pd.array([int(v) for v in values], "int64")
        else:
            data[column] = pd.array(values, dtype=object)
    return pd.DataFrame(data, columns=[c for c in columns if c != "person_id"])


class DirectReader:
    """Layout (a): DuckDB over the Delta warehouse tables, one connection kept open.

    Nothing to build, always current, but every lookup scans the tables' files (pruned only
    where Parquet statistics happen to exclude the id), so it slows down as the region grows.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.engine = workspace.engine()
        self.tables: set[str] = set()
        for name in SOURCE_TABLES:
            data = workspace.lake.dataset(workspace.table_uri(f"warehouse.{name}"))
            if data is not None:
                self.engine.register_table("warehouse", name, data)
                self.tables.add(name)
        for needed in (LINK_TABLE, GOLDEN_TABLE):
            if needed.split(".", 1)[1] not in self.tables:
                hint = "medlake link run" if needed == LINK_TABLE else "medlake person build"
                raise NotReady(f"no table {needed}: run `{hint}` first")

    def record(self, person_id: str) -> PersonRecord:
        literal = sql_literal(person_id)
        golden = self.engine.sql(f"SELECT * FROM warehouse.person_golden WHERE person_id = {literal}")
        if golden.num_rows == 0:
            raise UnknownPersonError(person_id, "warehouse.person_golden")
        links = self.engine.sql(
            f"SELECT {', '.join(LINK_COLUMNS)} FROM warehouse.person_link WHERE person_id = {literal}"
        )
        timeline = self.engine.sql(timeline_sql(self.tables, literal))
        observations = self.engine.sql(observation_sql(self.tables, literal))
        return assemble(
            person_id,
            golden.to_pylist()[0],
            _rows(links, LINK_COLUMNS),
            _rows(timeline, TIMELINE_COLUMNS),
            _rows(observations, OBSERVATION_COLUMNS),
            "warehouse (direct)",
        )

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> DirectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rows(table: Any, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    data = [table.column(c).to_pylist() for c in columns]
    return list(zip(*data, strict=True)) if data else []
