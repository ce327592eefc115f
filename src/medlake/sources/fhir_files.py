"""FHIR files (bulk NDJSON and Bundles) in a folder, as a registered source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from medlake.ingest import BatchReport, ingest_path
from medlake.sources.base import SourceConfig, SourceKind
from medlake.workspace import Workspace


class FhirFiles(SourceKind):
    """Every ``*.ndjson[.gz]`` and ``*.json`` under a folder; files seen before add nothing."""

    kind = "fhir"
    description = "FHIR R4 bulk NDJSON files and Bundles in a folder"

    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        return ingest_path(workspace, Path(source.location), source.institution, progress=progress)
