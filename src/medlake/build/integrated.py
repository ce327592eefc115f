"""The integrated layer: the current version of every resource, one Delta table per type.

"Current" is decided per (institution, type, local id) by, in order: the later
``meta.lastUpdated``, the higher numeric ``meta.versionId``, the later received batch,
the later line, and finally the content hash, so the choice never depends on timing.
A ``meta.lastUpdated`` more than ``last_updated_tolerance`` seconds after the version arrived
is not trusted (a sender's clock set wrong would otherwise keep a version stamped 2099 current
until 2099, whatever corrections follow): that version is ranked by its arrival instead, as
the newest of those received before it (:func:`current_keys`, ``fhir.instants.ranked_instants``),
and ``medlake quarantine --warnings`` reports it.

The ranking runs over the key columns only (:func:`current_keys`); the resource text, most
of the raw layer's bytes, is joined to the winners afterwards (:func:`current_versions`), so
the ranking window never carries it. Within an institution a content hash occurs once in the
raw layer (ingest stores only content the institution has not sent before), so the join on
(institution, type, id, content hash) finds exactly the ranked row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from medlake.build.changes import INSTITUTIONS, RAW_VERSION, reflected_version
from medlake.build.namespacing import namespace_resource, namespace_sql
from medlake.catalog import BuiltTable
from medlake.engine import Engine
from medlake.engine.dialect import Dialect
from medlake.lake import Lake
from medlake.lake.scan import scanned
from medlake.lake.tables import RAW_RESOURCES, TIMESTAMP, Layer
from medlake.workspace import Workspace

INTEGRATED_SCHEMA = pa.schema(
    [
        pa.field("institution", pa.string(), nullable=False),
        pa.field("id", pa.string(), nullable=False),
        pa.field("local_id", pa.string(), nullable=False),
        pa.field("version_id", pa.string()),
        pa.field("last_updated", TIMESTAMP),
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("resource", pa.string(), nullable=False),
    ]
)


def current_keys(d: Dialect, tolerance: int, relation: str = "raw") -> str:
    """The key of each resource's current version in the raw layer (relation ``raw``).

    ``tolerance``: see the module's docstring. A distrusted version ranks at the newest trusted
    ``meta.lastUpdated`` among the versions of its resource received before it (NULL if none),
    ties going to the later arrival: newer than what came before it, older than any later version
    dated after that. Distrusted versions are rare, so only they look back, through a join on their
    resources' keys.
    """
    distrusted = f"last_updated > {d.plus_seconds('received_at', tolerance)}"
    version_number = d.try_cast("version_id", d.sql_type("integer"))
    keys = ["institution", "resource_type", "resource_id", "content_hash"]
    versions = f"""(
        WITH keyed AS (
            SELECT institution, resource_type, resource_id, content_hash, version_id, received_at, line,
                   last_updated, coalesce({distrusted}, FALSE) AS distrusted
            FROM {relation}
        ), placed AS (
            SELECT late.institution, late.resource_type, late.resource_id, late.content_hash,
                   max(earlier.last_updated) AS ranked_at
            FROM (SELECT * FROM keyed WHERE distrusted) late
            LEFT JOIN keyed earlier
              ON earlier.institution = late.institution AND earlier.resource_type = late.resource_type
             AND earlier.resource_id = late.resource_id AND NOT earlier.distrusted
             AND (earlier.received_at < late.received_at
                  OR (earlier.received_at = late.received_at AND earlier.line < late.line))
            GROUP BY late.institution, late.resource_type, late.resource_id, late.content_hash
        )
        SELECT * FROM keyed LEFT JOIN placed USING ({", ".join(keys)})
    ) versions"""
    rank = f"""row_number() OVER (
        PARTITION BY institution, resource_type, resource_id
        ORDER BY CASE WHEN distrusted THEN ranked_at ELSE last_updated END DESC NULLS LAST,
                 {version_number} DESC NULLS LAST,
                 received_at DESC, line DESC, content_hash DESC
    ) = 1"""
    return d.qualify(keys, versions, rank)


def current_versions(d: Dialect, relation: str = "raw", keys: str = "current_keys") -> str:
    """The current versions' rows of ``relation``, found by their keys (relation ``keys``)."""
    return f"""
        SELECT institution, resource_type, resource_id, version_id, last_updated, batch_id, content_hash,
               resource, refs, identifiers
        FROM {relation} {d.semi_join()} {keys} USING (institution, resource_type, resource_id, content_hash)
    """


