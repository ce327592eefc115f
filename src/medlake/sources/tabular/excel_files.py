"""Excel workbooks (.xlsx, .xlsm) read row by row with openpyxl's read-only mode.

Read-only mode streams the sheet's XML, so memory stays flat in the number of rows (the
shared-strings table is the one part loaded whole). Cells arrive typed, as the person
typed them (dates as dates, numbers as numbers), and the mapping's columns convert them
the same way as CSV text. A row that does not convert is quarantined as a JSON object of
header → cell value, with its row number in the sheet.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from medlake.errors import InputError
from medlake.fhir.reading import Record
from medlake.sources.tabular.csv_files import header_problem
from medlake.sources.tabular.mapping import TableMapping

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


class WorkbookError(InputError):
    """A file that is not a readable workbook, or lacks the sheet asked for."""


def _open(path: Path):
    if path.suffix.lower() == ".xls":
        raise WorkbookError(f"{path}: .xls (Excel 97-2003) is not supported; save it as .xlsx")
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise WorkbookError(f"{path} is not a readable .xlsx workbook: {exc}") from None


def expanded_size(path: Path) -> int:
    """The bytes a workbook's parts expand to, from its zip directory (0 if it is no zip: reading
    it then says why). A small .xlsx can expand to gigabytes of XML (a zip bomb)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return 0


def too_large(path: Path, max_bytes: int) -> str | None:
    """The quarantine reason for a workbook expanding beyond ``max_bytes``, or None."""
    size = expanded_size(path)
    if size <= max_bytes:
        return None
    return (
        f"the workbook expands to {size} bytes, beyond the limit of {max_bytes} bytes "
        "(ingest_max_document_bytes): not read"
    )


def choose_sheet(path: Path, requested: str | None) -> str:
    """The sheet to read: the one asked for (which must exist), else the workbook's first."""
    workbook = _open(path)
    try:
        names = workbook.sheetnames
    finally:
        workbook.close()
    if requested is None:
        return names[0]
    if requested not in names:
        raise WorkbookError(f"{path} has no sheet {requested!r} (sheets: {', '.join(map(repr, names))})")
    return requested


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def row_json(header: list[str], values: tuple[Any, ...]) -> bytes:
    """A row as JSON text for the quarantine: header → value, extra cells by position."""
    cells = {
        (header[i] if i < len(header) and header[i] else f"column {i + 1}"): value
        for i, value in enumerate(values)
        if value is not None
    }
    return orjson.dumps(cells, default=_json_default)


def _empty(values: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def excel_records(
    path: Path, table: TableMapping, sheet: str, max_bytes: int | None = None
) -> Iterator[Record]:
    """The records of one sheet under ``table``: resources per row, or quarantined rows; a workbook
    expanding beyond ``max_bytes`` is one quarantined record, unread."""
    source = f"{path}#{sheet}"
    if max_bytes is not None and (reason := too_large(path, max_bytes)):
        yield Record(source, 1, orjson.dumps({"file": str(path), "size": path.stat().st_size}), error=reason)
        return
    workbook = _open(path)
    try:
        worksheet = workbook[sheet]
        worksheet.reset_dimensions()  # trust the cells, not the dimension some writers get wrong
        first = table.excel.skip_rows + 1
        rows = enumerate(worksheet.iter_rows(min_row=first, values_only=True), start=first)
        header: list[str] | None = None
        problem: str | None = None
        index: dict[str, int] = {}
        for number, values in rows:
            if _empty(values):
                continue
            if header is None:
                header = ["" if v is None else str(v).strip() for v in values]
                while header and not header[-1]:
                    header.pop()
                problem, index = header_problem([h for h in header if h], table)
                if problem is None:  # positions in the sheet, not among the non-empty names
                    folded = [h.casefold() for h in header]
                    index = {
                        c.name: folded.index(c.source.strip().casefold())
                        for c in table.columns.values()
                        if c.source.strip().casefold() in folded
                    }
                continue
            original = row_json(header, values)
            if problem is not None:
                yield Record(source, number, original, error=problem, error_stage="convert")
                continue
            beyond = [i + 1 for i in range(len(header), len(values)) if values[i] is not None]
            if beyond:
                reason = f"row {number}: values in column(s) {beyond} beyond the header's {len(header)}"
                yield Record(source, number, original, error=reason, error_stage="convert")
                continue
            cells = {name: values[i] if i < len(values) else None for name, i in index.items()}
            yield from table.records(cells, source, number, original)
    finally:
        workbook.close()
