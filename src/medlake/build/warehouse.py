"""The warehouse: one table per SQL-on-FHIR ViewDefinition of the view library.

Each view is compiled to one SQL query (``medlake.views``) and run by the engine over the
integrated table of its resource type; the ``institution`` column is carried onto every
row so tenants stay separable. ``build.run`` decides when each view runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import ExitStack

import pyarrow as pa

from medlake.build.changes import (
    INSTITUTIONS,
    SOURCE_VERSION,
    VIEW_HASH,
    changed_institutions,
    reflected_version,
    view_hash,
)
from medlake.build.rejects import BuildReject, without_failing_rows
from medlake.catalog import BuiltTable
from medlake.engine import Engine
from medlake.lake.scan import scanned
from medlake.lake.tables import Layer
from medlake.views import compile_view
from medlake.views.library import load_library
from medlake.workspace import Workspace

PASSTHROUGH = ("institution",)
#: Above this many changed resources a view recomputes the changed institutions instead of
#: replacing rows by id: the ids are spelled out in the commit's predicate (and its log entry).
MAX_KEYED_ROWS = 50_000


def views_by_resource(views: Mapping[str, dict] | None = None) -> dict[str, list[tuple[str, dict]]]:
    """The view library (or ``views``) by the resource type each view reads, names in order."""
    grouped: dict[str, list[tuple[str, dict]]] = {}
    for name, view in sorted((views or load_library()).items()):
        grouped.setdefault(view["resource"], []).append((name, view))
    return grouped


def build_view(
    workspace: Workspace,
    engine: Engine,
    name: str,
    view: dict,
    job_id: str,
    rejected: Callable[[list[BuildReject]], None] | None = None,
    full: bool = False,
    changed_ids: pa.Array | None = None,
) -> BuiltTable | None:
    """Bring one view's warehouse table up to its integrated table (None: no source yet).

    Only the institutions whose integrated rows changed since the version the table shows are
    recomputed, and only their partitions replaced; a table that shows its source's version is
    left alone (``written`` False); a new view, a changed definition or ``full`` recomputes all.
    ``changed_ids``: the ids of the integrated rows this build's merge just changed (handed over
    in-process by ``build.run``). When the view's table showed the version right before that
    merge and has a key column (``getResourceKey()``), only those resources' rows are computed
    and replaced; a re-run after a crash, which has no such list, recomputes the institutions.
    Rows the view cannot convert are left out and handed to ``rejected`` (see ``build.rejects``)
    before the table is written, so a re-run after a crash still hands them over.
    """
    lake = workspace.lake
    compiled = compile_view(view, engine.dialect)
    source_uri = lake.uri(Layer.INTEGRATED, compiled.resource)
    source = lake.table(source_uri)
    if source is None:
        return None
    source_version = source.version()
    uri = lake.uri(Layer.WAREHOUSE, name)
    fingerprint = view_hash(view)
    redo = (
        None
        if full
        else _institutions_to_redo(workspace, name, compiled.resource, source_version, fingerprint)
    )
    inputs: list[tuple[str, str, int | None]] = [
        ("dataset", f"integrated.{compiled.resource}", source_version)
    ]
    if redo is not None and not redo:
        return _settled(workspace, name, inputs)
    key = view_key(view)
    by_key = (
        redo is not None
        and key is not None
        and changed_ids is not None
        and len(changed_ids) <= MAX_KEYED_ROWS
        and _only_this_merge(workspace, source_uri, name, compiled.resource, job_id)
    )
    # every row of an integrated table has the table's type: the view need not parse it to check
    resource_type = engine.dialect.string_literal(compiled.resource)
    relation = f"(SELECT institution, resource, {resource_type} AS type FROM integrated_source)"
    with ExitStack() as scope:
        if by_key:
            assert changed_ids is not None
            ids = pa.table({"id": changed_ids})
            scope.enter_context(scanned(engine, "integrated_scan", source_uri, source, redo))
            scope.enter_context(engine.registered("changed_ids", ids))
            only = f"SELECT * FROM integrated_scan {engine.dialect.semi_join()} changed_ids USING (id)"
            scope.enter_context(engine.temporary("integrated_source", only))
        else:
            scope.enter_context(scanned(engine, "integrated_source", source_uri, source, redo))
        try:
            result = engine.sql(compiled.sql(relation, passthrough=PASSTHROUGH, type_column="type"))
        except engine.data_errors as exc:
            result, rejects = without_failing_rows(
                engine, view, compiled, "integrated_source", PASSTHROUGH, exc
            )
            if rejected is not None:
                rejected(rejects)
    metadata = {
        "medlake.job": job_id,
        "medlake.view": name,
        SOURCE_VERSION: str(source_version),
        VIEW_HASH: fingerprint,
    }
    predicate = None
    if redo is not None:
        metadata[INSTITUTIONS] = json.dumps(sorted(redo))
        literal = engine.dialect.string_literal
        predicate = "institution IN (" + ", ".join(literal(i) for i in sorted(redo)) + ")"
        if by_key:
            assert changed_ids is not None and key is not None
            keys = ", ".join(literal(i) for i in changed_ids.to_pylist())
            predicate += f" AND {engine.dialect.quote_identifier(key)} IN ({keys})"
    version = lake.write(
        uri, result, mode="overwrite", partition_by=["institution"], metadata=metadata, predicate=predicate
    )
    if redo is not None:
        return _settled(workspace, name, inputs, version)
    return BuiltTable(
        name=f"warehouse.{name}",
        layer=Layer.WAREHOUSE,
        uri=uri,
        version=version,
        rows=result.num_rows,
        rows_by_institution=_rows_by_institution(result),
        schema=result.schema,
        inputs=inputs,
    )


def view_key(view: dict) -> str | None:
    """The view's column holding each row's resource id (``getResourceKey()``) outside any
    ``forEach``: every row of a resource carries it, so its rows can be replaced by id."""
    pending = [n for n in view.get("select", []) if not _repeats(n)]
    while pending:
        node = pending.pop(0)
        for column in node.get("column", []):
            if column.get("path") == "getResourceKey()":
                return column["name"]
        pending.extend(n for n in node.get("select", []) if not _repeats(n))
    return None


def _repeats(node: dict) -> bool:
    return any(k in node for k in ("forEach", "forEachOrNull", "repeat", "unionAll"))


def _only_this_merge(workspace: Workspace, source_uri: str, name: str, resource: str, job_id: str) -> bool:
    """Whether the view's table shows the integrated version right before this job's one commit."""
    lake = workspace.lake
    uri = lake.uri(Layer.WAREHOUSE, name)
    source = f"{Layer.INTEGRATED.value}.{resource}"
    shown = reflected_version(lake, workspace.catalog, uri, f"warehouse.{name}", SOURCE_VERSION, source)
    if shown is None:
        return False
    commits = lake.commits_since(source_uri, shown)
    return len(commits) == 1 and commits[0].get("medlake.job") == job_id and INSTITUTIONS in commits[0]


def _institutions_to_redo(
    workspace: Workspace, name: str, resource: str, source_version: int, fingerprint: str
) -> set[str] | None:
    """The institutions whose rows of view ``name`` must be recomputed (None: all of them)."""
    lake = workspace.lake
    uri = lake.uri(Layer.WAREHOUSE, name)
    if lake.table(uri) is None:
        return None
    made_with = lake.commit_value(uri, VIEW_HASH)
    if made_with is None or made_with[1] != fingerprint:
        return None
    source = f"{Layer.INTEGRATED.value}.{resource}"
    shown = reflected_version(lake, workspace.catalog, uri, f"warehouse.{name}", SOURCE_VERSION, source)
    if shown is None:
        return None
    if shown >= source_version:
        return set()
    return changed_institutions(lake, lake.uri(Layer.INTEGRATED, resource), shown)


def _settled(
    workspace: Workspace, name: str, inputs: list[tuple[str, str, int | None]], version: int | None = None
) -> BuiltTable:
    """A view's table as the lake holds it (``version`` None: left as it was), from its log."""
    uri = workspace.lake.uri(Layer.WAREHOUSE, name)
    stats = workspace.lake.stats(uri)
    assert stats is not None
    return BuiltTable(
        name=f"warehouse.{name}",
        layer=Layer.WAREHOUSE,
        uri=uri,
        version=stats.version,
        rows=stats.rows,
        rows_by_institution=stats.rows_by_institution,
        schema=stats.schema,
        inputs=inputs,
        written=version is not None,
    )


def _rows_by_institution(table: pa.Table) -> dict[str, int]:
    counts = table.group_by("institution").aggregate([("institution", "count")])
    pairs = zip(
        counts.column("institution").to_pylist(), counts.column("institution_count").to_pylist(), strict=True
    )
    return dict(sorted(pairs))
