"""CSV exports, read as a stream of rows that survives broken quoting.

Python's ``csv`` module parses each row (RFC 4180 quoting, quoted fields spanning lines)
from physical lines fed one at a time, so memory stays flat in file size. What it cannot
do alone is recover: an unclosed quote swallows every following line into one field. So
the lines a row consumes are kept, at most ``max_row_lines`` of them; when a row fails
(a quote followed by junk, a quoted field that is not closed within the limit or by the
end of the file), its first line goes to the quarantine with the reason and parsing
starts again at the next line. Every line therefore ends up in a stored row or in the
quarantine, and the quarantine keeps the exact bytes received.

A file's header names its columns (matched to the mapping ignoring case and surrounding
spaces). Problems with the whole file (a header that lacks a declared column) make every
row a quarantined record with that reason, so counts still reconcile and nothing is lost.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from medlake.fhir.reading import Record
from medlake.sources.tabular.mapping import CsvOptions, TableMapping

csv.field_size_limit(16 * 1024 * 1024)  # one free-text field may be long; rows are still bounded by lines


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    raw: bytes
    text: str
    decode_error: str | None


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One parsed row (``fields``), or a stretch of the file that is not one (``error``)."""

    line: int
    raw: bytes
    fields: list[str] | None
    error: str | None = None


class _TooLong(Exception):
    pass


class _Lines:
    """Physical lines of a binary stream, decoded one by one, with a push-back buffer."""

    def __init__(self, handle: BinaryIO, encoding: str) -> None:
        self.handle, self.encoding = handle, encoding
        self.number = 0
        self.pushed: deque[Line] = deque()

    def __iter__(self) -> Iterator[Line]:
        return self

    def __next__(self) -> Line:
        if self.pushed:
            return self.pushed.popleft()
        raw = self.handle.readline()
        if not raw:
            raise StopIteration
        self.number += 1
        try:
            text, error = raw.decode(self.encoding), None
        except UnicodeDecodeError as exc:
            text = raw.decode(self.encoding, errors="replace")
            error = f"line {self.number} is not valid {self.encoding}: {exc.reason} at byte {exc.start}"
        if self.number == 1:
            text = text.lstrip("\ufeff")  # a byte-order mark, whatever the declared encoding
        return Line(self.number, raw, text, error)

    def push_back(self, lines: list[Line]) -> None:
        self.pushed.extendleft(reversed(lines))


def read_rows(handle: BinaryIO, options: CsvOptions) -> Iterator[CsvRow]:
    """Rows of a CSV stream (header included); a broken stretch becomes an error row per first line."""
    lines = _Lines(handle, options.encoding)
    for _ in range(options.skip_lines):
        if next(lines, None) is None:
            return
    consumed: list[Line] = []

    def feed() -> Iterator[str]:
        for line in lines:
            consumed.append(line)
            if len(consumed) > options.max_row_lines:
                raise _TooLong
            yield line.text

    def fresh_reader() -> Iterator[list[str]]:
        return csv.reader(feed(), delimiter=options.delimiter, quotechar=options.quotechar, strict=True)

    reader = fresh_reader()
    while True:
        consumed.clear()
        try:
            fields = next(reader)
        except StopIteration:
            if not consumed:
                return
            fields, problem = None, "the file ends inside a quoted field (the closing quote is missing)"
        except _TooLong:
            fields = None
            problem = (
                f"a quoted field is not closed within {options.max_row_lines} lines "
                "(the closing quote is missing; csv.max_row_lines raises the limit)"
            )
        except csv.Error as exc:
            fields, problem = None, _quoting_problem(str(exc))
        if fields is None:
            first = consumed[0]
            lines.push_back(consumed[1:])
            yield CsvRow(first.number, first.raw, None, f"line {first.number}: broken CSV quoting: {problem}")
            reader = fresh_reader()
            continue
        raw = b"".join(line.raw for line in consumed)
        decode_errors = [line.decode_error for line in consumed if line.decode_error]
        if decode_errors:
            yield CsvRow(consumed[0].number, raw, None, "; ".join(decode_errors))
        elif fields:  # a blank line is no row
            yield CsvRow(consumed[0].number, raw, fields)


def _quoting_problem(message: str) -> str:
    if "unexpected end of data" in message:
        return "the file ends inside a quoted field (the closing quote is missing)"
    if "expected after" in message:
        return f"{message} (a quote inside a quoted field must be doubled)"
    return message


def _strip_newline(raw: bytes) -> bytes:
    return raw.rstrip(b"\r\n")


def csv_records(path: Path, table: TableMapping) -> Iterator[Record]:
    """The records of one CSV file under ``table``: resources per row, or quarantined rows."""
    source = str(path)
    with path.open("rb") as handle:
        rows = read_rows(handle, table.csv)
        header_row = next(rows, None)
        if header_row is None:
            return
        if header_row.fields is None:
            file_problem: str | None = f"the header is unreadable: {header_row.error}"
            yield Record(
                source,
                header_row.line,
                _strip_newline(header_row.raw),
                error=file_problem,
                error_stage="convert",
            )
            index: dict[str, int] = {}
            width = 0
        else:
            header = [name.strip() for name in header_row.fields]
            width = len(header)
            file_problem, index = header_problem(header, table)
        for row in rows:
            original = _strip_newline(row.raw)
            if file_problem is not None or row.fields is None:
                reason = row.error or file_problem
                yield Record(source, row.line, original, error=reason, error_stage="convert")
                continue
            if len(row.fields) != width:
                reason = f"line {row.line}: {len(row.fields)} fields, but the header has {width}"
                yield Record(source, row.line, original, error=reason, error_stage="convert")
                continue
            cells = {name: row.fields[position] for name, position in index.items()}
            yield from table.records(cells, source, row.line, original)


def header_problem(header: list[str], table: TableMapping) -> tuple[str | None, dict[str, int]]:
    """What is wrong with a file's header for ``table`` (or None), and column name → position."""
    folded = [name.casefold() for name in header]
    repeated = sorted({name for name in header if folded.count(name.casefold()) > 1})
    if repeated:
        return f"the header names column(s) {', '.join(map(repr, repeated))} more than once", {}
    missing = table.missing_columns(header, fold=True)
    if missing:
        names = ", ".join(
            repr(c.source) + ("" if c.source == c.name else f" (column '{c.name}')") for c in missing
        )
        return (
            f"the header lacks {names}, which mapping table '{table.name}' declares "
            f"(header: {', '.join(header)})",
            {},
        )
    positions = {name: i for i, name in enumerate(folded)}
    index = {
        column.name: positions[column.source.strip().casefold()]
        for column in table.columns.values()
        if column.source.strip().casefold() in positions
    }
    return None, index
