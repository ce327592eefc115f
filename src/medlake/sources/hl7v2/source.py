"""A folder of HL7 v2 files as a registered source (kind ``hl7``) for ``medlake sync``.

Each run takes every ``.hl7`` (``.hl7v2``, ``.er7``, ``.mllp``) file under the folder as one
delivery. A file is identified by its SHA-256 (with the time zone it is read in), so a file
seen before reports ``unchanged`` without being read or converted again. To avoid even
re-hashing a large archive, the source remembers each file's size, modification time and
hash in the catalog; that state is written only after the run's data is committed, so a
crash in between means a re-read that de-duplication makes harmless.

Options (``medlake sources add … --option timezone=Europe/Paris``): ``timezone`` — the IANA
zone of HL7 times sent without a UTC offset (default ``UTC``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from medlake.fhir.reading import file_sha256
from medlake.ingest import BatchReport, ingest_deliveries
from medlake.ingest.pipeline import read_limits
from medlake.sources.base import SourceConfig, SourceKind
from medlake.sources.hl7v2.convert import DEFAULT_TIMEZONE
from medlake.sources.hl7v2.files import SOURCE_KIND, check_timezone, hl7_file_delivery, hl7_landing
from medlake.workspace import Workspace

STATE_KEY = "hl7.files"


class Hl7Files(SourceKind):
    """HL7 v2 message files in a folder; files seen before add nothing."""

    kind = SOURCE_KIND
    description = "HL7 v2 message files (ADT, ORU; plain, batch or MLLP-framed) in a folder"
    option_names = frozenset({"timezone"})

    def check(self, source: SourceConfig) -> None:
        check_timezone(str(source.options.get("timezone") or DEFAULT_TIMEZONE))

    def sync(
        self, workspace: Workspace, source: SourceConfig, progress: Callable[[int], None] | None = None
    ) -> list[BatchReport]:
        tz = check_timezone(str(source.options.get("timezone") or DEFAULT_TIMEZONE))
        folder = Path(source.location)
        known: dict[str, list] = json.loads(workspace.catalog.get_state(source.id, STATE_KEY) or "{}")
        seen: dict[str, list] = {}
        landing = hl7_landing(folder, follow_links_outside=workspace.settings.ingest_follow_links_outside)
        limits = read_limits(workspace)
        deliveries: list = [(source.institution, skipped) for skipped in landing.skipped]
        for path in landing.files:
            name = str(path.relative_to(folder)) if folder.is_dir() else path.name
            stat = path.stat()
            previous = known.get(name)
            unchanged = previous is not None and previous[:2] == [stat.st_size, stat.st_mtime_ns]
            digest = previous[2] if unchanged and previous is not None else file_sha256(path)
            seen[name] = [stat.st_size, stat.st_mtime_ns, digest]
            deliveries.append(hl7_file_delivery(path, source.institution, tz, digest, limits))
        details = {"source": source.id, "institution": source.institution, "kind": SOURCE_KIND}
        reports = ingest_deliveries(workspace, deliveries, details=details, progress=progress)
        workspace.catalog.set_state(source.id, STATE_KEY, json.dumps(seen, sort_keys=True))
        return reports
