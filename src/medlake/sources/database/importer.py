"""``medlake ingest sql``: import tables of a hospital database, fully or incrementally (the Sqoop job).

Per table of the mapping, in the order written: rows are read in commit groups of
``commit_rows`` (see ``reader``), each streamed in chunks of ``chunk_size`` rows; each
chunk is one delivery, fingerprinted by a hash of its rows' content, so a chunk read
again (a re-run, an overlap) is recognised and adds nothing. After a group is committed
to the lake, and only then, the table's last value advances to the group's last check
value in the catalog, so a failure at any point leaves the last value at the last
committed group and the next run continues from there.

Incremental modes, as Sqoop's ``--incremental``:

* ``append`` — rows whose check column (an ever-growing id) is greater than the last value;
* ``lastmodified`` — rows whose check column (a modification timestamp) is at or after
  the last value; rows changed since come again and become a newer version of the same
  FHIR resource (their ``meta.lastUpdated`` comes from the timestamp). The boundary is
  inclusive because rows may share the last timestamp, and content de-duplication makes
  re-reading them harmless; ``lookback_seconds`` widens it for systems whose
  transactions commit long after they stamp ``modified_at``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError

from medlake.errors import InputError, SourceError
from medlake.ingest import BatchReport, Delivery, check_institution, ingest_deliveries
from medlake.sources.database import watermark
from medlake.sources.database.connection import display_url, open_engine, scrub
from medlake.sources.database.reader import TablePlan, TableReadError, plan_table, stream_group
from medlake.sources.tabular.mapping import Mapping, SqlOptions, TableMapping, load_mapping
from medlake.sources.tabular.mapping_file import INCREMENTAL_MODES
from medlake.workspace import Workspace

log = logging.getLogger("medlake.sources.database")
SOURCE_KIND = "sql"


class SqlImportError(SourceError):
    """An import that stopped; the message says how far it got and holds no secret."""


@dataclass(frozen=True)
class Overrides:
    """Command-line overrides of a table's ``sql`` options (Sqoop's flags)."""

    incremental: str | None = None
    check_column: str | None = None
    last_value: str | None = None
    chunk_size: int | None = None
    commit_rows: int | None = None

    def apply(self, options: SqlOptions) -> SqlOptions:
        if self.incremental is not None and self.incremental not in INCREMENTAL_MODES:
            raise InputError(f"--incremental must be one of {', '.join(INCREMENTAL_MODES)}")
        changed = replace(
            options,
            incremental=self.incremental or options.incremental,
            check_column=self.check_column or options.check_column,
            chunk_size=self.chunk_size or options.chunk_size,
            commit_rows=self.commit_rows or options.commit_rows,
        )
        if changed.incremental == "none":
            changed = replace(changed, check_column=None)
        elif changed.check_column is None:
            raise InputError(f"incremental {changed.incremental} needs a check column (--check-column)")
        if changed.chunk_size < 1 or changed.commit_rows < 1:
            raise InputError("chunk size and commit rows must be at least 1")
        return changed


def default_source_id(institution: str, url: str) -> str:
    """The catalog key of an unregistered import's state: institution and database, never a secret."""
    name = f"{institution}:{SOURCE_KIND}:{display_url(url).split('://', 1)[1]}"
    if len(name) <= 100:
        return name
    return f"{name[:67]}~{hashlib.sha256(name.encode()).hexdigest()[:32]}"


