"""The integrated layer: the current version of every resource, one Delta table per type.

"Current" is decided per (institution, type, local id) by, in order: the later
``meta.lastUpdated``, the higher numeric ``meta.versionId``, the later received batch,
the later line, and finally the content hash, so the choice never depends on timing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from medlake.engine import Engine
from medlake.ingest.schemas import TIMESTAMP
from medlake.lake.layers import RAW_RESOURCES, Layer
from medlake.layers.namespacing import global_id, namespace_resource, namespace_sql
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

CURRENT_VERSIONS = """
    SELECT institution, resource_type, resource_id, version_id, last_updated, batch_id, content_hash,
           resource, refs
    FROM raw
    QUALIFY row_number() OVER (
        PARTITION BY institution, resource_type, resource_id
        ORDER BY last_updated DESC NULLS LAST, TRY_CAST(version_id AS BIGINT) DESC NULLS LAST,
                 received_at DESC, line DESC, content_hash DESC
    ) = 1
"""


@dataclass(frozen=True)
class BuiltTable:
    name: str
    layer: Layer
    uri: str
    version: int | None
    rows: int
    rows_by_institution: dict[str, int]
    schema: pa.Schema
    inputs: list[tuple[str, str, int | None]]


def conditional_targets(engine: Engine) -> dict[str, dict[str, str]]:
    """Per institution: ``Type?system|value`` → local id, for conditional references in use."""
    rows = engine.sql(
        """
        WITH used AS (
            SELECT DISTINCT institution, unnest(refs) AS key FROM current_versions
        ), offered AS (
            SELECT institution, unnest(identifiers) AS key, resource_id FROM raw_current_ids
        )
        SELECT used.institution, used.key, min(offered.resource_id) AS resource_id
        FROM used JOIN offered USING (institution, key)
        WHERE used.key LIKE '%?%'
        GROUP BY ALL
        """
    )
    targets: dict[str, dict[str, str]] = defaultdict(dict)
    for institution, key, resource_id in zip(*(rows.column(i).to_pylist() for i in range(3)), strict=True):
        targets[institution][key] = resource_id
    return targets


def build_integrated(
    workspace: Workspace, engine: Engine, job_id: str, progress: Callable[[int], None] | None = None
) -> list[BuiltTable]:
    """Rebuild every integrated table from the raw layer's committed state."""
    lake = workspace.lake
    raw_uri = lake.uri(Layer.RAW, RAW_RESOURCES)
    raw_table = lake.table(raw_uri)
    if raw_table is None:
        return []
    raw_version = raw_table.version()
    engine.register("raw", raw_table.to_pyarrow_dataset())
    engine.sql(f"CREATE OR REPLACE TEMP TABLE current_versions AS {CURRENT_VERSIONS}")
    engine.sql(
        "CREATE OR REPLACE TEMP VIEW raw_current_ids AS SELECT r.institution, r.identifiers, r.resource_id "
        "FROM raw r JOIN current_versions c USING (institution, resource_type, resource_id, content_hash)"
    )
    targets = conditional_targets(engine)
    types = engine.sql("SELECT DISTINCT resource_type FROM current_versions ORDER BY 1").column(0).to_pylist()
    d = engine.dialect
    # rows with conditional references need the identifier map: those few are rewritten in Python
    is_conditional = d.lambda_(["r"], f"{d.strpos('r', d.string_literal('?'))} > 0")
    conditional = f"{d.list_length(d.list_filter('refs', is_conditional))} > 0"
    rewritten = namespace_sql(d, "resource", "institution", "resource_type")
    built = []
    for resource_type in types:
        uri = lake.uri(Layer.INTEGRATED, resource_type)
        literal = engine.dialect.string_literal(resource_type)
        reader = engine.sql_batches(
            "SELECT institution, resource_id, version_id, last_updated, batch_id, content_hash, resource, "
            f"CASE WHEN NOT ({conditional}) THEN {rewritten} END AS namespaced "
            f"FROM current_versions WHERE resource_type = {literal} ORDER BY institution, resource_id"
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
        )
        inputs = [("dataset", f"raw.{RAW_RESOURCES}", raw_version)] + [
            ("batch", b, None) for b in sorted(batches)
        ]
        built.append(
            BuiltTable(
                name=f"integrated.{resource_type}",
                layer=Layer.INTEGRATED,
                uri=uri,
                version=version,
                rows=sum(counts.values()),
                rows_by_institution=dict(sorted(counts.items())),
                schema=INTEGRATED_SCHEMA,
                inputs=inputs,
            )
        )
    engine.sql("DROP TABLE IF EXISTS current_versions")
    return built


def _namespaced(
    reader: pa.RecordBatchReader,
    targets: dict[str, dict[str, str]],
    counts: dict[str, int],
    batches: set[str],
    progress: Callable[[int], None] | None,
) -> Iterator[pa.RecordBatch]:
    empty: dict[str, str] = {}
    for batch in reader:
        rows = batch.to_pydict()
        institutions = rows["institution"]
        local_ids = rows["resource_id"]
        resources = [
            done if done is not None else namespace_resource(text, inst, targets.get(inst, empty))
            for done, text, inst in zip(rows["namespaced"], rows["resource"], institutions, strict=True)
        ]
        for inst in institutions:
            counts[inst] += 1
        batches.update(rows["batch_id"])
        if progress:
            progress(batch.num_rows)
        yield pa.RecordBatch.from_pydict(
            {
                "institution": institutions,
                "id": [global_id(i, r) for i, r in zip(institutions, local_ids, strict=True)],
                "local_id": local_ids,
                "version_id": rows["version_id"],
                "last_updated": rows["last_updated"],
                "batch_id": rows["batch_id"],
                "content_hash": rows["content_hash"],
                "resource": resources,
            },
            schema=INTEGRATED_SCHEMA,
        )
