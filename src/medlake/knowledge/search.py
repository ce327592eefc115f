"""Searching the articles: analyse, correct, expand, rank, explain.

The index is a serving copy of ``marts.info_article``: :meth:`ArticleSearch.sync` makes it
match the lake table by content hash (adding, replacing and removing articles in one commit)
and is run after every load and before a search whenever the table has a newer version than the
index last saw, so a load killed between the lake commit and the index commit heals itself.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

from medlake.errors import InputError, NotReady
from medlake.knowledge import tables
from medlake.knowledge.analysis import terms
from medlake.knowledge.expansion import DEFAULT_WEIGHTS, Weights, correct, expand
from medlake.knowledge.graph import KnowledgeGraph
from medlake.knowledge.index import SearchBackend, TantivyBackend
from medlake.knowledge.query import FIELD_WEIGHTS, Clause, IndexDocument, SearchQuery
from medlake.workspace import Workspace

DEFAULT_LIMIT = 10


@dataclass
class SearchHit:
    id: str
    score: float
    title: str
    url: str
    #: expansion terms (and spelling corrections) this article contains: term, weight, reason
    expanded_with: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SyncReport:
    version: int | None
    added: int
    replaced: int
    removed: int
    indexed: int


def search_folder(workspace: Workspace) -> Path:
    return workspace.home / "search"


def open_backend(workspace: Workspace) -> SearchBackend:
    """The backend the settings choose (``search_url`` set: OpenSearch; otherwise tantivy)."""
    url = workspace.settings.search_url
    if url:
        from medlake.knowledge.opensearch import OpenSearchBackend

        return OpenSearchBackend(url, workspace.home)
    return TantivyBackend(search_folder(workspace) / "tantivy")


class GraphError(NotReady):
    """The graph's two tables come from different builds (one was killed between its commits)."""


def load_graph(workspace: Workspace) -> KnowledgeGraph | None:
    """The stored graph, or None before the first ``medlake kg build``.

    Its two tables are committed one after the other; both commits carry the build's job id, and a
    graph whose tables name different jobs is refused rather than read half old, half new.
    """
    term_rows = tables.read(workspace, tables.TERM_TABLE)
    edge_rows = tables.read(workspace, tables.EDGE_TABLE)
    if term_rows is None or edge_rows is None:
        return None
    if tables.job(workspace, tables.TERM_TABLE) != tables.job(workspace, tables.EDGE_TABLE):
        raise GraphError("the knowledge graph's last build did not finish: run `medlake kg build` again")
    return KnowledgeGraph.from_tables(term_rows, edge_rows)


def document(row: dict) -> IndexDocument:
    focus = "; ".join([row["focus"] or "", *(row["synonyms"] or ())]).strip("; ")
    return IndexDocument(row["id"], row["title"], focus, row["text"], row["url"] or "", row["content_hash"])


class ArticleSearch:
    def __init__(
        self,
        workspace: Workspace,
        backend: SearchBackend | None = None,
        graph: KnowledgeGraph | None = None,
        weights: Weights = DEFAULT_WEIGHTS,
        fields: dict[str, float] | None = None,
    ) -> None:
        self.workspace = workspace
        self.weights = weights
        self.fields = dict(fields or FIELD_WEIGHTS)
        self.backend = backend or open_backend(workspace)
        self.folder = search_folder(workspace)
        self._graph = graph

    # keeping the index in step with the lake -------------------------------------------
    @property
    def _state_file(self) -> Path:
        return self.folder / "state.json"

    def _state(self) -> dict:
        try:
            return json.loads(self._state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def sync(self) -> SyncReport:
        version = tables.version(self.workspace, tables.ARTICLE_TABLE)
        data = tables.read(self.workspace, tables.ARTICLE_TABLE)
        rows = data.to_pylist() if data is not None else []
        lake = {row["id"]: row for row in rows}
        indexed = self.backend.hashes()
        changed = [row for i, row in lake.items() if indexed.get(i) != row["content_hash"]]
        removed = [i for i in indexed if i not in lake]
        if changed or removed:
            self.backend.write([document(row) for row in changed], removed)
        self.folder.mkdir(parents=True, exist_ok=True)
        if changed or removed or not (self.folder / "vocabulary.json").exists():
            vocabulary: Counter[str] = Counter()
            for row in rows:
                vocabulary.update(set(terms(f"{row['title']} {row['text']}")))  # the fields searched
            counts = {"documents": len(rows), "terms": vocabulary}
            (self.folder / "vocabulary.json").write_text(json.dumps(counts, ensure_ascii=False))
        self._state_file.write_text(json.dumps({"article_version": version}))
        self.__dict__.pop("_counts", None)
        added = sum(1 for row in changed if row["id"] not in indexed)
        return SyncReport(version, added, len(changed) - added, len(removed), len(lake))

    def ensure_current(self) -> None:
        version = tables.version(self.workspace, tables.ARTICLE_TABLE)
        if version is not None and self._state().get("article_version") != version:
            self.sync()

    @cached_property
    def _counts(self) -> dict:
        try:
            return json.loads((self.folder / "vocabulary.json").read_text())
        except FileNotFoundError:
            return {"documents": 0, "terms": {}}

    @property
    def vocabulary(self) -> dict[str, int]:
        """Index term -> number of articles containing it (for spelling and generic words)."""
        return self._counts["terms"]

    @property
    def graph(self) -> KnowledgeGraph | None:
        if self._graph is None:
            self._graph = load_graph(self.workspace)
        return self._graph

    def _covered(self, words: str) -> bool:
        """Whether the articles already use the user's words for a concept (its rarest word is in more
        than ``weights.covered`` of them): then expansion has nothing to add, only noise."""
        analysed = terms(words)
        documents = max(self._counts["documents"], 1)
        rarest = min((self.vocabulary.get(t, 0) for t in analysed), default=0)
        return rarest / documents > self.weights.covered

    # searching ------------------------------------------------------------------------
    def query(self, text: str, expand_query: bool = True) -> SearchQuery:
        own = terms(text)
        clauses = [Clause((t,), 1.0, t) for t in dict.fromkeys(own)]
        clauses += correct(own, self.vocabulary, self.weights.spelling)
        if expand_query and self.graph is not None:
            clauses += expand(text, self.graph, self._covered, self.weights)
        return SearchQuery(tuple(clauses), self.fields)

    def search(self, text: str, expand_query: bool = True, limit: int = DEFAULT_LIMIT) -> list[SearchHit]:
        if limit < 1:
            raise InputError(f"limit must be at least 1, not {limit}")
        self.ensure_current()
        query = self.query(text, expand_query)
        hits = []
        for hit in self.backend.search(query, limit):
            added = query.expansions
            contained = self.backend.document_terms(hit.id) if added else set()
            hits.append(
                SearchHit(
                    hit.id,
                    round(hit.score, 4),
                    hit.title,
                    hit.url,
                    [
                        {"term": c.label, "weight": c.weight, "reason": c.reason}
                        for c in added
                        if set(c.terms) <= contained
                    ],
                )
            )
        return hits
