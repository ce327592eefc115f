"""``medlake kg build``: ontologies, the articles' concepts and a Wikipedia crawl, merged and stored.

The ontologies are read first because the medical-term rule consults them (a page whose title
is an ontology term is medical); the crawl follows; everything is merged into concepts and the
two tables are replaced in the lake, each in one commit, with lineage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from medlake.errors import InputError
from medlake.knowledge import tables
from medlake.knowledge.crawl import WikiGraph, crawl
from medlake.knowledge.graph import KnowledgeGraph
from medlake.knowledge.medical import MedicalRule
from medlake.knowledge.ontologies import (
    ONTOLOGIES,
    SourceTerm,
    article_terms,
    is_acronym,
    normal,
    ontology_version,
    wiki_terms,
)
from medlake.workspace import Workspace

#: what ``--ontology`` accepts: the packaged ontologies and the loaded articles' concepts
SOURCE_NAMES = (*ONTOLOGIES, "articles")


@dataclass
class BuildReport:
    concepts: int
    terms: int
    edges: int
    terms_by_source: dict[str, int]
    wiki_pages_read: int = 0
    wiki_medical_pages: int = 0
    wiki_pages_kept: int = 0
    seeds: dict[str, str | None] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def build_graph(
    workspace: Workspace,
    *,
    ontologies: Sequence[str] = SOURCE_NAMES,
    mediawiki: Path | str | None = None,
    seeds: Sequence[str] = (),
    max_depth: int = 2,
    rule: MedicalRule | None = None,
) -> tuple[KnowledgeGraph, BuildReport]:
    unknown = [o for o in ontologies if o not in SOURCE_NAMES]
    if unknown:
        raise InputError(f"unknown ontology {unknown[0]!r}: choose from {', '.join(SOURCE_NAMES)}")
    if mediawiki is not None and not seeds:
        raise InputError("a MediaWiki crawl needs at least one --seed")
    with workspace.catalog.job("kg build", {"ontologies": list(ontologies), "seeds": list(seeds)}) as job:
        job_id = job.id
        terms: list[SourceTerm] = []
        inputs: list[tables.Input] = []
        for name in ontologies:
            if name == "articles":
                articles = tables.read(workspace, tables.ARTICLE_TABLE)
                if articles is None:
                    continue  # nothing loaded yet: the graph is built without them
                terms += article_terms(articles.select(["focus", "synonyms", "cuis", "url"]).to_pylist())
                version = tables.version(workspace, tables.ARTICLE_TABLE)
                inputs.append(("dataset", tables.name(tables.ARTICLE_TABLE), version))
            else:
                terms += ONTOLOGIES[name]()
                inputs.append(("package", ontology_version(name), None))
        wiki: WikiGraph | None = None
        if mediawiki is not None:
            path = Path(mediawiki).resolve()
            lookup, known_code = _matchers(terms)
            wiki = crawl(path, seeds, max_depth, rule, lookup, known_code, scratch=workspace.home)
            terms += wiki_terms(wiki)
            inputs.append(("file", f"mediawiki:{path} ({path.stat().st_size} bytes)", None))
        graph = KnowledgeGraph.build(terms, wiki.edges if wiki else ())
        versions = {
            tables.TERM_TABLE: tables.replace(
                workspace, tables.TERM_TABLE, graph.term_table(), inputs, job_id
            ),
            tables.EDGE_TABLE: tables.replace(
                workspace, tables.EDGE_TABLE, graph.edge_table(), inputs, job_id
            ),
        }
        by_source: dict[str, int] = {}
        for term in terms:
            by_source[term.source] = by_source.get(term.source, 0) + 1
        report = BuildReport(
            len(graph.concepts),
            len(terms),
            len(graph.edges),
            by_source,
            wiki.pages_read if wiki else 0,
            wiki.medical_pages if wiki else 0,
            len(wiki.nodes) if wiki else 0,
            wiki.seeds if wiki else {},
            versions,
        )
        job.summary.update(report.as_dict())
    return graph, report


def _matchers(terms: list[SourceTerm]):
    """Title -> ontology term (names and synonyms, acronyms excepted), and "is this code known"."""
    names: dict[str, str] = {}
    codes: set[str] = set()
    for term in terms:
        for name in (term.name, *term.synonyms):
            if not is_acronym(name):
                names.setdefault(normal(name), f"{term.key} ({term.name})")
        codes.update(c.casefold() for c in term.codes)

    def lookup(title: str) -> str | None:
        return names.get(normal(title))

    def known_code(system: str, value: str) -> bool:
        return f"{system}:{value}".casefold() in codes

    return lookup, known_code
