"""The public Python API: a workspace that does the whole job, from received files to one person.

>>> import medlake
>>> ws = medlake.init_workspace("my-region")       # settings, catalog, lake (or open_workspace)
>>> ws.ingest("landing")                            # a folder per institution (or path, institution)
>>> ws.build()                                      # the integrated layer and the warehouse
>>> ws.link()                                       # persons across institutions, golden records
>>> ws.sql("SELECT count(*) FROM warehouse.patient")
>>> ws.person("P5DQ3K2M7XJAB").timeline             # one resident across institutions

This is the top floor: :class:`Workspace` extends the low one (:class:`medlake.workspace.Workspace`:
settings, catalog, lake, engines, ``tables``/``table``/``sql``) with the jobs the packages above
it run, each imported when first used, so ``import medlake`` stays light and nothing below this
module depends on them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from medlake import workspace as floor
from medlake.errors import InputError, MissingInput

if TYPE_CHECKING:
    from medlake.catalog import BuiltTable
    from medlake.ingest import BatchReport, ProgressCallback
    from medlake.link.settings import IdentifierCheck
    from medlake.mpi import IndexRunReport, MasterPatientIndex
    from medlake.person import PersonRecord


class Workspace(floor.Workspace):
    """One region's workspace with the whole job on it: ingest, build, link, and one person's record."""

    def ingest(
        self, path: Path | str, institution: str | None = None, *, progress: ProgressCallback | None = None
    ) -> list[BatchReport]:
        """Ingest FHIR R4 NDJSON files and Bundles under ``path`` as one job; one report per file.

        With ``institution``, every file under ``path`` is that institution's. Without it, ``path``
        is a landing zone: each folder holding FHIR files is the export of the institution it is
        named after (``medlake ingest fhir PATH --per-folder``).
        """
        from medlake.ingest import ingest_paths, institution_folders

        path = Path(path)
        if not path.exists():
            raise MissingInput(f"no such file or folder: {path}")
        if institution is not None:
            sources = [(path, institution)]
        else:
            sources = institution_folders(path) if path.is_dir() else []
            if not sources:
                raise InputError(
                    f"no folder with FHIR files in {path}: name the institution, or pass a landing zone"
                )
        return ingest_paths(self, sources, progress=progress)

    def build(self, *, progress: ProgressCallback | None = None, full: bool = False) -> list[BuiltTable]:
        """Bring the integrated layer and the warehouse up to everything ingested (``medlake build``):
        only what new data changed, or everything with ``full``; returns the tables written."""
        from medlake.build.run import build_all

        return build_all(self, progress=progress, full=full)

    def link(
        self,
        *,
        full: bool = False,
        person_build: bool = True,
        match_threshold: float | None = None,
        review_threshold: float | None = None,
        identifier_check: IdentifierCheck | None = None,
    ) -> IndexRunReport:
        """Link the patients into global persons (``medlake link run``), then rebuild the golden records
        and the person serving store unless ``person_build`` is false.

        Thresholds default to the workspace's settings; ``full`` retrains the model and relinks
        every record (ids are kept where the persons hold).
        """
        from medlake.mpi import link_settings
        from medlake.person import refresh_person

        changes = {"match_threshold": match_threshold, "review_threshold": review_threshold}
        changes["identifier_check"] = identifier_check
        settings = link_settings(self).with_changes(**{k: v for k, v in changes.items() if v is not None})
        report = self.index.run(settings, full=full)
        if person_build:
            refresh_person(self)
        return report

    @property
    def index(self) -> MasterPatientIndex:
        """The master patient index: review queue, clerk decisions, splits, history."""
        from medlake.mpi import MasterPatientIndex

        return MasterPatientIndex(self)

    def person(self, global_id: str, source: Literal["auto", "store", "direct"] = "auto") -> PersonRecord:
        """One resident's record across institutions (see :func:`medlake.person.person_record`)."""
        from medlake.person import person_record

        return person_record(self, global_id, source)


def open_workspace(home: Path | str | None = None) -> Workspace:
    """Open the workspace at ``home`` (default: ``MEDLAKE_HOME`` or ``./.medlake``)."""
    return Workspace(floor.open_workspace(home).settings)


def init_workspace(home: Path | str | None = None, **settings: object) -> Workspace:
    """Create (or re-open) a workspace: settings file, catalog schema, lake folder."""
    return Workspace(floor.init_workspace(home, **settings).settings)
