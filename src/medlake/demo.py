"""The demo region end to end: synthesise, ingest every institution, build, link, summarise.

This is what the README's first command runs; it doubles as the smallest complete
example of the Python API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medlake.build.run import build_all
from medlake.ingest import BatchOutcome, BatchReport, ingest_paths
from medlake.lake.tables import QUARANTINE, Layer
from medlake.mpi import MasterPatientIndex
from medlake.person import refresh_person
from medlake.synth import generate_region
from medlake.workspace import Workspace, init_workspace


@dataclass
class DemoSummary:
    workspace: str
    exports: str
    institutions: dict[str, dict[str, int]] = field(default_factory=dict)
    layers: dict[str, dict[str, int]] = field(default_factory=dict)
    persons: dict[str, int] = field(default_factory=dict)
    quarantine: list[dict[str, str]] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


#: Records the demo plants on purpose in one institution's export, so the first run shows the
#: quarantine at work: each is set aside with its reason, and received = stored + quarantined.
BAD_RECORDS_FILE = "late-feed.ndjson"
BAD_RECORDS = (
    # a line cut off in transfer: not JSON
    b'{"resourceType": "Patient", "id": "cut-off", "name": [{"family": "Ha\n',
    # a misspelt resource type
    b'{"resourceType": "Pateint", "id": "typo-1", "gender": "female"}\n',
    # month 13: not a FHIR dateTime
    b'{"resourceType": "Observation", "id": "bad-date-1", "status": "final", "code": {"coding": '
    b'[{"system": "http://loinc.org", "code": "8867-4"}]}, "effectiveDateTime": "2024-13-01T08:00:00Z"}\n',
    # an observation without its required status and code
    b'{"resourceType": "Observation", "id": "no-code-1", "valueQuantity": {"value": 37.2}}\n',
)


def run_demo(
    directory: Path,
    residents: int,
    seed: int,
    progress: Callable[[str, int], None] | None = None,
) -> DemoSummary:
    """Build the demo region under ``directory`` (``exports/`` and ``workspace/``)."""
    exports = directory / "exports"
    region_file = exports / "region.json"
    if not _same_region(region_file, residents, seed):
        generate_region(
            exports, residents=residents, seed=seed, progress=_step(progress, "synthesising residents")
        )
    region = json.loads(region_file.read_text())
    planted = exports / region["institutions"][0]["id"] / BAD_RECORDS_FILE
    planted.write_bytes(b"".join(BAD_RECORDS))
    workspace = init_workspace(directory / "workspace")
    summary = DemoSummary(workspace=str(workspace.home), exports=str(exports))
    for institution in region["institutions"]:
        workspace.catalog.ensure_institution(
            institution["id"], institution.get("name"), institution.get("kind")
        )
    # every institution's export as one ingest job, as `medlake ingest fhir exports --per-folder` does
    ids = [institution["id"] for institution in region["institutions"]]
    reports = ingest_paths(
        workspace, [(exports / inst_id, inst_id) for inst_id in ids], progress=_step(progress, "ingesting")
    )
    for inst_id in ids:
        summary.institutions[inst_id] = _totals([r for r in reports if r.institution == inst_id])
    summary.quarantine = _quarantine(workspace)
    build_all(workspace, progress=_step(progress, "building"))
    linked = MasterPatientIndex(workspace).run()
    refresh_person(workspace)
    summary.persons = {
        "patient_records": linked.records,
        "persons": linked.persons,
        "pairs_for_review": linked.review_pending,
    }
    summary.layers = _layers(workspace)
    home = workspace.home
    links = workspace.table("warehouse.person_link", ["person_id", "person_records"]).to_pandas()
    example_person = links.sort_values(["person_records", "person_id"], ascending=[False, True])[
        "person_id"
    ].iloc[0]
    summary.examples = [
        f"medlake --help; export MEDLAKE_HOME={home}",
        'medlake sql "SELECT institution, count(*) AS patients FROM warehouse.patient GROUP BY ALL"',
        "medlake catalog warehouse.observation",
        'medlake sql "SELECT person_id, count(*) AS records FROM warehouse.person_link GROUP BY 1 ORDER BY 2 DESC"',  # noqa: E501
        f"medlake person {example_person}    # one resident's record across institutions",
        "medlake link review                 # pairs the linker left for a clerk; link history: every change",
        "medlake quarantine --json",
        f"python -c \"import medlake; print(medlake.open_workspace('{home}').table('warehouse.patient'))\"",
    ]
    return summary


def _same_region(region_file: Path, residents: int, seed: int) -> bool:
    if not region_file.exists():
        return False
    region = json.loads(region_file.read_text())
    return region.get("residents") == residents and region.get("seed") == seed


def _step(progress: Callable[[str, int], None] | None, label: str) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda n: progress(label, n)


def _totals(reports: list[BatchReport]) -> dict[str, int]:
    keys = ("received", "stored", "quarantined", "duplicates", "unresolved_references")
    files = sum(1 for r in reports if r.status != BatchOutcome.SKIPPED)
    return {k: sum(getattr(r, k) for r in reports) for k in keys} | {"files": files}


def _quarantine(workspace: Workspace) -> list[dict[str, str]]:
    """Every quarantined record: institution, file and line, and the reason."""
    table = workspace.lake.read(workspace.lake.uri(Layer.RAW, QUARANTINE))
    if table is None:
        return []
    rows = table.select(["institution", "source_file", "line", "reason"]).to_pylist()
    return [
        {
            "institution": r["institution"],
            "where": f"{Path(r['source_file']).name}:{r['line']}",
            "reason": r["reason"],
        }
        for r in sorted(rows, key=lambda r: (r["institution"], r["source_file"], r["line"]))
    ]


def _layers(workspace: Workspace) -> dict[str, dict[str, int]]:
    layers: dict[str, dict[str, int]] = {}
    for dataset in workspace.catalog.datasets():
        layers.setdefault(dataset.layer, {})[dataset.name] = dataset.rows
    return layers