def conditional_targets(
    engine: Engine, conditional: str, offered_from: str | None = None, tolerance: int = 0
) -> dict[str, dict[str, str]]:
    """Per institution: ``Type?system|value`` → local id, for conditional references in use.

    ``conditional`` is the engine's test of a row's ``refs`` for a conditional one: only those
    rows are unnested, and identifiers are looked up only if any exist (bulk exports have none).
    The references are read from every raw row, not only the current versions: a few keys more
    in the map cost nothing, and a scan of the raw layer's ``refs`` costs a third of joining it
    to the current versions first.

    ``offered_from``: an incremental build rebuilds only some resources (``raw`` holds only
    their versions), but a reference may point at any resource of its institution: the
    identifiers offered are then those of the current versions of every resource, in
    ``offered_from`` (the whole raw layer), of the institutions whose references are in use.
    """
    d = engine.dialect
    used = engine.sql(
        f"""
        SELECT DISTINCT institution, key FROM (
            SELECT institution, {d.unnest("refs")} AS key FROM raw WHERE {conditional}
        ) WHERE {d.strpos("key", d.string_literal("?"))} > 0
        """
    )
    if not used.num_rows:
        return {}
    if offered_from is None:
        ids = "raw_current_ids"
    else:
        owners = "(SELECT DISTINCT institution FROM conditional_used)"
        scope = f"(SELECT * FROM {offered_from} WHERE institution IN {owners})"
        ids = f"""(SELECT institution, identifiers, resource_id FROM {scope} scoped {d.semi_join()}
                  ({current_keys(d, tolerance, scope + " scoped_raw")}) winners
                  USING (institution, resource_type, resource_id, content_hash))"""
    with engine.registered("conditional_used", used):
        rows = engine.sql(
            f"""
            WITH offered AS (
                SELECT institution, {d.unnest("identifiers")} AS key, resource_id FROM {ids} offered_ids
            )
            SELECT used.institution, used.key, min(offered.resource_id) AS resource_id
            FROM conditional_used used JOIN offered USING (institution, key)
            GROUP BY used.institution, used.key
            """
        )
    targets: dict[str, dict[str, str]] = defaultdict(dict)
    for institution, key, resource_id in zip(*(rows.column(i).to_pylist() for i in range(3)), strict=True):
        targets[institution][key] = resource_id
    return targets


@dataclass
class _Plan:
    """What the integrated layer needs: per resource type, rebuild whole, merge what changed, or nothing.

    ``incremental`` maps a type to the raw version its table shows.
    """

    raw_version: int
    full: list[str] = field(default_factory=list)
    incremental: dict[str, int] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)


def _plan(workspace: Workspace, engine: Engine, raw_version: int, full: bool) -> _Plan:
    lake, catalog = workspace.lake, workspace.catalog
    types = engine.sql("SELECT DISTINCT resource_type FROM raw_all ORDER BY 1").column(0).to_pylist()
    plan = _Plan(raw_version)
    raw_name = f"{Layer.RAW.value}.{RAW_RESOURCES}"
    for resource_type in types:
        uri = lake.uri(Layer.INTEGRATED, resource_type)
        name = f"{Layer.INTEGRATED.value}.{resource_type}"
        shown = None if full else reflected_version(lake, catalog, uri, name, RAW_VERSION, raw_name)
        if shown is None:
            plan.full.append(resource_type)
        elif shown >= raw_version:
            plan.unchanged.append(resource_type)
        else:
            plan.incremental[resource_type] = shown
    return plan


