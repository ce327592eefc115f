"""The patient records the index links, read from the warehouse, with a fingerprint each.

The fingerprint is what makes incremental linking safe: a record is linked again only when the
fields the linker compares (or the links its institution asserts) have changed; a new version
of a Patient that only touched, say, its contact preferences leaves its person alone. Stored
fingerprints are compared with new ones run after run, so they are computed by one engine
whatever the region's: the query is DuckDB's (``md5``, ``string_agg … ORDER BY``,
``regexp_full_match``) and runs on the workspace's local engine.
"""

from __future__ import annotations

from contextlib import ExitStack

import pandas as pd

from medlake.engine import duckdb_only
from medlake.errors import NotReady
from medlake.lake.scan import scanned
from medlake.workspace import Workspace

SOURCE_TABLE = "warehouse.person_record"
LINK_TABLE = "warehouse.patient_link"

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
_PARTIAL = "partial_birth_date"
_IS_PARTIAL = "coalesce(regexp_full_match(CAST(r.birth_date AS VARCHAR), '\\d{4}(-\\d{2})?'), false)"


def person_records(workspace: Workspace) -> tuple[pd.DataFrame, int]:
    """The link records of every patient in the warehouse (with a ``fingerprint`` column), and how
    many partial birth dates were blanked.

    Partial birth dates would be rejected by the linker (rightly, for a CSV); here they are a
    legitimate FHIR value, so they become missing evidence and are counted in the report. The
    fingerprint is computed by the engine in the same scan: a million Python hashes would cost
    more than reading the table.
    """
    source = workspace.lake.table(workspace.table_uri(SOURCE_TABLE))
    if source is None:
        raise NotReady(f"no table {SOURCE_TABLE}: run `medlake build` after ingesting patients")
    links = workspace.lake.table(workspace.table_uri(LINK_TABLE))
    with workspace.local_engine() as engine, ExitStack() as tables:
        duckdb_only(engine, "the person index's record fingerprints")
        tables.enter_context(scanned(engine, "person_record", workspace.table_uri(SOURCE_TABLE), source))
        if links is not None:
            tables.enter_context(scanned(engine, "patient_link", workspace.table_uri(LINK_TABLE), links))
        frame = engine.sql(_records_query(links is not None)).to_pandas()
    records = frame.rename(columns={v: k for k, v in FIELD_COLUMNS.items()})
    partial = int(records.pop(_PARTIAL).sum())
    return records, partial


def _records_query(has_links: bool) -> str:
    """SELECT record_id, source, <person_record columns>, fingerprint.

    The fingerprint hashes the compared fields (NULL and '' kept distinct) and, after a separator
    that is always there, the record's Patient.link statements, so that the first link in the
    region changes one fingerprint only.
    """
    fields = ", ".join(f"coalesce(CAST(r.{c} AS VARCHAR), chr(1))" for c in FIELD_COLUMNS.values())
    links = "coalesce(l.links, '')" if has_links else "''"
    join = (
        """LEFT JOIN (
              SELECT patient_id,
                     string_agg(link_type || ':' || other_patient_id, chr(30)
                                ORDER BY link_type, other_patient_id) AS links
              FROM patient_link GROUP BY patient_id) l ON l.patient_id = r.id"""
        if has_links
        else ""
    )
    blanked = f"CASE WHEN {_IS_PARTIAL} THEN NULL ELSE CAST(r.birth_date AS VARCHAR) END AS birth_date"
    columns = ", ".join(
        f"CAST(r.{c} AS VARCHAR) AS {c}" if c != "birth_date" else f"{blanked}, {_IS_PARTIAL} AS {_PARTIAL}"
        for c in FIELD_COLUMNS.values()
    )
    return f"""
        SELECT CAST(r.id AS VARCHAR) AS record_id, CAST(r.institution AS VARCHAR) AS source, {columns},
               md5(concat_ws(chr(31), {fields}) || chr(29) || {links}) AS fingerprint
        FROM person_record r {join}
    """


def source_links(workspace: Workspace) -> pd.DataFrame:
    """(patient_id, other_patient_id, link_type) from Patient.link; empty when no patient has links."""
    uri = workspace.table_uri(LINK_TABLE)
    if workspace.lake.table(uri) is None:
        return pd.DataFrame(columns=["patient_id", "other_patient_id", "link_type"])
    links = workspace.table(LINK_TABLE, ["patient_id", "other_patient_id", "link_type"]).to_pandas()
    return links.dropna(subset=["patient_id", "other_patient_id"]).astype(str)
