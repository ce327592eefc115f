"""What to select from a table or query, in which order, from where the last run ended.

Rows are read in a total order: by the primary key for a full import, by the check
column and then the key for an incremental one. Each commit group is one query that
continues after the last row of the previous group (keyset pagination: ``(check, key) >
(last check, last key)``), streamed in chunks through a server-side cursor
(``yield_per``). So no query stays open while the lake commits, a dropped connection
is noticed at the latest when the next group's query is sent, and each query's cost is
one index range scan (index the check column of large tables).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, column, false, func, inspect, or_, select, table, text
from sqlalchemy.engine import Row
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.types import TypeEngine

from medlake.errors import InputError
from medlake.sources.tabular.mapping import SqlOptions, TableMapping


class TableReadError(InputError):
    """A table or query that does not fit its mapping (missing column, no key, NULL check values)."""


@dataclass(frozen=True)
class TablePlan:
    """A mapping table bound to a real table or query: database names of everything it reads."""

    table: TableMapping
    options: SqlOptions
    label: str  # the table's name or "query", for messages
    selected: tuple[str, ...]  # database column names, in select order
    names: dict[str, str]  # database column name → mapping column name (declared columns only)
    key: tuple[str, ...]
    order: tuple[str, ...]
    check: str | None
    types: dict[str, TypeEngine] = field(
        default_factory=dict
    )  # reflected, so every dialect gives Python types

    @property
    def incremental(self) -> bool:
        return self.options.incremental != "none"

    def source(self) -> Any:
        if self.options.query is not None:
            return text(f"({self.options.query}) medlake_q")
        return table(self.options.table, *(self.col(n) for n in self.selected), schema=self.options.schema)

    def col(self, name: str) -> ColumnClause:
        return column(name, self.types.get(name))

    def statement(self, start: Any, after: Sequence[Any] | None, limit: int) -> Select:
        query = select(*(self.col(n) for n in self.selected)).select_from(self.source())
        if self.incremental:
            assert self.check is not None
            check = self.col(self.check)
            query = query.where(check.is_not(None))
            if start is not None:
                if self.options.incremental == "append":
                    query = query.where(check > start)
                else:
                    query = query.where(check >= _minus(start, self.options.lookback_seconds))
        if after is not None:
            query = query.where(keyset_after([self.col(n) for n in self.order], after))
        return query.order_by(*(self.col(n) for n in self.order)).limit(limit)

    def null_checks(self, connection: Connection) -> int:
        assert self.check is not None
        query = select(func.count()).select_from(self.source()).where(self.col(self.check).is_(None))
        return connection.execute(query).scalar_one()


def _minus(start: Any, seconds: int) -> Any:
    if not seconds:
        return start
    if isinstance(start, datetime):
        return start - timedelta(seconds=seconds)
    if isinstance(start, date):
        return start - timedelta(days=-(-seconds // 86400))  # whole days, rounded up
    raise TableReadError(
        f"lookback_seconds needs a date or timestamp check column, not {type(start).__name__}"
    )


def keyset_after(columns: Sequence[ColumnElement], values: Sequence[Any]) -> ColumnElement:
    """Rows after ``values`` in the order of ``columns`` (written out: not every database has row values)."""
    terms = []
    for position, col in enumerate(columns):
        equal = [columns[i] == values[i] for i in range(position)]
        terms.append(and_(*equal, col > values[position]))
    return or_(*terms) if terms else false()


def plan_table(connection: Connection, mapping_table: TableMapping, options: SqlOptions) -> TablePlan:
    """Bind ``mapping_table`` to the database: resolve names, the key and the check column."""
    if options.table is None and options.query is None:
        options = replace(options, table=mapping_table.name)
    if options.query is not None:
        label = f"query of table '{mapping_table.name}'"
        probe = select(text("*")).select_from(text(f"({options.query}) medlake_q")).where(false())
        available = list(connection.execute(probe).keys())
        primary: list[str] = []
        types: dict[str, TypeEngine] = {}
    else:
        label = f"table {options.schema + '.' if options.schema else ''}{options.table}"
        inspector = inspect(connection)
        if not inspector.has_table(options.table, schema=options.schema):
            raise TableReadError(f"{label} does not exist (mapping table '{mapping_table.name}')")
        reflected = inspector.get_columns(options.table, schema=options.schema)
        available = [c["name"] for c in reflected]
        types = {c["name"]: c["type"] for c in reflected}
        primary = (
            inspector.get_pk_constraint(options.table, schema=options.schema).get("constrained_columns") or []
        )
    spelled = {name.casefold(): name for name in available}

    def actual(name: str, what: str) -> str:
        found = spelled.get(name.strip().casefold())
        if found is None:
            raise TableReadError(
                f"{label} has no column {name!r} ({what}); its columns: {', '.join(available)}"
            )
        return found

    names: dict[str, str] = {}
    for col in mapping_table.columns.values():
        if col.source.strip().casefold() in spelled:
            names[actual(col.source, "declared")] = col.name
        elif not col.optional:
            actual(col.source, f"declared as column '{col.name}'")
    key = tuple(actual(k, "sql.key") for k in options.key) or tuple(primary)
    if not key:
        raise TableReadError(f"{label} has no primary key: declare sql.key, the columns that identify a row")
    check = actual(options.check_column, "sql.check_column") if options.check_column else None
    order = ((check,) if check else ()) + tuple(k for k in key if k != check)
    if options.incremental == "none":
        order = key
    selected = tuple(dict.fromkeys([*names, *key, *([check] if check else [])]))
    return TablePlan(mapping_table, options, label, selected, names, key, order, check, types)


def stream_group(
    connection: Connection, plan: TablePlan, start: Any, after: Sequence[Any] | None
) -> Iterator[list[Row]]:
    """The rows of one commit group, in chunks of ``chunk_size``; the read transaction ends with it."""
    statement = plan.statement(start, after, plan.options.commit_rows)
    result = connection.execution_options(stream_results=True, yield_per=plan.options.chunk_size).execute(
        statement
    )
    try:
        yield from result.partitions()
    finally:
        result.close()
        connection.rollback()  # a read-only transaction: end it so no snapshot is held while the lake commits
