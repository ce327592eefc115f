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

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pyarrow as pa
import pyarrow.compute as pc

from medlake.build.namespacing import namespace_resource, namespace_sql
from medlake.catalog import BuiltTable
from medlake.engine import Engine
from medlake.engine.dialect import Dialect
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


def current_keys(d: Dialect, tolerance: int) -> str:
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
            FROM raw
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


def current_versions(d: Dialect) -> str:
    """The current versions' rows of ``raw``, found by their keys (relation ``current_keys``)."""
    return f"""
        SELECT institution, resource_type, resource_id, version_id, last_updated, batch_id, content_hash,
               resource, refs, identifiers
        FROM raw {d.semi_join()} current_keys USING (institution, resource_type, resource_id, content_hash)
    """


def conditional_targets(engine: Engine, conditional: str) -> dict[str, dict[str, str]]:
    """Per institution: ``Type?system|value`` → local id, for conditional references in use.

    ``conditional`` is the engine's test of a row's ``refs`` for a conditional one: only those
    rows are unnested, and identifiers are looked up only if any exist (bulk exports have none).
    The references are read from every raw row, not only the current versions: a few keys more
    in the map cost nothing, and a scan of the raw layer's ``refs`` costs a third of joining it
    to the current versions first.
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
    with engine.registered("conditional_used", used):
        rows = engine.sql(
            f"""
            WITH offered AS (
                SELECT institution, {d.unnest("identifiers")} AS key, resource_id FROM raw_current_ids
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


def build_integrated(
    workspace: Workspace,
    engine: Engine,
    job_id: str,
    progress: Callable[[int], None] | None = None,
    written: Callable[[BuiltTable], None] | None = None,
) -> list[BuiltTable]:
    """Rebuild every integrated table from the raw layer's committed state; ``written`` hears of
    each table as soon as its transaction is committed."""
    lake = workspace.lake
    raw_uri = lake.uri(Layer.RAW, RAW_RESOURCES)
    raw_table = lake.table(raw_uri)
    if raw_table is None:
        return []
    raw_version = raw_table.version()
    with ExitStack() as scope:
        raw_view = scope.enter_context(scanned(engine, "raw", raw_uri, raw_table))
        current = current_keys(engine.dialect, workspace.settings.last_updated_tolerance)
        scope.enter_context(engine.temporary("current_keys", current))
        # Read straight from the Parquet files, each type's query finds its rows' text cheaply, so the
        # current versions stay a view and their text is never held whole in memory; through an Arrow
        # dataset every query would rescan the raw layer, so then they are materialised once.
        versions = current_versions(engine.dialect)
        scope.enter_context(engine.temporary("current_versions", versions, materialise=not raw_view))
        ids = "SELECT institution, identifiers, resource_id FROM current_versions"
        scope.enter_context(engine.temporary("raw_current_ids", ids, materialise=False))
        return _write_types(workspace, engine, job_id, raw_version, progress, written)


def _write_types(
    workspace: Workspace,
    engine: Engine,
    job_id: str,
    raw_version: int,
    progress: Callable[[int], None] | None,
    written: Callable[[BuiltTable], None] | None,
) -> list[BuiltTable]:
    """One integrated table per type of the current versions, smallest first."""
    lake = workspace.lake
    d = engine.dialect
    # rows with conditional references need the identifier map: those few are rewritten in Python
    is_conditional = d.lambda_(["r"], f"{d.strpos('r', d.string_literal('?'))} > 0")
    conditional = f"{d.list_length(d.list_filter('refs', is_conditional))} > 0"
    targets = conditional_targets(engine, conditional)
    # smallest first: views over a type start as soon as its table is written (``build.run``),
    # so the small tables' views run beside the larger tables' rewriting
    types = engine.sql("SELECT resource_type FROM current_keys GROUP BY 1 ORDER BY count(*), 1")
    types = types.column(0).to_pylist()
    rewritten = namespace_sql(d, "resource", "institution", "resource_type")
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
        version = lake.write(
            uri,
            pa.RecordBatchReader.from_batches(
                INTEGRATED_SCHEMA, _namespaced(reader, targets, counts, batches, progress)
            ),
            mode="overwrite",
            partition_by=["institution"],
            metadata={"medlake.job": job_id, "medlake.raw_version": str(raw_version)},
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
    return built


def _namespaced(
    reader: pa.RecordBatchReader,
    targets: dict[str, dict[str, str]],
    counts: dict[str, int],
    batches: set[str],
    progress: Callable[[int], None] | None,
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
