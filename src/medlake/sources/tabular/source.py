"""CSV and Excel exports dropped in a folder, as registered sources (kinds ``csv`` and ``excel``).

Each run offers every export file under the location as a delivery; a file seen before
(same bytes, same mapping) reports ``unchanged`` and is not converted again. Options
(``medlake sources add … --option KEY=VALUE``): ``table`` — the mapping table when the
mapping has several; ``sheet`` (excel) — the sheet to read, else the mapping's, else
the first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from medlake.errors import InputError
from medlake.ingest import BatchReport
from medlake.sources.base import SourceConfig, SourceKind
from medlake.sources.tabular.files import ingest_csv, ingest_excel
from medlake.sources.tabular.mapping import load_mapping
from medlake.workspace import Workspace


def _mapping(source: SourceConfig) -> str:
    if not source.mapping:
        raise InputError(
            f"source {source.id}: kind {source.kind} needs a mapping (--mapping FILE or a shipped name)"
        )
    return source.mapping


class _TabularFiles(SourceKind):
    needs_mapping = True

    def check(self, source: SourceConfig) -> None:
        """The mapping reads, and names the table to use (the option, or its only one)."""
        load_mapping(_mapping(source)).table(source.options.get("table"))


class CsvFiles(_TabularFiles):
    kind = "csv"
    description = "CSV exports (a file or a folder of .csv/.tsv/.txt) converted to FHIR by a mapping"
    option_names = frozenset({"table"})

    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        table = source.options.get("table")
        return ingest_csv(
            workspace, Path(source.location), _mapping(source), source.institution, table, progress
        )


class ExcelFiles(_TabularFiles):
    kind = "excel"
    description = "Excel workbooks (.xlsx, .xlsm; one sheet each) converted to FHIR by a mapping"
    option_names = frozenset({"table", "sheet"})

    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        return ingest_excel(
            workspace,
            Path(source.location),
            _mapping(source),
            source.institution,
            sheet=source.options.get("sheet"),
            table=source.options.get("table"),
            progress=progress,
        )