def build_integrated(
    workspace: Workspace,
    engine: Engine,
    job_id: str,
    progress: Callable[[int], None] | None = None,
    written: Callable[[BuiltTable], None] | None = None,
    *,
    full: bool = False,
    settled: Callable[[str], None] | None = None,
    changed_ids: dict[str, pa.Array] | None = None,
) -> list[BuiltTable]:
    """Bring every integrated table up to the raw layer's committed state.

    A table that shows an older raw version gets only the resources with new raw rows merged in
    (plus, in the institutions that sent something, the few with conditional references, whose
    targets may have moved); a type without a table, or every type with ``full``, is rebuilt
    whole; a table already showing the raw layer's version is left alone. ``written`` hears of
    each table as soon as its transaction is committed, ``settled`` of each type whose table was
    left as it was; ``changed_ids`` receives, per merged type, the ids the merge changed (before
    ``written`` hears of it). Returns every type's table, ``written`` False for those left alone.
    """
    lake = workspace.lake
    raw_uri = lake.uri(Layer.RAW, RAW_RESOURCES)
    raw_table = lake.table(raw_uri)
    if raw_table is None:
        return []
    raw_version = raw_table.version()
    tolerance = workspace.settings.last_updated_tolerance
    d = engine.dialect
    with ExitStack() as scope:
        raw_view = scope.enter_context(scanned(engine, "raw_all", raw_uri, raw_table))
        plan = _plan(workspace, engine, raw_version, full)
        tables = [_settled(workspace, engine, t, raw_version) for t in plan.unchanged]
        for resource_type in plan.unchanged:
            if settled:
                settled(resource_type)
        if plan.incremental:
            _changed_keys(workspace, engine, scope, plan)
        if not plan.full and not plan.incremental:
            return tables
        whole = ", ".join(d.string_literal(t) for t in plan.full)
        parts = [f"SELECT * FROM raw_all WHERE resource_type IN ({whole})"] if plan.full else []
        if plan.incremental:
            keys = "institution, resource_type, resource_id"
            parts.append(f"SELECT * FROM raw_all {d.semi_join()} changed_keys USING ({keys})")
        only_full = not plan.incremental
        # a full build reads the raw layer in place; an incremental one holds only the resources it redoes
        scope.enter_context(engine.temporary("raw", " UNION ALL ".join(parts), materialise=not only_full))
        scope.enter_context(engine.temporary("current_keys", current_keys(d, tolerance)))
        # Read straight from the Parquet files, each type's query finds its rows' text cheaply, so the
        # current versions stay a view and their text is never held whole in memory; through an Arrow
        # dataset every query would rescan the raw layer, so then they are materialised once.
        versions = current_versions(d)
        scope.enter_context(
            engine.temporary("current_versions", versions, materialise=not (raw_view and only_full))
        )
        ids = "SELECT institution, identifiers, resource_id FROM current_versions"
        scope.enter_context(engine.temporary("raw_current_ids", ids, materialise=False))
        offered_from = None if only_full else "raw_all"
        tables += _write_types(
            workspace, engine, job_id, plan, offered_from, progress, written, settled, changed_ids
        )
    return tables


def _changed_keys(workspace: Workspace, engine: Engine, scope: ExitStack, plan: _Plan) -> None:
    """Register ``changed_keys``: the resources of the incrementally built types to redo.

    Those with raw rows the table does not show yet (read from the files added since), and, in
    the institutions that sent anything, those with a conditional reference (its target is
    looked up among the institution's current identifiers, which the new rows may change). If
    the raw layer's log no longer reaches back that far, the types are rebuilt whole.
    """
    lake, d = workspace.lake, engine.dialect
    since = min(plan.incremental.values())
    added = lake.added_since(lake.uri(Layer.RAW, RAW_RESOURCES), since)
    if added is None:
        plan.full += sorted(plan.incremental)
        plan.incremental.clear()
        return
    scope.enter_context(engine.registered("raw_added", added))
    types = ", ".join(d.string_literal(t) for t in sorted(plan.incremental))
    is_conditional = d.lambda_(["r"], f"{d.strpos('r', d.string_literal('?'))} > 0")
    conditional = f"{d.list_length(d.list_filter('refs', is_conditional))} > 0"
    query = f"""
        SELECT DISTINCT institution, resource_type, resource_id FROM raw_added
        WHERE resource_type IN ({types})
        UNION
        SELECT DISTINCT institution, resource_type, resource_id FROM raw_all
        WHERE resource_type IN ({types}) AND {conditional}
          AND institution IN (SELECT DISTINCT institution FROM raw_added)
    """
    scope.enter_context(engine.temporary("changed_keys", query))


