"""Running reads and searches on the index, with the caller's access scope inside the SQL.

Every statement here starts from :func:`visible`, which puts the :class:`Scope`'s patients and
institutions into the ``WHERE`` clause: a row the principal may not see is never fetched, so
it cannot leak through a total, a page, an include or a sort order. The scope comes from
``medlake.access.policy.authorize``; this module never decides access itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import orjson
from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select
from sqlalchemy.engine import Engine

from medlake.serving.definitions import SearchParameter
from medlake.serving.query import Criterion, SearchQuery, split_prefix
from medlake.serving.schema import INDEX_TABLES, references, resources
from medlake.serving.values import date_interval, normalise


class Scope(Protocol):
    """What one principal may read of one type (``medlake.access.policy.AccessScope``)."""

    @property
    def patients(self) -> frozenset[str] | None: ...

    @property
    def institutions(self) -> frozenset[str] | None: ...


@dataclass(frozen=True)
class Found:
    """A resource as served, with the global person it belongs to (for the audit trail)."""

    resource: dict[str, Any]
    person_id: str | None

    @property
    def id(self) -> str:
        return str(self.resource["id"])

    @property
    def resource_type(self) -> str:
        return str(self.resource["resourceType"])


@dataclass(frozen=True)
class SearchPage:
    total: int
    matches: list[Found]
    included: list[Found]
    offset: int
    has_next: bool


def visible(resource_type: str, scope: Scope) -> ColumnElement[bool]:
    """The rows of ``resource_type`` that ``scope`` lets its principal read."""
    condition = resources.c.type == resource_type
    if scope.patients is not None:
        # an empty set reads nothing: IN () is false
        condition = and_(
            condition, resources.c.person_id.in_(sorted(scope.patients)) if scope.patients else false()
        )
    if scope.institutions is not None:
        condition = and_(
            condition,
            resources.c.institution.in_(sorted(scope.institutions)) if scope.institutions else false(),
        )
    return condition


def read(engine: Engine, resource_type: str, resource_id: str, scope: Scope) -> Found | None:
    """One resource, or None if it does not exist *or* the scope does not reach it (answer 404)."""
    statement = select(resources.c.resource, resources.c.person_id).where(
        visible(resource_type, scope), resources.c.id == resource_id
    )
    with engine.connect() as con:
        row = con.execute(statement).one_or_none()
    return Found(orjson.loads(row[0]), row[1]) if row is not None else None


def read_many(engine: Engine, resource_type: str, ids: Iterable[str], scope: Scope) -> list[Found]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    statement = (
        select(resources.c.resource, resources.c.person_id)
        .where(visible(resource_type, scope), resources.c.id.in_(wanted))
        .order_by(resources.c.id)
    )
    with engine.connect() as con:
        return [Found(orjson.loads(text), person) for text, person in con.execute(statement)]


def search(
    engine: Engine,
    query: SearchQuery,
    scope: Scope,
    offset: int = 0,
    include_scope: Callable[[str], Scope | None] | None = None,
) -> SearchPage:
    """The page at ``offset`` of ``query``'s matches that ``scope`` reaches, with its total.

    ``include_scope(type)`` is asked for the scope of each type an ``_include`` reaches (None:
    the principal may read none of it); included resources go through :func:`visible` too.
    """
    condition = and_(
        visible(query.resource_type, scope), *(_matches(query.resource_type, c) for c in query.criteria)
    )
    with engine.connect() as con:
        total = con.execute(select(func.count()).select_from(resources).where(condition)).scalar_one()
        if query.summary_count or query.count == 0:
            return SearchPage(total, [], [], offset, False)
        statement: Select[Any] = select(resources.c.id, resources.c.resource, resources.c.person_id).where(
            condition
        )
        for parameter, descending in query.sort:
            key = _sort_key(query.resource_type, parameter, descending)
            statement = statement.order_by(key.desc().nulls_last() if descending else key.asc().nulls_last())
        statement = statement.order_by(resources.c.id).limit(query.count).offset(offset)
        rows = con.execute(statement).all()
    matches = [Found(orjson.loads(text), person) for _, text, person in rows]
    included = _included(engine, query, [i for i, _, _ in rows], include_scope) if query.include else []
    return SearchPage(total, matches, included, offset, offset + len(rows) < total)


def _included(
    engine: Engine, query: SearchQuery, ids: list[str], include_scope: Callable[[str], Scope | None] | None
) -> list[dict[str, Any]]:
    if not ids or include_scope is None:
        return []
    wanted: dict[str, set[str]] = {}
    with engine.connect() as con:
        for parameter, target in query.include:
            statement = select(references.c.target_type, references.c.target_id).where(
                references.c.type == query.resource_type,
                references.c.param == parameter.code,
                references.c.id.in_(ids),
            )
            if target is not None:
                statement = statement.where(references.c.target_type == target)
            for target_type, target_id in con.execute(statement):
                wanted.setdefault(target_type, set()).add(target_id)
    included: list[Found] = []
    for target_type in sorted(wanted):
        scope = include_scope(target_type)
        if scope is not None:
            included += read_many(engine, target_type, wanted[target_type], scope)
    return included


def _sort_key(resource_type: str, parameter: SearchParameter, descending: bool) -> Any:
    table = INDEX_TABLES[parameter.type]
    if parameter.type == "date":
        column = table.c.high if descending else table.c.low
    elif parameter.type == "reference":
        column = table.c.target_id
    elif parameter.type in ("token", "uri"):
        column = table.c.code
    else:
        column = table.c.value
    aggregate = func.max(column) if descending else func.min(column)
    return (
        select(aggregate)
        .where(table.c.type == resource_type, table.c.id == resources.c.id, table.c.param == parameter.code)
        .scalar_subquery()
    )


def _matches(resource_type: str, criterion: Criterion) -> ColumnElement[bool]:
    """The resources matching one criterion, as ``id IN (…)``: the index table is searched by its
    value first (a covering index on type, param, value, id), never once per candidate resource."""
    parameter = criterion.parameter
    table = INDEX_TABLES[parameter.type]
    own = and_(table.c.type == resource_type, table.c.param == parameter.code)
    if criterion.modifier == "missing":
        present = resources.c.id.in_(select(table.c.id).where(own))
        return not_(present) if criterion.values[0] == "true" else present
    alternatives = [_value_condition(parameter, criterion.modifier, table, v) for v in criterion.values]
    return resources.c.id.in_(select(table.c.id).where(own, or_(*alternatives)))


def _value_condition(
    parameter: SearchParameter, modifier: str | None, table: Any, value: str
) -> ColumnElement[bool]:
    kind = parameter.type
    if kind in ("token", "uri"):
        if kind == "uri" or "|" not in value:
            return table.c.code == value
        system, code = value.split("|", 1)
        if not system:
            return and_(table.c.system.is_(None), table.c.code == code)
        if not code:
            return table.c.system == system
        return and_(table.c.system == system, table.c.code == code)
    if kind == "string":
        if modifier == "exact":
            return table.c.exact == value
        wanted = normalise(value)
        if modifier == "contains":
            return table.c.value.contains(wanted, autoescape=True)
        return table.c.value.startswith(wanted, autoescape=True)
    if kind == "reference":
        target_type = modifier
        parts = value.split("/_history/", 1)[0].rstrip("/").split("/")
        if len(parts) >= 2:
            target_type, target_id = parts[-2], parts[-1]
        else:
            target_id = parts[0]
        condition = table.c.target_id == target_id
        if target_type:
            condition = and_(condition, table.c.target_type == target_type)
        return condition
    if kind == "date":
        prefix, rest = split_prefix(value)
        low, high = date_interval(rest)  # type: ignore[misc]  # checked by the parser
        inside = and_(table.c.low >= low, table.c.high <= high)
        return {
            "eq": inside,
            "ne": not_(inside),
            "gt": table.c.high > high,
            "lt": table.c.low < low,
            "ge": or_(table.c.high > high, inside),
            "le": or_(table.c.low < low, inside),
        }[prefix]
    return _quantity_condition(table, value, with_unit=kind == "quantity")


def _quantity_condition(table: Any, value: str, *, with_unit: bool) -> ColumnElement[bool]:
    prefix, rest = split_prefix(value)
    number_text, system, code = ([*rest.split("|"), "", ""])[:3] if with_unit else (rest, "", "")
    number = Decimal(number_text)
    # eq is "within the precision the number was written with" (FHIR R4 §3.1.1.4.5)
    half = Decimal(1).scaleb(number.as_tuple().exponent) / 2  # type: ignore[arg-type]
    low, high = float(number - half), float(number + half)
    column = table.c.value
    condition = {
        "eq": and_(column >= low, column < high),
        "ne": or_(column < low, column >= high),
        "lt": column < float(number),
        "le": column <= float(number),
        "gt": column > float(number),
        "ge": column >= float(number),
    }[prefix]
    if system:
        condition = and_(condition, table.c.system == system)
    if code:
        condition = and_(condition, table.c.code == code)
    return condition
