"""The states the catalog records, as enums stored as their text (the strings the tables always held).

An enum names every state a row can be in, so a typo is an AttributeError where it is written,
not a row that no query finds; the stored text is unchanged, so no migration is needed and
plain SQL over the catalog reads what it always read.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class BatchStatus(StrEnum):
    """A batch is opened before anything of it is written and closed once it reconciles."""

    RUNNING = "running"
    COMMITTED = "committed"


class PersonStatus(StrEnum):
    """A global person id is never deleted: a merged one points at its survivor, a retired one lost
    its last record."""

    ACTIVE = "active"
    MERGED = "merged"
    RETIRED = "retired"


class ReviewStatus(StrEnum):
    """A pair for a clerk: pending until decided; superseded when the records became one person or
    left their source (a later run may make it pending again)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class EventKind(StrEnum):
    """One change to the master patient index's map, as its audit trail records it."""

    CREATE = "create"
    ATTACH = "attach"
    MERGE = "merge"
    SPLIT = "split"
    DETACH = "detach"
    RETIRE = "retire"
    REVIEW_ACCEPT = "review_accept"
    REVIEW_REJECT = "review_reject"
