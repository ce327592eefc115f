"""``MasterPatientIndex``: the index's operations for analysts, stewards and the CLI, in one place."""

from __future__ import annotations

from medlake.catalog.statuses import ReviewStatus
from medlake.errors import NotFound
from medlake.link.settings import LinkSettings
from medlake.mpi.ids import mint_person_id
from medlake.mpi.publish import write_person_link
from medlake.mpi.run import IndexRunReport, run_index
from medlake.mpi.store import (
    Event,
    IssuedIds,
    Member,
    MpiStore,
    ReviewItem,
    current_actor,
)
from medlake.workspace import Workspace


class MasterPatientIndex:
    """The region's person index: who is who, what a clerk must decide, and what changed when."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.store = MpiStore(workspace.catalog)

    def run(
        self, settings: LinkSettings | None = None, *, full: bool = False, actor: str | None = None
    ) -> IndexRunReport:
        """Link new and changed patient records (all of them with ``full``); see ``medlake.mpi.run``."""
        return run_index(self.workspace, settings, full=full, actor=actor)

    # ------------------------------------------------------------------ lookups
    def person_of(self, patient_id: str) -> str:
        """The global person id of one patient record (``<institution>.<id>``)."""
        member = self.store.member(patient_id)
        if member is None:
            raise NotFound(f"patient record {patient_id!r} is not in the master patient index")
        return member.person_id

    def resolve(self, person_id: str) -> str:
        """The active id for ``person_id``, following merges (an old id printed on a letter still works)."""
        return self.store.resolve(person_id)

    def members(self, person_id: str) -> list[Member]:
        """The patient records of a person (after following merges)."""
        return self.store.members_of(self.resolve(person_id))

    def history(self, person_id: str | None = None, patient_id: str | None = None) -> list[Event]:
        """Every change to the mapping, oldest first, optionally for one person or one patient record."""
        return self.store.events(person_id=person_id, patient_id=patient_id)

    # ------------------------------------------------------------------ clerical review
    def review_queue(
        self, status: ReviewStatus | None = ReviewStatus.PENDING, limit: int | None = None
    ) -> list[ReviewItem]:
        return self.store.reviews(status, limit)

    def review_item(self, review_id: int) -> ReviewItem:
        return self.store.review(review_id)

    def accept(
        self,
        review_id: int,
        actor: str | None = None,
        note: str | None = None,
        *,
        override: str | None = None,
    ) -> ReviewItem:
        """Same person: merge the two persons now; every later run keeps them linked.

        A pair already decided is refused unless ``override`` gives the reason to change it.
        """
        item = self.store.decide(
            review_id,
            ReviewStatus.ACCEPTED,
            actor or current_actor(self.workspace.settings),
            note,
            override=override,
        )
        self._publish("link-review")
        return item

    def reject(
        self,
        review_id: int,
        actor: str | None = None,
        note: str | None = None,
        *,
        override: str | None = None,
    ) -> ReviewItem:
        """Different persons: every later run keeps the two records apart.

        A pair already decided is refused unless ``override`` gives the reason to change it.
        """
        return self.store.decide(
            review_id,
            ReviewStatus.REJECTED,
            actor or current_actor(self.workspace.settings),
            note,
            override=override,
        )

    def split(self, patient_id: str, actor: str | None = None, note: str | None = None) -> str:
        """Take one record out of its person into a new person; returns the new global id."""
        new_id = mint_person_id(patient_id, IssuedIds(self.store))
        self.store.split(patient_id, new_id, actor or current_actor(self.workspace.settings), note)
        self._publish("link-split")
        return new_id

    def _publish(self, kind: str) -> None:
        """Rewrite warehouse.person_link so that the warehouse shows the decision at once."""
        with self.workspace.catalog.job(kind) as job:
            write_person_link(self.workspace, self.store.member_table(), job.id, self.store.state())
