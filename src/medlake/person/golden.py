"""``warehouse.person_golden``: one golden demographic row per global person, rebuilt after linking.

Reads ``warehouse.person_link`` (patient -> person) and ``warehouse.person_record`` (the
identifying fields of each Patient, with ``active`` and ``meta.lastUpdated``), applies the
survivorship rules of :mod:`medlake.person.survivorship` and overwrites the Delta table in
one transaction, recorded in the catalog with both inputs as lineage.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from medlake.catalog import BuiltTable, JobRun
from medlake.errors import NotReady
from medlake.lake.tables import Layer
from medlake.person.survivorship import IDENTIFYING, golden_columns, survive
from medlake.workspace import Workspace

LINK_TABLE = "warehouse.person_link"
RECORD_TABLE = "warehouse.person_record"
GOLDEN_NAME = "person_golden"
GOLDEN_TABLE = f"warehouse.{GOLDEN_NAME}"


def golden_schema() -> pa.Schema:
    return pa.schema([(c, pa.int64() if c == "records" else pa.string()) for c in golden_columns()])


@dataclass(frozen=True)
class GoldenReport:
    table: str
    version: int
    persons: int


def linked_records(workspace: Workspace) -> pd.DataFrame:
    """person_record rows with the person each belongs to (only linked patients)."""
    for name in (LINK_TABLE, RECORD_TABLE):
        if workspace.lake.table(workspace.table_uri(name)) is None:
            hint = "medlake link run" if name == LINK_TABLE else "medlake build"
            raise NotReady(f"no table {name}: run `{hint}` first")
    links = workspace.table(LINK_TABLE, ["patient_id", "person_id"]).to_pandas()
    columns = ["patient_id", "institution", "active", "last_updated", *IDENTIFYING]
    delta = workspace.lake.table(workspace.table_uri(RECORD_TABLE))
    missing = [c for c in columns if c not in pa.schema(delta.schema().to_arrow()).names]
    if missing:  # a warehouse built by an older view library
        needed = ", ".join(missing)
        raise NotReady(f"{RECORD_TABLE} lacks {needed}, which golden records need: re-run `medlake build`")
    records = workspace.table(RECORD_TABLE, columns).to_pandas()
    return links.merge(records, on="patient_id", how="inner", validate="1:1")


def golden_table(workspace: Workspace) -> pa.Table:
    """The golden records of every linked person (not written)."""
    frame = survive(linked_records(workspace), workspace.settings.person_source_trust)
    return pa.Table.from_pandas(frame, schema=golden_schema(), preserve_index=False)


def build_golden(workspace: Workspace, job_id: str | None = None) -> GoldenReport:
    """Rebuild ``warehouse.person_golden`` from the current link and person records; catalog it."""
    lake = workspace.lake
    inputs = []
    for name in (LINK_TABLE, RECORD_TABLE):
        table = lake.table(workspace.table_uri(name))
        inputs.append(("dataset", name, None if table is None else table.version()))
    table = golden_table(workspace)
    uri = lake.uri(Layer.WAREHOUSE, GOLDEN_NAME)
    # a step of the caller's job, or a job of its own
    with nullcontext(JobRun(job_id)) if job_id else workspace.catalog.job("person golden") as job:
        version = lake.write(uri, table, mode="overwrite", metadata={"medlake.job": job.id})
        built = BuiltTable(
            name=GOLDEN_TABLE,
            layer=Layer.WAREHOUSE,
            uri=uri,
            version=version,
            rows=table.num_rows,
            rows_by_institution={},
            schema=table.schema,
            inputs=inputs,
        )
        workspace.catalog.record_built(built, job.id)
        job.summary.update({"tables": [GOLDEN_TABLE], "persons": table.num_rows})
    return GoldenReport(GOLDEN_TABLE, version, table.num_rows)
