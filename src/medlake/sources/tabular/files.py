"""CSV and Excel files as deliveries: one per file (per sheet), fingerprinted by content and mapping.

A delivery's fingerprint is the SHA-256 of the file's bytes combined with what it is read
as (table, sheet) and the mapping's digest: the same file under the same mapping is the
same batch and adds nothing when sent again, while the same file under a corrected
mapping (a code added to a table) is read again, and rows that now convert are stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from medlake.fhir.reading import file_sha256
from medlake.ingest import BatchReport, Delivery, check_institution, ingest_deliveries
from medlake.ingest.pipeline import read_limits
from medlake.landing import Landing, scan, suffix_test
from medlake.sources.tabular.csv_files import csv_records
from medlake.sources.tabular.excel_files import EXCEL_SUFFIXES, choose_sheet, excel_records, too_large
from medlake.sources.tabular.mapping import Mapping, TableMapping, load_mapping
from medlake.workspace import Workspace

CSV_SUFFIXES = (".csv", ".tsv", ".txt")


def fingerprint(kind: str, content_sha256: str, table: TableMapping, mapping: Mapping, *extra: str) -> str:
    text = "\0".join((kind, content_sha256, mapping.digest, table.name, *extra))
    return hashlib.sha256(text.encode()).hexdigest()


def find_files(path: Path, suffixes: tuple[str, ...], follow_links_outside: bool = False) -> Landing:
    """``path`` itself, or the files under it with one of ``suffixes`` (any case), in a stable
    order, and the files skipped with the reason (links out of the folder among them)."""
    expected = ", ".join(suffixes) + " in any case"
    return scan(path, suffix_test(suffixes), expected=expected, follow_links_outside=follow_links_outside)


def csv_delivery(
    path: Path, mapping: Mapping, table: TableMapping, institution: str, digest: str | None = None
) -> Delivery:
    return Delivery(
        institution=institution,
        source_kind="csv",
        source_uri=str(path),
        fingerprint=fingerprint("csv", digest or file_sha256(path), table, mapping),
        read=lambda: csv_records(path, table),
    )


def excel_delivery(
    path: Path,
    mapping: Mapping,
    table: TableMapping,
    institution: str,
    sheet: str,
    digest: str | None = None,
    max_bytes: int | None = None,
) -> Delivery:
    return Delivery(
        institution=institution,
        source_kind="excel",
        source_uri=f"{path}#{sheet}",
        fingerprint=fingerprint("excel", digest or file_sha256(path), table, mapping, sheet),
        read=lambda: excel_records(path, table, sheet, max_bytes),
    )


def _mapping(mapping: Mapping | str | Path) -> Mapping:
    return mapping if isinstance(mapping, Mapping) else load_mapping(mapping)


def ingest_csv(
    workspace: Workspace,
    path: Path,
    mapping: Mapping | str | Path,
    institution: str,
    table: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[BatchReport]:
    """Ingest a CSV file (or each .csv/.tsv/.txt under a folder) with one mapping table; a report per file."""
    check_institution(institution)
    chosen = _mapping(mapping)
    table_mapping = chosen.table(table)
    landing = find_files(Path(path), CSV_SUFFIXES, workspace.settings.ingest_follow_links_outside)
    deliveries = [
        *((institution, skipped) for skipped in landing.skipped),
        *(csv_delivery(f, chosen, table_mapping, institution) for f in landing.files),
    ]
    details = {"kind": "csv", "path": str(path), "mapping": chosen.name, "table": table_mapping.name}
    return ingest_deliveries(
        workspace, deliveries, details=details | {"institution": institution}, progress=progress
    )


def ingest_excel(
    workspace: Workspace,
    path: Path,
    mapping: Mapping | str | Path,
    institution: str,
    sheet: str | None = None,
    table: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[BatchReport]:
    """Ingest one sheet of a workbook (or of every workbook under a folder); a report per workbook."""
    check_institution(institution)
    chosen = _mapping(mapping)
    table_mapping = chosen.table(table)
    landing = find_files(Path(path), EXCEL_SUFFIXES, workspace.settings.ingest_follow_links_outside)
    files, limit = landing.files, read_limits(workspace).document
    wanted = sheet or table_mapping.excel.sheet
    # fail before any ingest; a workbook too large to open is quarantined by its delivery instead
    sheets = [(wanted or "?") if too_large(f, limit) else choose_sheet(f, wanted) for f in files]
    deliveries = [
        *((institution, skipped) for skipped in landing.skipped),
        *(
            excel_delivery(f, chosen, table_mapping, institution, s, max_bytes=limit)
            for f, s in zip(files, sheets, strict=True)
        ),
    ]
    details = {"kind": "excel", "path": str(path), "mapping": chosen.name, "table": table_mapping.name}
    return ingest_deliveries(
        workspace, deliveries, details=details | {"institution": institution}, progress=progress
    )
