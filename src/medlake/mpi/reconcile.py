"""From this run's groups of records to global person ids, keeping the ids people already have.

A group is matched to the existing person most of whose records it holds. When one group holds
records of several existing persons, those persons merge: the oldest id survives (it is the one
most likely printed on letters and cards already) and the others point at it. When an existing
person's records end up in several groups, the group with most of them keeps the id and the rest
split off under new ids. Every outcome becomes an event for the audit trail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field

from medlake.catalog.statuses import EventKind
from medlake.mpi.ids import mint_person_id


@dataclass(frozen=True)
class Change:
    """One change to the mapping, to be written as an event."""

    kind: EventKind
    person_id: str | None
    other_person_id: str | None = None
    patient_ids: tuple[str, ...] = ()
    reason: str | None = None


@dataclass
class Assignment:
    """Every current record's person, and what changed."""

    person_of: dict[str, str]
    created: list[str] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)  # merged-away id -> survivor
    retired: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def assign_persons(
    groups: Mapping[str, list[str]],
    previous: Mapping[str, str],
    known_ids: Container[str],
    age_rank: Callable[[str], tuple],
    removed: Mapping[str, str] | None = None,
) -> Assignment:
    """Give each group a global id.

    ``previous``: record -> person id before this run (current records only).
    ``known_ids``: every id ever issued (active or not), never to be minted again.
    ``age_rank``: sort key of an existing id, oldest first.
    ``removed``: record -> person id of records that left the source since the last run.
    """
    members_before: dict[str, set[str]] = {}
    for record, person in previous.items():
        members_before.setdefault(person, set()).add(record)
    ordered_groups = sorted(
        ((root, sorted(members)) for root, members in groups.items()), key=lambda g: g[1][0]
    )
    # Which group holds most of each existing person's records (ties: the group with the smallest record).
    winner: dict[str, str] = {}
    best: dict[str, int] = {}
    for root, members in ordered_groups:  # by smallest record, so a strict ">" lets the first group win ties
        before = [previous[r] for r in members if r in previous]
        if not before:
            continue
        for person, count in Counter(before).items():
            if count > best.get(person, 0):
                best[person] = count
                winner[person] = root
    won: dict[str, list[str]] = {}
    for person, root in winner.items():
        won.setdefault(root, []).append(person)

    minted: set[str] = set()
    taken = _Taken(known_ids, minted)
    created: set[str] = set()
    result = Assignment(person_of={})
    for root, members in ordered_groups:
        candidates = sorted(won[root], key=age_rank) if root in won else []
        if candidates:
            person = candidates[0]
            for absorbed in candidates[1:]:
                result.merged[absorbed] = person
                moved = tuple(sorted(r for r in members if previous.get(r) == absorbed))
                result.changes.append(Change(EventKind.MERGE, person, absorbed, moved, "records linked"))
        else:
            person = mint_person_id(members[0], taken)
            minted.add(person)
            created.add(person)
            result.created.append(person)
            result.changes.append(Change(EventKind.CREATE, person, None, tuple(members)))
        for record in members:
            result.person_of[record] = person
        if not candidates and not any(r in previous for r in members):
            continue  # a new person, the common case: nothing split off or attached
        # Records that came from another person that was not merged into this one: a split.
        split_from: dict[str, list[str]] = {}
        for record in members:
            before = previous.get(record)
            if before is not None and before != person and result.merged.get(before) != person:
                split_from.setdefault(before, []).append(record)
        for before, moved_records in sorted(split_from.items()):
            result.changes.append(Change(EventKind.SPLIT, person, before, tuple(sorted(moved_records))))
        new_records = tuple(sorted(r for r in members if r not in previous))
        if new_records and person not in created:
            result.changes.append(Change(EventKind.ATTACH, person, None, new_records))

    for record, person in sorted((removed or {}).items()):
        result.changes.append(
            Change(EventKind.DETACH, person, None, (record,), "record no longer in the source")
        )
    still_used = set(result.person_of.values())
    lost = {p for p in members_before if p not in still_used and p not in result.merged}
    lost |= {p for p in (removed or {}).values() if p not in still_used and p not in result.merged}
    for person in sorted(lost):
        result.retired.append(person)
        result.changes.append(Change(EventKind.RETIRE, person, None, (), "no records left"))
    return result


class _Taken:
    """The ids ever issued plus those this run minted: what a new id must not be."""

    def __init__(self, issued: Container[str], minted: set[str]) -> None:
        self.issued, self.minted = issued, minted

    def __contains__(self, person_id: object) -> bool:
        return person_id in self.minted or person_id in self.issued
