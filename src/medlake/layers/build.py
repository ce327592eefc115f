"""``medlake build``: integrated layer, then warehouse, then the catalog records them."""

from __future__ import annotations

from collections.abc import Callable

from medlake.catalog.store import LineageInput, schema_description
from medlake.layers.integrated import BuiltTable, build_integrated
from medlake.layers.warehouse import build_warehouse
from medlake.workspace import Workspace


def record(workspace: Workspace, table: BuiltTable, job_id: str) -> None:
    current = workspace.lake.table(table.uri)
    workspace.catalog.record_dataset(
        name=table.name,
        layer=table.layer.value,
        uri=table.uri,
        version=current.version() if current is not None else -1,
        rows=table.rows,
        rows_by_institution=table.rows_by_institution,
        schema=schema_description(table.schema),
        job_id=job_id,
        inputs=[LineageInput(kind, name, version) for kind, name, version in table.inputs],
    )


def build_all(workspace: Workspace, progress: Callable[[int], None] | None = None) -> list[BuiltTable]:
    """Build every layer after raw from committed state and record it in the catalog."""
    catalog = workspace.catalog
    job_id = catalog.start_job("build")
    try:
        with workspace.engine() as engine:
            integrated = build_integrated(workspace, engine, job_id, progress)
            for table in integrated:
                record(workspace, table, job_id)
            warehouse = build_warehouse(workspace, engine, job_id)
            for table in warehouse:
                record(workspace, table, job_id)
    except BaseException:
        catalog.finish_job(job_id, "failed")
        raise
    catalog.finish_job(job_id, "succeeded", {"tables": [t.name for t in integrated + warehouse]})
    return integrated + warehouse