def import_sql(
    workspace: Workspace,
    url: str,
    mapping: Mapping | str | Path,
    institution: str,
    *,
    source_id: str | None = None,
    tables: list[str] | None = None,
    overrides: Overrides | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[BatchReport]:
    """Import the mapping's tables (or the named ones) from ``url``; one report per chunk read.

    ``url`` is resolved already (no ``${VAR}`` left); it is only ever shown redacted.
    """
    check_institution(institution)
    chosen = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    selected = [chosen.table(name) for name in tables] if tables else list(chosen.tables.values())
    overrides = overrides or Overrides()
    if len(selected) > 1 and (overrides.check_column or overrides.last_value is not None):
        raise InputError("--check-column and --last-value apply to one table: choose it with --table")
    source_id = source_id or default_source_id(institution, url)
    display = display_url(url)
    engine = open_engine(url)
    reports: list[BatchReport] = []
    try:
        try:
            connection = engine.connect()
        except SQLAlchemyError as exc:
            raise SqlImportError(f"cannot connect to {display}: {scrub(_driver_message(exc), url)}") from None
        with connection:
            for mapping_table in selected:
                options = overrides.apply(mapping_table.sql)
                run = _TableRun(workspace, connection, chosen, institution, source_id, url, display, progress)
                reports.extend(run.run(mapping_table, options, overrides.last_value))
    finally:
        engine.dispose()
    return reports


def _driver_message(exc: SQLAlchemyError) -> str:
    """The driver's own words, without SQLAlchemy's statement echo and background link."""
    original = getattr(exc, "orig", None) or exc
    message = str(original).strip()
    return message.splitlines()[0] if message else type(original).__name__


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


class _TableRun:
    """One table's import: groups, deliveries, and the last value advancing behind the commits."""

    def __init__(
        self,
        workspace: Workspace,
        connection: Connection,
        mapping: Mapping,
        institution: str,
        source_id: str,
        url: str,
        display: str,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.workspace, self.connection, self.mapping = workspace, connection, mapping
        self.institution, self.source_id, self.url, self.display = institution, source_id, url, display
        self.progress = progress
        self.read = 0
        self.committed = 0

    def _fail(self, what: str, exc: BaseException, plan: TablePlan | None, last: Any) -> SqlImportError:
        detail = _driver_message(exc) if isinstance(exc, SQLAlchemyError) else f"{type(exc).__name__}: {exc}"
        where = plan.label if plan is not None else "the import"
        position = f"; the last value stays at {last!r}" if plan is not None and plan.incremental else ""
        message = (
            f"{self.display}: {where}: {what} after {self.committed} rows were committed{position}; "
            f"run the import again to continue from there: {detail}"
        )
        return SqlImportError(scrub(message, self.url))

    def run(
        self, mapping_table: TableMapping, options: SqlOptions, last_value: str | None
    ) -> list[BatchReport]:
        plan: TablePlan | None = None
        key = watermark.state_key(mapping_table, options)
        start: Any = None
        try:
            plan = plan_table(self.connection, mapping_table, options)
            if plan.incremental:
                if last_value is not None:
                    check_column = next(
                        (c for c in mapping_table.columns.values() if c.source == plan.check), None
                    )
                    start = watermark.parse_last_value(last_value, check_column)
                else:
                    stored = self.workspace.catalog.get_state(self.source_id, key)
                    start = watermark.decode(stored) if stored else None
                nulls = plan.null_checks(self.connection)
                if nulls:
                    raise TableReadError(
                        f"{plan.label}: {nulls} rows have NULL in the check column {plan.check!r}, so an "
                        "incremental import would never read them; use a query with COALESCE (e.g. of "
                        "modified and created times) as the check column, or incremental: none"
                    )
            self.connection.rollback()
        except (TableReadError, ValueError) as exc:
            raise SqlImportError(scrub(f"{self.display}: {exc}", self.url)) from None
        except SQLAlchemyError as exc:
            raise self._fail("reading the table's definition failed", exc, plan, start) from None
        log.info(
            "%s: importing %s (%s) from last value %s", self.display, plan.label, options.incremental, start
        )
        reports: list[BatchReport] = []
        after: tuple | None = None
        while True:
            group = _Group(self, plan)
            chunks = group.deliveries(start, after)
            try:
                first = next(chunks, None)
                if first is None:
                    break
                details = {
                    "kind": SOURCE_KIND,
                    "url": self.display,
                    "table": mapping_table.name,
                    "institution": self.institution,
                }
                reports.extend(
                    ingest_deliveries(
                        self.workspace, chain([first], chunks), details=details, progress=self.progress
                    )
                )
            except SQLAlchemyError as exc:
                raise self._fail("the database connection failed", exc, plan, start) from None
            except TableReadError as exc:
                raise self._fail("reading stopped", exc, plan, start) from None
            self.committed += group.rows
            if plan.incremental:
                start = group.last_check
                self.workspace.catalog.set_state(self.source_id, key, watermark.encode(start))
            log.info(
                "%s: %s: %d rows committed (%d in this run); last value %s",
                self.display, plan.label, group.rows, self.committed, start,
            )  # fmt: skip
            after = group.last_order
            if group.rows < options.commit_rows:
                break
        return reports


class _Group:
    """One commit group: its rows as chunk deliveries, remembering where the group ended."""

    def __init__(self, run: _TableRun, plan: TablePlan) -> None:
        self.run, self.plan = run, plan
        self.rows = 0
        self.last_order: tuple | None = None
        self.last_check: Any = None

    def deliveries(self, start: Any, after: tuple | None) -> Iterator[Delivery]:
        plan = self.plan
        order_positions = [plan.selected.index(n) for n in plan.order]
        key_positions = [plan.selected.index(n) for n in plan.key]
        check_position = plan.selected.index(plan.check) if plan.check else None
        previous = after
        for chunk in stream_group(self.run.connection, plan, start, after):
            for row in chunk:
                position = tuple(row[i] for i in order_positions)
                if any(row[i] is None for i in key_positions):
                    raise TableReadError(f"{plan.label}: a row has NULL in its key {plan.key}")
                if position == previous:
                    raise TableReadError(
                        f"{plan.label}: key {plan.key} is not unique: {position!r} comes twice"
                    )
                previous = position
            first_line = self.run.read + 1
            self.run.read += len(chunk)
            self.rows += len(chunk)
            self.last_order = previous
            if check_position is not None:
                self.last_check = chunk[-1][check_position]
            yield self._delivery(chunk, first_line)

    def _delivery(self, chunk: list[Row], first_line: int) -> Delivery:
        plan, run = self.plan, self.run
        names = [plan.names.get(n) for n in plan.selected]
        originals = [
            orjson.dumps(dict(zip(plan.selected, row, strict=True)), default=_json_default) for row in chunk
        ]
        digest = hashlib.sha256("\0".join((SOURCE_KIND, run.mapping.digest, plan.table.name)).encode())
        for original in originals:
            digest.update(original)
            digest.update(b"\n")
        cells = [{name: value for name, value in zip(names, row, strict=True) if name} for row in chunk]
        source = f"{run.display}#{plan.table.name}?rows={first_line}-{first_line + len(chunk) - 1}"
        table = plan.table

        def read() -> Iterator:
            for offset, (row_cells, original) in enumerate(zip(cells, originals, strict=True)):
                yield from table.records(row_cells, source, first_line + offset, original)

        return Delivery(run.institution, SOURCE_KIND, source, digest.hexdigest(), read)


__all__ = ["Overrides", "SqlImportError", "default_source_id", "import_sql"]
