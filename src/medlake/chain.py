"""The whole chain as one job: sources → build → link → person.

``medlake sync --chain`` runs the registered sources, builds what they changed (incrementally),
links the patients again if the index is in use, and rebuilds the golden records and the serving
store, as one catalog job (kind ``sync chain``) whose details keep each step's outcome: its
history is ``medlake jobs``' and the catalog's. ``medlake build`` uses
:func:`refresh_person_tables` for the same last two steps, or only reports them stale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from medlake.build.run import build_all
from medlake.catalog import BuiltTable
from medlake.mpi import MasterPatientIndex
from medlake.mpi.publish import PERSON_LINK
from medlake.person import refresh_person
from medlake.person.freshness import Stale, stale_person_tables
from medlake.sources.sync import SourceRun, sync
from medlake.workspace import Workspace

CHAIN_JOB = "sync chain"


@dataclass
class PersonRefresh:
    """What :func:`refresh_person_tables` did: nothing was stale, or it linked and rebuilt, or it
    could not (no index yet) and the tables stay marked stale."""

    stale_before: list[Stale] = field(default_factory=list)
    linked: dict[str, Any] | None = None
    rebuilt: dict[str, Any] | None = None
    stale_after: list[Stale] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stale_before": [s.as_dict() for s in self.stale_before],
            "linked": self.linked,
            "rebuilt": self.rebuilt,
            "stale_after": [s.as_dict() for s in self.stale_after],
        }


def refresh_person_tables(workspace: Workspace, refresh: bool = True) -> PersonRefresh:
    """Bring the person tables up to the warehouse if their inputs moved (``refresh``), else only
    say which are stale. The index is run only where it has run before: linking a region for
    the first time is a decision (``medlake link run``), not a side effect of a build."""
    outcome = PersonRefresh(stale_before=stale_person_tables(workspace))
    if not outcome.stale_before or not refresh:
        outcome.stale_after = outcome.stale_before
        return outcome
    if workspace.catalog.dataset(PERSON_LINK) is not None:
        outcome.linked = MasterPatientIndex(workspace).run().as_dict()
        outcome.rebuilt = refresh_person(workspace).as_dict()
    outcome.stale_after = stale_person_tables(workspace)
    return outcome


@dataclass
class ChainReport:
    job_id: str
    runs: list[SourceRun]
    built: list[BuiltTable]
    person: PersonRefresh

    @property
    def failed_sources(self) -> list[str]:
        return [r.source for r in self.runs if r.error]

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "sources": [r.as_dict() for r in self.runs],
            "built": [t.name for t in self.built],
            "person": self.person.as_dict(),
        }


def run_chain(
    workspace: Workspace,
    institution: str | None = None,
    *,
    only_due: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Sources, then build, then link and person, as one job. A failing source does not stop the
    chain (the others' data is built; the job records the failure); a failing step does."""
    with workspace.catalog.job(CHAIN_JOB, {"institution": institution}) as job:
        runs = sync(workspace, institution, only_due=only_due, progress=progress)
        job.summary["sources"] = [
            {"source": r.source, "new": r.new, "quarantined": r.quarantined, "error": r.error} for r in runs
        ]
        built = build_all(workspace)
        job.summary["built"] = [t.name for t in built]
        person = refresh_person_tables(workspace)
        job.summary["person"] = {
            "linked": person.linked is not None,
            "rebuilt": person.rebuilt is not None,
            "stale": [s.name for s in person.stale_after],
        }
    return ChainReport(job.id, runs, built, person)
