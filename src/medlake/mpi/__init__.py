"""The master patient index: one global person id per resident, kept stable and auditable.

``medlake.link`` decides which records are one person; this package keeps the answer: the
global <-> node map (catalog tables ``mpi_*``, published as ``warehouse.person_link``), the
clerical review queue, every merge and split as an event, and incremental runs that link new
records against the existing persons without relinking everyone::

    from medlake.mpi import MasterPatientIndex
    mpi = MasterPatientIndex(workspace)
    mpi.run()                       # first run: full; later runs: incremental
    mpi.review_queue()              # pairs for a clerk, with evidence
    mpi.accept(item.id, note="same passport")
    mpi.history(person_id="P...")   # audit trail
"""

from medlake.mpi.index import MasterPatientIndex
from medlake.mpi.run import IndexRunReport, link_settings, run_index
from medlake.mpi.store import Event, Member, ReviewItem

__all__ = [
    "Event",
    "IndexRunReport",
    "MasterPatientIndex",
    "Member",
    "ReviewItem",
    "link_settings",
    "run_index",
]