def _write_types(
    workspace: Workspace,
    engine: Engine,
    job_id: str,
    plan: _Plan,
    offered_from: str | None,
    progress: Callable[[int], None] | None,
    written: Callable[[BuiltTable], None] | None,
    settled: Callable[[str], None] | None,
    changed_ids: dict[str, pa.Array] | None = None,
) -> list[BuiltTable]:
    """One integrated table per type of the current versions, smallest first."""
    lake = workspace.lake
    d = engine.dialect
    # rows with conditional references need the identifier map: those few are rewritten in Python
    is_conditional = d.lambda_(["r"], f"{d.strpos('r', d.string_literal('?'))} > 0")
    conditional = f"{d.list_length(d.list_filter('refs', is_conditional))} > 0"
    targets = conditional_targets(
        engine, conditional, offered_from, workspace.settings.last_updated_tolerance
    )
    # smallest first: views over a type start as soon as its table is written (``build.run``),
    # so the small tables' views run beside the larger tables' rewriting
    types = engine.sql("SELECT resource_type FROM current_keys GROUP BY 1 ORDER BY count(*), 1")
    types = types.column(0).to_pylist()
    rewritten = namespace_sql(d, "resource", "institution", "resource_type")
    raw_version = plan.raw_version
    built = []
    for resource_type in types:
        uri = lake.uri(Layer.INTEGRATED, resource_type)
        literal = engine.dialect.string_literal(resource_type)
        # the original text comes along only where Python still has to rewrite it; rows are left in
        # the engine's order: sorting them would move every text once more, for no reader's benefit
        reader = engine.sql_batches(
            "SELECT institution, institution || '.' || resource_id AS id, resource_id, version_id, "
            "last_updated, batch_id, content_hash, "
            "CASE WHEN namespaced IS NULL THEN resource END AS resource, namespaced FROM ("
            "SELECT institution, resource_id, version_id, last_updated, batch_id, content_hash, resource, "
            f"CASE WHEN NOT ({conditional}) THEN {rewritten} END AS namespaced "
            f"FROM current_versions WHERE resource_type = {literal})"
        )
        counts: dict[str, int] = defaultdict(int)
        batches: set[str] = set()
        in_python: list[str] = []
        rows = _namespaced(reader, targets, counts, batches, progress, in_python)
        metadata = {"medlake.job": job_id, RAW_VERSION: str(raw_version)}
        if resource_type in plan.incremental:
            changed = _changed_only(
                engine, lake, uri, pa.Table.from_batches(list(rows), INTEGRATED_SCHEMA), in_python
            )
            if not changed.num_rows:
                built.append(_settled(workspace, engine, resource_type, raw_version))
                if settled:
                    settled(resource_type)
                continue
            institutions = sorted(set(changed.column("institution").to_pylist()))
            metadata[INSTITUTIONS] = json.dumps(institutions)
            version = lake.merge(
                uri, changed, keys=["institution", "id"], partition="institution", metadata=metadata
            )
            table = _settled(workspace, engine, resource_type, raw_version, version)
            if changed_ids is not None:
                changed_ids[resource_type] = changed.column("id").combine_chunks()
        else:
            version = lake.write(
                uri,
                pa.RecordBatchReader.from_batches(INTEGRATED_SCHEMA, rows),
                mode="overwrite",
                partition_by=["institution"],
                metadata=metadata,
                long_text=["resource"],
                unique=["id", "local_id", "content_hash"],
            )
            inputs = [("dataset", f"raw.{RAW_RESOURCES}", raw_version)] + [
                ("batch", b, None) for b in sorted(batches)
            ]
            table = BuiltTable(
                name=f"integrated.{resource_type}",
                layer=Layer.INTEGRATED,
                uri=uri,
                version=version,
                rows=sum(counts.values()),
                rows_by_institution=dict(sorted(counts.items())),
                schema=INTEGRATED_SCHEMA,
                inputs=inputs,
            )
        built.append(table)
        if written:
            written(table)
    for resource_type in sorted(set(plan.incremental) - set(types)):  # no resource of it to redo
        built.append(_settled(workspace, engine, resource_type, raw_version))
        if settled:
            settled(resource_type)
    return built


