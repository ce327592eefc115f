"""``medlake build``: integrated layer, then warehouse, then the catalog records them.

Only what changed is rebuilt (``build.changes``): an integrated table merges the resources
with new raw rows, a view recomputes the institutions whose integrated rows changed, and a
table whose input has not moved is left alone, so a build with nothing new commits nothing.

A view needs only its own resource type's integrated table, so it need not wait for the
whole integrated layer: the views over a type run on a second engine, in a second thread,
as soon as that type's table is committed, while the main thread rewrites the next type.
Neither stream alone keeps both cores busy (rewriting a small type's references, or a small
view, runs at little more than one core), together they do. Once the integrated layer is
done, the main thread takes views too. Every table is still its own transaction over
committed inputs, so a killed build followed by a re-run still ends where a clean one ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import pyarrow as pa

from medlake.build.integrated import build_integrated
from medlake.build.rejects import BuildReject, quarantine_rejects
from medlake.build.warehouse import build_view, views_by_resource
from medlake.catalog import BuiltTable
from medlake.views.library import load_library
from medlake.workspace import Workspace


def build_all(
    workspace: Workspace, progress: Callable[[int], None] | None = None, *, full: bool = False
) -> list[BuiltTable]:
    """Bring every layer after raw up to the committed raw layer and record it in the catalog.

    Incremental (see ``build.integrated`` and ``build.warehouse``): only what new raw rows change
    is rewritten, and a build with nothing new commits nothing to the lake. ``full`` recomputes
    every table. Returns the tables written.
    """
    catalog = workspace.catalog
    rejects: list[BuildReject] = []
    quarantined = [0]
    # a broken view of the user's (views_dir) stops the build here, before any table is rewritten
    views = views_by_resource(load_library(workspace.settings.resolved_views_dir))
    with catalog.job("build", {"full": full}) as job:
        integrated, warehouse = _build(workspace, job.id, progress, rejects, views, full, quarantined)
        tables = integrated + warehouse
        for table in tables:
            if table.written or _catalog_differs(workspace, table):
                catalog.record_built(table, job.id)
        written = [t for t in tables if t.written]
        job.summary["tables"] = [t.name for t in written]
        job.summary["unchanged"] = len(tables) - len(written)
        job.summary["rejected_rows"] = len(rejects)
        job.summary["quarantined"] = quarantined[0]
    return written


def _catalog_differs(workspace: Workspace, table: BuiltTable) -> bool:
    """Whether the catalog's entry is not this table: another version (a build killed between its
    commit and the catalog), or other inputs (the table was found to show a newer input)."""
    recorded = workspace.catalog.dataset(table.name)
    if recorded is None or recorded.version != table.version:
        return True
    lineage = {(i.input_kind, i.input_name, i.input_version) for i in workspace.catalog.lineage(table.name)}
    return lineage != set(table.inputs)


def _build(
    workspace: Workspace,
    job_id: str,
    progress: Callable[[int], None] | None,
    rejects: list[BuildReject],
    by_resource: dict[str, list[tuple[str, dict]]],
    full: bool = False,
    quarantined: list[int] | None = None,
) -> tuple[list[BuiltTable], list[BuiltTable]]:
    views = _Views(
        workspace, job_id, rejects, by_resource, full, quarantined if quarantined is not None else [0]
    )
    helper = threading.Thread(target=views.run, name="medlake-build-views", daemon=True)
    helper.start()
    try:
        with workspace.engine() as engine:
            integrated = build_integrated(
                workspace,
                engine,
                job_id,
                progress,
                written=lambda t: views.ready(t.name.split(".", 1)[1]),
                full=full,
                settled=views.ready,
                changed_ids=views.changed_ids,
            )
        views.ready_all()
        views.run()
    except BaseException as exc:
        views.abandon(exc)
        raise
    finally:
        helper.join()
    return integrated, views.built()


class _Views:
    """The library's views as a queue of work: a type's views are queued once its table is ready.

    Any number of threads may :meth:`run` it, each with its own engine; the first failure
    stops every thread from starting another view, and :meth:`built` raises it.
    """

    _DONE = ("", {})

    def __init__(
        self,
        workspace: Workspace,
        job_id: str,
        rejects: list[BuildReject],
        by_resource: dict[str, list[tuple[str, dict]]],
        full: bool = False,
        quarantined: list[int] | None = None,
    ) -> None:
        self.workspace, self.job_id, self.rejects, self.full = workspace, job_id, rejects, full
        self.quarantined = quarantined if quarantined is not None else [0]
        #: per type, the ids its integrated table's merge changed in this build (``build_view``)
        self.changed_ids: dict[str, pa.Array] = {}
        self.pending = {resource: list(views) for resource, views in by_resource.items()}
        self.work: queue.Queue[tuple[str, dict]] = queue.Queue()
        self.results: dict[str, BuiltTable] = {}
        self.failure: BaseException | None = None
        self.lock = threading.Lock()

    def ready(self, resource_type: str) -> None:
        with self.lock:
            for item in self.pending.pop(resource_type, []):
                self.work.put(item)

    def ready_all(self) -> None:
        """Queue every view not queued yet (a view without a source is skipped), then the end."""
        with self.lock:
            for resource_type in list(self.pending):
                for item in self.pending.pop(resource_type):
                    self.work.put(item)
            self.work.put(self._DONE)

    def abandon(self, reason: BaseException) -> None:
        """Start no other view (the one running finishes), and let every thread return."""
        with self.lock:
            if self.failure is None:
                self.failure = reason
            self.pending.clear()
            self.work.put(self._DONE)

    def run(self) -> None:
        try:
            engine = self.workspace.engine()
        except BaseException as exc:  # handed to the thread that reports it, like a view's failure
            self.abandon(exc)
            return
        with engine:
            while True:
                name, view = self.work.get()
                if not name:
                    self.work.put(self._DONE)  # for the next thread
                    return
                if self.failure is not None:
                    continue  # drain: nothing new starts after a failure
                try:
                    table = build_view(
                        self.workspace,
                        engine,
                        name,
                        view,
                        self.job_id,
                        self._rejected,
                        self.full,
                        self.changed_ids.get(view["resource"]),
                    )
                except BaseException as exc:  # handed to the thread that reports it
                    self.failure = exc
                    continue
                if table is not None:
                    with self.lock:
                        self.results[name] = table

    def _rejected(self, rows: list[BuildReject]) -> None:
        """Quarantine a view's rejects before its table is written: a build killed in between
        finds them again on its re-run (the quarantine adds none twice), one killed after it
        leaves the view alone and would not."""
        with self.lock:
            self.rejects.extend(rows)
            self.quarantined[0] += quarantine_rejects(self.workspace, sorted(rows), self.job_id)

    def built(self) -> list[BuiltTable]:
        if self.failure is not None:
            raise self.failure
        return [self.results[name] for name in sorted(self.results)]
