"""Link the workspace's patients into persons: ``warehouse.person_record`` in, ``warehouse.person_link`` out.

The warehouse view ``person_record`` already flattens every institution's Patient into the
fields the linker compares, so this module only renames them, runs the standalone linker over
the whole region and writes one row per patient with the person it belongs to. The table is
rebuilt from scratch on every run (``overwrite``): person ids are the smallest integrated
patient id of each person, so they are deterministic for the same data but NOT stable when new
patients arrive. Pairs for clerical review are returned in the report and not persisted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from medlake.lake.layers import Layer
from medlake.layers.build import record
from medlake.layers.integrated import BuiltTable
from medlake.link.decisions import Decision, Reason
from medlake.link.linking import LinkResult, link_records
from medlake.link.settings import LinkSettings
from medlake.workspace import Workspace

SOURCE_TABLE = "warehouse.person_record"
TARGET_NAME = "person_link"

#: person_record column -> link record field; institution and id become source and record_id.
FIELD_COLUMNS: dict[str, str] = {
    "given": "given",
    "family": "family",
    "birth_date": "birth_date",
    "sex": "sex",
    "address": "address_line",
    "city": "city",
    "postcode": "postcode",
    "state": "state",
    "phone": "phone",
    "identifier": "national_id",
}

#: FHIR partial dates (year, year-month) are valid FHIR but not comparable as a birth date.
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")

PERSON_LINK_SCHEMA = pa.schema(
    [
        ("institution", pa.string()),
        ("patient_id", pa.string()),
        ("person_id", pa.string()),
        ("match_basis", pa.string()),
        ("person_records", pa.int64()),
    ]
)

#: match_basis values: how a patient joined its person.
BASIS_IDENTIFIER = "shared national id"
BASIS_PROBABILITY = "match probability"
BASIS_SINGLE = "single record"


@dataclass(frozen=True)
class WorkspaceLinkReport:
    """What one linkage run of the workspace produced."""

    records: int
    persons: int
    table: str
    version: int
    pairs_matched: int
    pairs_for_review: int
    #: Pairs a clerk should look at (record_id_l, record_id_r, match_probability, reason), most
    #: probable first. Only in this report: the review queue is not persisted yet.
    review: pd.DataFrame = field(repr=False)
    #: Birth dates given only as a year or year-month; linked without a birth date.
    partial_birth_dates: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "table": self.table,
            "version": self.version,
            "records": self.records,
            "persons": self.persons,
            "pairs_matched": self.pairs_matched,
            "pairs_for_review": self.pairs_for_review,
            "partial_birth_dates": self.partial_birth_dates,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def person_records(workspace: Workspace) -> tuple[pd.DataFrame, int]:
    """The link records of every patient in the warehouse, and how many partial birth dates were blanked.

    Partial birth dates would be rejected by the linker (rightly, for a CSV); here they are a
    legitimate FHIR value, so they become missing evidence and are counted in the report.
    """
    columns = ["id", "institution", *FIELD_COLUMNS.values()]
    frame = workspace.table(SOURCE_TABLE, columns).to_pandas()
    records = pd.DataFrame({"record_id": frame["id"].astype("string"), "source": frame["institution"]})
    for link_field, column in FIELD_COLUMNS.items():
        records[link_field] = frame[column]
    partial = records["birth_date"].fillna("").str.match(_PARTIAL_DATE)
    records.loc[partial, "birth_date"] = None
    return records, int(partial.sum())


def link_workspace(workspace: Workspace, settings: LinkSettings | None = None) -> WorkspaceLinkReport:
    """Link every patient of ``warehouse.person_record`` and replace ``warehouse.person_link``."""
    source_uri = workspace.table_uri(SOURCE_TABLE)
    source = workspace.lake.table(source_uri)
    if source is None:
        raise ValueError(f"no table {SOURCE_TABLE}: run `medlake build` after ingesting patients")
    source_version = source.version()
    records, partial_dates = person_records(workspace)
    if records.empty:
        raise ValueError(f"{SOURCE_TABLE} has no rows: there is nobody to link")
    catalog = workspace.catalog
    job_id = catalog.start_job("link")
    try:
        result = link_records(records, settings)
        table = person_link_table(records, result)
        uri = workspace.lake.uri(Layer.WAREHOUSE, TARGET_NAME)
        version = workspace.lake.write(
            uri, table, mode="overwrite", partition_by=["institution"], metadata={"medlake.job": job_id}
        )
        counts = table.group_by("institution").aggregate([("institution", "count")]).to_pylist()
        built = BuiltTable(
            name=f"{Layer.WAREHOUSE.value}.{TARGET_NAME}",
            layer=Layer.WAREHOUSE,
            uri=uri,
            version=version,
            rows=table.num_rows,
            rows_by_institution={
                c["institution"]: c["institution_count"]
                for c in sorted(counts, key=lambda c: c["institution"])
            },
            schema=table.schema,
            inputs=[("dataset", SOURCE_TABLE, source_version)],
        )
        record(workspace, built, job_id)
    except BaseException:
        catalog.finish_job(job_id, "failed")
        raise
    summary = result.summary()
    catalog.finish_job(job_id, "succeeded", {"tables": [built.name], "persons": result.persons})
    review = result.review[["record_id_l", "record_id_r", "match_probability", "reason"]]
    return WorkspaceLinkReport(
        records=len(records),
        persons=result.persons,
        table=built.name,
        version=version,
        pairs_matched=int(summary["pairs_matched"]),  # type: ignore[call-overload]
        pairs_for_review=len(review),
        review=review.reset_index(drop=True),
        partial_birth_dates=partial_dates,
        seconds=dict(result.seconds),
    )


def person_link_table(records: pd.DataFrame, result: LinkResult) -> pa.Table:
    """One row per patient: its person, how it joined it, and how many records that person has."""
    clusters = result.clusters.astype({"record_id": "string", "person_id": "string"})
    frame = records[["record_id", "source"]].merge(clusters, on="record_id", how="left", validate="1:1")
    missing = frame["person_id"].isna()
    if missing.any():
        raise RuntimeError(
            f"the linker returned no person for {int(missing.sum())} record(s), "
            f"e.g. {frame.loc[missing, 'record_id'].head(5).tolist()}"
        )
    sizes = frame.groupby("person_id")["record_id"].transform("size")
    basis = _match_basis(result.pairs)
    frame["match_basis"] = [
        BASIS_SINGLE if size == 1 else basis.get(rid, BASIS_PROBABILITY)
        for rid, size in zip(frame["record_id"], sizes, strict=True)
    ]
    return pa.table(
        {
            "institution": frame["source"].astype(str).tolist(),
            "patient_id": frame["record_id"].astype(str).tolist(),
            "person_id": frame["person_id"].astype(str).tolist(),
            "match_basis": frame["match_basis"].tolist(),
            "person_records": sizes.astype("int64").tolist(),
        },
        schema=PERSON_LINK_SCHEMA,
    )


def _match_basis(pairs: pd.DataFrame) -> dict[str, str]:
    """record_id -> the strongest reason among its automatic links (a shared national id beats a score)."""
    matched = pairs[pairs["decision"] == Decision.MATCH]
    basis: dict[str, str] = {}
    for left, right, reason in zip(
        matched["record_id_l"], matched["record_id_r"], matched["reason"], strict=True
    ):
        value = BASIS_IDENTIFIER if reason == Reason.SHARED_IDENTIFIER else BASIS_PROBABILITY
        for rid in (str(left), str(right)):
            if basis.get(rid) != BASIS_IDENTIFIER:
                basis[rid] = value
    return basis