def _changed_only(engine: Engine, lake: Lake, uri: str, rows: pa.Table, in_python: list[str]) -> pa.Table:
    """The rows that differ from the table's: new ids, other content, or (for the few rewritten in
    Python) another namespaced text, because a conditional reference's target moved.

    Within an institution a content hash names one raw row, so an equal hash is an equal row for
    every resource the engine rewrote.
    """
    existing = lake.table(uri)
    if existing is None or not rows.num_rows:
        return rows
    institutions = set(rows.column("institution").to_pylist())
    keys = rows.select(["institution", "id", "content_hash"])
    with (
        scanned(engine, "integrated_existing", uri, existing, institutions),
        engine.registered("incoming", keys),
    ):
        differ = engine.sql(
            """
            SELECT i.id FROM incoming i
            LEFT JOIN integrated_existing e ON e.institution = i.institution AND e.id = i.id
            WHERE e.id IS NULL OR e.content_hash <> i.content_hash
            """
        ).column(0)
        moved: pa.ChunkedArray | pa.Array = pa.array([], pa.string())
        if in_python:
            texts = rows.filter(pc.is_in(rows.column("id"), pa.array(in_python, pa.string())))
            with engine.registered("incoming_texts", texts.select(["institution", "id", "resource"])):
                moved = engine.sql(
                    """
                    SELECT i.id FROM incoming_texts i
                    JOIN integrated_existing e ON e.institution = i.institution AND e.id = i.id
                    WHERE e.resource <> i.resource
                    """
                ).column(0)
    ids = pa.concat_arrays(
        [pa.array(differ.to_pylist(), pa.string()), pa.array(moved.to_pylist(), pa.string())]
    )
    return rows.filter(pc.is_in(rows.column("id"), ids))


def _settled(
    workspace: Workspace, engine: Engine, resource_type: str, raw_version: int, version: int | None = None
) -> BuiltTable:
    """The catalog's view of an integrated table as the lake now holds it, showing ``raw_version``.

    ``version`` None: the table was left as it was (``written`` False). Its batches are the
    catalog's if the catalog already describes this version, else read from the table.
    """
    lake, catalog = workspace.lake, workspace.catalog
    uri = lake.uri(Layer.INTEGRATED, resource_type)
    name = f"{Layer.INTEGRATED.value}.{resource_type}"
    stats = lake.stats(uri)
    assert stats is not None
    recorded = catalog.dataset(name)
    if version is None and recorded is not None and recorded.version == stats.version:
        batches = [i.input_name for i in catalog.lineage(name) if i.input_kind == "batch"]
    else:
        table = lake.table(uri)
        assert table is not None
        with scanned(engine, "integrated_batches", uri, table):
            found = engine.sql("SELECT DISTINCT batch_id FROM integrated_batches ORDER BY 1")
        batches = found.column(0).to_pylist()
    return BuiltTable(
        name=name,
        layer=Layer.INTEGRATED,
        uri=uri,
        version=stats.version,
        rows=stats.rows,
        rows_by_institution=stats.rows_by_institution,
        schema=INTEGRATED_SCHEMA,
        inputs=[("dataset", f"raw.{RAW_RESOURCES}", raw_version)]
        + [("batch", b, None) for b in sorted(batches)],
        written=version is not None,
    )


def _namespaced(
    reader: pa.RecordBatchReader,
    targets: dict[str, dict[str, str]],
    counts: dict[str, int],
    batches: set[str],
    progress: Callable[[int], None] | None,
    in_python: list[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The integrated rows, column by column: only rows the engine could not rewrite reach Python.

    The engine already computed ``id`` (``namespacing.global_id``: ``institution.local_id``) and the
    namespaced text of rows without conditional references; the rest (``namespaced`` NULL)
    are rewritten by :func:`namespace_resource`, so no text crosses into Python otherwise.
    """
    empty: dict[str, str] = {}
    for batch in reader:
        institutions = batch.column("institution")
        namespaced = batch.column("namespaced")
        missing = pc.is_null(namespaced)
        if namespaced.null_count:
            texts = batch.column("resource").filter(missing).to_pylist()
            owners = institutions.filter(missing).to_pylist()
            done = [
                namespace_resource(t, i, targets.get(i, empty)) for t, i in zip(texts, owners, strict=True)
            ]
            namespaced = pc.replace_with_mask(namespaced, missing, pa.array(done, pa.string()))
            if in_python is not None:
                in_python.extend(batch.column("id").filter(missing).to_pylist())
        for entry in pc.value_counts(institutions).to_pylist():
            counts[entry["values"]] += entry["counts"]
        batches.update(pc.unique(batch.column("batch_id")).to_pylist())
        if progress:
            progress(batch.num_rows)
        columns = [institutions, batch.column("id"), batch.column("resource_id")]
        columns += [batch.column(name) for name in ("version_id", "last_updated", "batch_id", "content_hash")]
        columns.append(namespaced)
        yield pa.RecordBatch.from_arrays(
            [column.cast(f.type) for column, f in zip(columns, INTEGRATED_SCHEMA, strict=True)],
            schema=INTEGRATED_SCHEMA,
        )
