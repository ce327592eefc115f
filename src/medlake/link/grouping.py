"""Pairwise links to persons, under the constraints a merge must never break.

Connected components alone would let a chain of links join what must stay apart: two records
with different verified national ids through a third record that has none, or two records a
clerk has declared different people. Links are therefore applied one by one, strongest first
(clerk decisions, the institutions' own Patient.link statements, shared verified identifiers,
then model probability), and a link is refused when the two groups it would join hold a
conflicting identifier or a rejected pair. Refused links are returned so that a clerk sees them.

This is the one grouping algorithm of the platform: the master patient index's full run (every
record starts alone) and incremental run (the existing persons start as groups, only the new
links are applied), and the standalone path (``link_records``: ``medlake link evaluate``, the
FEBRL benchmark, the edge-case tests) all call :func:`group_records`, so what evaluation measures
is what production runs. In every case a person can only grow by links that respect the
constraints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum


class Strength(IntEnum):
    """Why two records are linked; lower is stronger and applied first."""

    CLERK = 0
    SOURCE = 1
    IDENTIFIER = 2
    MODEL = 3


BASIS = {
    Strength.CLERK: "clerk decision",
    Strength.SOURCE: "source link",
    Strength.IDENTIFIER: "shared national id",
    Strength.MODEL: "match probability",
}
BASIS_SINGLE = "single record"


@dataclass(frozen=True)
class Link:
    left: str
    right: str
    strength: Strength
    probability: float = 1.0


@dataclass
class Grouping:
    """Each record's group (its root record), each record's strongest accepted link, refused links."""

    group_of: dict[str, str]
    basis_of: dict[str, str]
    refused: list[Link] = field(default_factory=list)

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for record, root in self.group_of.items():
            out.setdefault(root, []).append(record)
        return out


class _Groups:
    """Union-find that also tracks, per group, its verified identifiers and constrained members."""

    def __init__(self, identifiers: Mapping[str, str], cannot_link: Mapping[str, set[str]]) -> None:
        self.parent: dict[str, str] = {}
        self.identifiers = identifiers
        self.cannot_link = cannot_link
        self.ids_of: dict[str, set[str]] = {}
        self.constrained: dict[str, set[str]] = {}

    def add(self, record: str) -> None:
        if record in self.parent:
            return
        self.parent[record] = record
        if record in self.identifiers:
            self.ids_of[record] = {self.identifiers[record]}
        if record in self.cannot_link:
            self.constrained[record] = {record}

    def find(self, record: str) -> str:
        root = record
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[record] != root:  # path compression
            self.parent[record], record = root, self.parent[record]
        return root

    def identifier_conflict(self, a: str, b: str) -> bool:
        ids_a, ids_b = self.ids_of.get(a), self.ids_of.get(b)
        return bool(ids_a and ids_b and ids_a != ids_b)

    def rejected_between(self, a: str, b: str) -> bool:
        small, other = (
            (a, b) if len(self.constrained.get(a, ())) <= len(self.constrained.get(b, ())) else (b, a)
        )
        for record in self.constrained.get(small, ()):
            for partner in self.cannot_link[record]:
                if partner in self.parent and self.find(partner) == other:
                    return True
        return False

    def union(self, a: str, b: str) -> None:
        # Keep the smaller root string as root, so that groups are deterministic for the same input.
        root, child = (a, b) if a < b else (b, a)
        self.parent[child] = root
        for table in (self.ids_of, self.constrained):
            if child in table:
                table.setdefault(root, set()).update(table.pop(child))


def group_records(
    records: Iterable[str],
    links: Iterable[Link],
    identifiers: Mapping[str, str],
    cannot_link: Mapping[str, set[str]],
    start_groups: Iterable[Iterable[str]] = (),
) -> Grouping:
    """Apply ``links`` strongest first to ``records`` (optionally pre-grouped).

    ``identifiers``: record -> verified national id (records without one are absent).
    ``cannot_link``: record -> records it must never share a person with (symmetric).
    Clerk links ignore identifier conflicts (a clerk has looked at both ids); every link,
    a clerk's included, respects rejected pairs.
    """
    groups = _Groups(identifiers, cannot_link)
    for record in records:
        groups.add(record)
    for members in start_groups:
        members = list(members)
        for member in members:
            groups.add(member)
        for member in members[1:]:
            a, b = groups.find(members[0]), groups.find(member)
            if a != b:
                groups.union(a, b)
    basis: dict[str, str] = {}
    refused: list[Link] = []
    ordered = sorted(links, key=lambda link: (link.strength, -link.probability, link.left, link.right))
    for link in ordered:
        groups.add(link.left)
        groups.add(link.right)
        a, b = groups.find(link.left), groups.find(link.right)
        if a != b:
            conflict = link.strength != Strength.CLERK and groups.identifier_conflict(a, b)
            if conflict or groups.rejected_between(a, b):
                refused.append(link)
                continue
            groups.union(a, b)
        for record in (link.left, link.right):
            basis.setdefault(record, BASIS[link.strength])
    group_of = {record: groups.find(record) for record in groups.parent}
    return Grouping(group_of=group_of, basis_of=basis, refused=refused)
