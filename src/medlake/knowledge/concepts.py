"""Merging terms from different sources into concepts, by the codes that denote them.

Two terms are the same concept when they share a denoting code (``icd10:I63``, ``umls:C0038454``,
``hpo:HP:0002326``, ``mesh:D020521``); the relation is closed transitively (union-find). Every
member keeps its source, its own id and the codes that merged it (``merged_by``), so a concept can
always be taken apart again. A concept's id is its first member's key in :data:`SOURCES` order
(``wikipedia:Stroke`` before ``icd10:I63``) and its name that member's name: the consumer wording
of Wikipedia and the articles before the clinical wording of the ontologies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from medlake.knowledge.ontologies import SOURCES, SourceTerm


@dataclass
class Concept:
    id: str
    name: str
    members: list[SourceTerm] = field(default_factory=list)
    #: member key -> the codes it shares with other members
    merged_by: dict[str, list[str]] = field(default_factory=dict)

    @property
    def sources(self) -> list[str]:
        return [m.key for m in self.members]

    @property
    def codes(self) -> list[str]:
        return list(dict.fromkeys(c for m in self.members for c in m.codes))

    def names(self) -> list[str]:
        """Every name and synonym of every member, preferred name first."""
        seen = dict.fromkeys([self.name])
        for member in self.members:
            seen.setdefault(member.name)
            for synonym in member.synonyms:
                seen.setdefault(synonym)
        return list(seen)


def _priority(term: SourceTerm) -> tuple[int, str]:
    rank = SOURCES.index(term.source) if term.source in SOURCES else len(SOURCES)
    return rank, term.key


def merge(terms: Iterable[SourceTerm]) -> tuple[dict[str, Concept], dict[str, str]]:
    """Concepts by id, and each term key's concept id."""
    by_key: dict[str, SourceTerm] = {}
    for term in terms:
        by_key.setdefault(term.key, term)
    parent = {key: key for key in by_key}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    holders: dict[str, list[str]] = defaultdict(list)
    for key, term in by_key.items():
        for denoting in term.codes:
            holders[denoting].append(key)
    for keys in holders.values():
        root = find(keys[0])
        for other in keys[1:]:
            parent[find(other)] = root
    groups: dict[str, list[SourceTerm]] = defaultdict(list)
    for key, term in by_key.items():
        groups[find(key)].append(term)
    concepts: dict[str, Concept] = {}
    concept_of: dict[str, str] = {}
    for members in groups.values():
        members.sort(key=_priority)
        first = members[0]
        concept = Concept(first.key, first.name, members)
        for member in members:
            shared = [c for c in member.codes if len(holders[c]) > 1]
            if shared and len(members) > 1:
                concept.merged_by[member.key] = shared
            concept_of[member.key] = concept.id
        concepts[concept.id] = concept
    return concepts, concept_of
