"""``warehouse.person_link``: the index's global <-> node map, published to the warehouse.

The index keeps its state in the catalog; this table is how the warehouse (the person record,
any SQL) sees it. It is rewritten whole from the index, and only when the index has changed
since the last write: the commit carries the index state it shows.
"""

from __future__ import annotations

import pyarrow as pa

from medlake.catalog import BuiltTable
from medlake.lake.tables import Layer
from medlake.mpi.records import LINK_TABLE, SOURCE_TABLE
from medlake.workspace import Workspace

TARGET_NAME = "person_link"
PERSON_LINK = f"{Layer.WAREHOUSE.value}.{TARGET_NAME}"
#: Commit metadata of person_link: the index state (newest event id) the table shows.
STATE_KEY = "medlake.mpi_state"

PERSON_LINK_SCHEMA = pa.schema(
    [
        ("institution", pa.string()),
        ("patient_id", pa.string()),
        ("person_id", pa.string()),
        ("match_basis", pa.string()),
        ("person_records", pa.int64()),
    ]
)


def write_person_link(
    workspace: Workspace, members: pa.Table, job_id: str, state: int | None = None
) -> BuiltTable | None:
    """Rewrite ``warehouse.person_link`` (the warehouse's global <-> node map) from the index.

    ``members`` has the index's member columns (``MpiStore.member_table``). ``state`` (the
    index's newest event id) is kept in the commit: when the table already shows that state,
    nothing is written and None is returned, so a run that changed nothing costs no rewrite; a
    crash between the index commit and this write leaves an older state here, and the next run
    writes.
    """
    uri = workspace.lake.uri(Layer.WAREHOUSE, TARGET_NAME)
    if state is not None and _published_state(workspace, uri) == state:
        return None
    with workspace.engine() as engine, engine.registered("members", members):
        table = engine.sql(
            """
            SELECT institution, patient_id, person_id, basis AS match_basis,
                   count(*) OVER (PARTITION BY person_id) AS person_records
            FROM members ORDER BY person_id, patient_id
            """
        ).cast(PERSON_LINK_SCHEMA)
    metadata = {"medlake.job": job_id}
    if state is not None:
        metadata[STATE_KEY] = str(state)
    version = workspace.lake.write(
        uri, table, mode="overwrite", partition_by=["institution"], metadata=metadata
    )
    counts = table.group_by("institution").aggregate([("institution", "count")]).to_pylist()
    inputs = [("dataset", SOURCE_TABLE, table_version(workspace, SOURCE_TABLE))]
    link_version = table_version(workspace, LINK_TABLE)
    if link_version is not None:
        inputs.append(("dataset", LINK_TABLE, link_version))
    built = BuiltTable(
        name=f"{Layer.WAREHOUSE.value}.{TARGET_NAME}",
        layer=Layer.WAREHOUSE,
        uri=uri,
        version=version,
        rows=table.num_rows,
        rows_by_institution={
            c["institution"]: c["institution_count"] for c in sorted(counts, key=lambda c: c["institution"])
        },
        schema=table.schema,
        inputs=inputs,
    )
    workspace.catalog.record_built(built, job_id)
    return built


def _published_state(workspace: Workspace, uri: str) -> int | None:
    table = workspace.lake.table(uri)
    if table is None:
        return None
    value = table.history(1)[0].get(STATE_KEY)
    return int(value) if value is not None else None


def table_version(workspace: Workspace, name: str) -> int | None:
    table = workspace.lake.table(workspace.table_uri(name))
    return None if table is None else table.version()
