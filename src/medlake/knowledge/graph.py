"""The knowledge graph: merged concepts as nodes, undirected edges with their provenance.

Edges come from Wikipedia links (``link``, with the page the link is on), from the ontologies'
hierarchies (``is_a``, from the narrower to the broader term), from terms that are about other
concepts without being them (``related``: a combined article focus, a page's ICD-10 range), and
from names shared by concepts no code merged (``same_name``: HPO's and the articles' "Transient
ischemic attack" carry different UMLS ids). Self-loops left by merging are dropped.

:class:`KnowledgeGraph` answers the questions the CLI and search ask (find a term, neighbours
within N steps, a shortest path) and hands the graph out as networkx or as Arrow tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx
import pyarrow as pa

from medlake.errors import InputError, NotFound
from medlake.knowledge.concepts import Concept, merge
from medlake.knowledge.ontologies import SourceTerm, is_acronym, normal


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    relation: str
    #: where the edge comes from: ``wikipedia:<page it was read on>``, ``icd10``, ``hpo``, ``articles``
    source: str


TERM_SCHEMA = pa.schema(
    [
        pa.field("concept_id", pa.string(), nullable=False),
        pa.field("concept_name", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("synonyms", pa.list_(pa.string())),
        pa.field("codes", pa.list_(pa.string())),
        pa.field("related", pa.list_(pa.string())),
        pa.field("broader", pa.list_(pa.string())),
        pa.field("merged_by", pa.list_(pa.string())),
        pa.field("page", pa.string()),
        pa.field("depth", pa.int32()),
        pa.field("reason", pa.string()),
    ]
)
EDGE_SCHEMA = pa.schema(
    [
        pa.field("a", pa.string(), nullable=False),
        pa.field("b", pa.string(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
    ]
)


class UnknownTermError(NotFound):
    def __init__(self, term: str) -> None:
        super().__init__(term)
        self.message = f"no term {term!r} in the knowledge graph (names, synonyms and ids are searched)"

    def __str__(self) -> str:
        return self.message


class KnowledgeGraph:
    def __init__(self, concepts: dict[str, Concept], edges: Iterable[Edge]) -> None:
        self.concepts = concepts
        self.edges = list(edges)
        self.graph = nx.Graph()
        for concept in concepts.values():
            self.graph.add_node(concept.id, name=concept.name, sources=concept.sources)
        for edge in self.edges:
            if self.graph.has_edge(edge.a, edge.b):
                data = self.graph.edges[edge.a, edge.b]
                data["relations"].add(edge.relation)
                data["sources"].add(edge.source)
            else:
                self.graph.add_edge(edge.a, edge.b, relations={edge.relation}, sources={edge.source})
        self._by_name: dict[str, list[str]] = defaultdict(list)
        #: names known only as acronyms ("tia"): matched in text only where written in capitals
        self.acronym_names: set[str] = set()
        spelled_out: set[str] = set()
        self._by_key: dict[str, str] = {}
        for concept in concepts.values():
            for member in concept.members:
                self._by_key[member.key.casefold()] = concept.id
                for c in member.codes:
                    self._by_key.setdefault(c.casefold(), concept.id)
            for name in concept.names():
                key = normal(name)
                ids = self._by_name[key]
                if concept.id not in ids:
                    ids.append(concept.id)
                (self.acronym_names if is_acronym(name) else spelled_out).add(key)
        self.acronym_names -= spelled_out

    # building -------------------------------------------------------------------------
    @classmethod
    def build(
        cls, terms: Iterable[SourceTerm], wiki_edges: Iterable[tuple[str, str, str]] = ()
    ) -> KnowledgeGraph:
        """Merge ``terms`` and connect them; ``wiki_edges`` are (page, page, page read on)."""
        terms = list(terms)
        concepts, concept_of = merge(terms)
        edges: list[Edge] = []

        def add(a: str, b: str, relation: str, source: str) -> None:
            if a != b:
                edges.append(Edge(min(a, b), max(a, b), relation, source))

        for a, b, page in wiki_edges:
            add(concept_of[f"wikipedia:{a}"], concept_of[f"wikipedia:{b}"], "link", f"wikipedia:{page}")
        holders: dict[str, list[str]] = defaultdict(list)
        for term in terms:
            for c in term.codes:
                holders[c].append(concept_of[term.key])
        for term in terms:
            here = concept_of[term.key]
            for broader in term.broader:
                there = concept_of.get(f"{term.source}:{broader}")
                if there is not None:
                    add(here, there, "is_a", term.source)
            for c in term.related:
                for there in dict.fromkeys(holders.get(c, ())):
                    add(here, there, "related", term.source)
        names: dict[str, list[str]] = defaultdict(list)
        for concept in concepts.values():
            for name in concept.names():
                if not is_acronym(name):
                    names[normal(name)].append(concept.id)
        for ids in names.values():
            ids = list(dict.fromkeys(ids))
            for other in ids[1:]:
                add(ids[0], other, "same_name", "names")
        return cls(concepts, dict.fromkeys(edges))

    # questions ------------------------------------------------------------------------
    def find(self, term: str) -> str:
        """The concept a name, synonym, member key (``icd10:I63``) or code names."""
        hit = self._by_key.get(term.strip().casefold())
        if hit is not None:
            return hit
        ids = self._by_name.get(normal(term))
        if ids:
            return min(ids, key=lambda i: (-self.graph.degree(i), i))
        raise UnknownTermError(term)

    def concept_for_key(self, key: str) -> str | None:
        """The concept of a member key (``hpo:HP:0002326``) or a denoting code (``icd10:I63``)."""
        return self._by_key.get(key.strip().casefold())

    def concepts_named(self, name: str) -> list[str]:
        return list(self._by_name.get(normal(name), ()))

    def neighbours(self, term: str, depth: int = 1) -> list[dict]:
        """Concepts within ``depth`` steps of ``term``, nearest first: ``term``, ``distance``, ``sources``."""
        if depth < 0:
            raise InputError(f"depth must be 0 or more, not {depth}")
        start = self.find(term)
        lengths = nx.single_source_shortest_path_length(self.graph, start, cutoff=depth)
        ordered = sorted(lengths.items(), key=lambda kv: (kv[1], self.concepts[kv[0]].name, kv[0]))
        return [
            {"term": self.concepts[c].name, "id": c, "distance": d, "sources": self.concepts[c].sources}
            for c, d in ordered
        ]

    def path(self, a: str, b: str) -> list[dict]:
        """A shortest path from ``a`` to ``b`` (empty if they are not connected), with each step's edge."""
        start, end = self.find(a), self.find(b)
        try:
            nodes = nx.shortest_path(self.graph, start, end)
        except nx.NetworkXNoPath:
            return []
        steps = []
        for i, node in enumerate(nodes):
            step: dict = {"term": self.concepts[node].name, "id": node}
            if i:
                data = self.graph.edges[nodes[i - 1], node]
                step["via"] = {"relations": sorted(data["relations"]), "sources": sorted(data["sources"])}
            steps.append(step)
        return steps

    # as tables ------------------------------------------------------------------------
    def term_table(self) -> pa.Table:
        rows = []
        for concept in sorted(self.concepts.values(), key=lambda c: c.id):
            for m in concept.members:
                rows.append(
                    {
                        "concept_id": concept.id,
                        "concept_name": concept.name,
                        "source": m.source,
                        "source_id": m.source_id,
                        "name": m.name,
                        "synonyms": list(m.synonyms),
                        "codes": list(m.codes),
                        "related": list(m.related),
                        "broader": list(m.broader),
                        "merged_by": concept.merged_by.get(m.key, []),
                        "page": m.page,
                        "depth": m.depth,
                        "reason": m.reason,
                    }
                )
        return pa.Table.from_pylist(rows, schema=TERM_SCHEMA)

    def edge_table(self) -> pa.Table:
        rows = [vars(e) for e in sorted(self.edges, key=lambda e: (e.a, e.b, e.relation, e.source))]
        return pa.Table.from_pylist(rows, schema=EDGE_SCHEMA)

    @classmethod
    def from_tables(cls, terms: pa.Table, edges: pa.Table) -> KnowledgeGraph:
        """The graph as stored (``marts.kg_term``, ``marts.kg_edge``), merged as it was built."""
        concepts: dict[str, Concept] = {}
        for row in terms.to_pylist():
            concept = concepts.get(row["concept_id"])
            if concept is None:
                concept = concepts[row["concept_id"]] = Concept(row["concept_id"], row["concept_name"])
            member = SourceTerm(
                row["source"],
                row["source_id"],
                row["name"],
                tuple(row["synonyms"] or ()),
                tuple(row["codes"] or ()),
                tuple(row["related"] or ()),
                tuple(row["broader"] or ()),
                row["page"],
                row["depth"],
                row["reason"],
            )
            concept.members.append(member)
            if row["merged_by"]:
                concept.merged_by[member.key] = list(row["merged_by"])
        return cls(concepts, [Edge(**row) for row in edges.to_pylist()])
