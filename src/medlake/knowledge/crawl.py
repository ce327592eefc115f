"""The seed's method: from seed pages, follow links to medical pages, up to a path length.

The export is streamed twice and never held in memory:

1. **redirects**: every redirect of the article, template and category namespaces. Article
   redirects go to a scratch SQLite file (English Wikipedia has about ten million); those of
   templates and categories, a few hundred thousand, stay in memory. A redirect whose title
   names an ontology term marks its target (``Mini-stroke`` → ``Transient ischemic attack``).
2. **pages**: each article is parsed (``wikitext.read_page``) and tested with the
   :class:`~medlake.knowledge.medical.MedicalRule`; the medical ones and the seeds are kept in
   the scratch file with their links.

Then a breadth-first walk from the seeds over the kept pages: a link is resolved through one
redirect (MediaWiki does not follow double redirects either), a linked page is kept only if it
is medical, and pages at ``max_depth`` are reached but not expanded. Every link between kept
pages seen on an expanded page is an edge, with the page it was read on.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medlake.errors import InputError
from medlake.knowledge.mediawiki import DumpReader
from medlake.knowledge.medical import MedicalRule, OntologyLookup
from medlake.knowledge.titles import CATEGORY, MAIN, TEMPLATE
from medlake.knowledge.wikitext import read_page


@dataclass
class WikiNode:
    title: str
    depth: int
    #: why the page is a medical term ("seed" for a seed)
    reason: str
    codes: list[tuple[str, str]] = field(default_factory=list)
    #: titles of the redirects to this page ("CVA" for Stroke): other names for the term
    redirects: list[str] = field(default_factory=list)


@dataclass
class WikiGraph:
    nodes: dict[str, WikiNode]
    #: (page a, page b, page the link was read on); undirected, each pair once
    edges: list[tuple[str, str, str]]
    #: seeds as given -> the page they resolved to (None: no such page in the dump)
    seeds: dict[str, str | None]
    pages_read: int = 0
    medical_pages: int = 0


_SCHEMA = """
CREATE TABLE redirect (title TEXT PRIMARY KEY, target TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE page (title TEXT PRIMARY KEY, reason TEXT NOT NULL, codes TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE link (title TEXT NOT NULL, position INTEGER NOT NULL, target TEXT NOT NULL,
                   PRIMARY KEY (title, position)) WITHOUT ROWID;
"""


def crawl(
    dump: Path | str,
    seeds: Iterable[str],
    max_depth: int,
    rule: MedicalRule | None = None,
    ontology: OntologyLookup | None = None,
    known_code: Callable[[str, str], bool] | None = None,
    scratch: Path | None = None,
) -> WikiGraph:
    """The medical pages within ``max_depth`` links of the ``seeds`` and the links between them."""
    if max_depth < 0:
        raise InputError(f"max_depth must be 0 or more, not {max_depth}")
    rule = rule or MedicalRule()
    reader = DumpReader(dump)
    seeds = [s for s in seeds if s.strip()]
    if not seeds:
        raise InputError("give at least one seed term (the title of a page)")
    with tempfile.TemporaryDirectory(dir=scratch, prefix="medlake-kg-") as folder:
        db = sqlite3.connect(Path(folder) / "pages.db")
        try:
            db.executescript(_SCHEMA)
            return _Crawl(reader, db, rule, ontology, known_code).run(seeds, max_depth)
        finally:
            db.close()


class _Crawl:
    def __init__(
        self,
        reader: DumpReader,
        db: sqlite3.Connection,
        rule: MedicalRule,
        ontology: OntologyLookup | None,
        known_code: Callable[[str, str], bool] | None,
    ) -> None:
        self.reader, self.db, self.rule = reader, db, rule
        self.ontology, self.known_code = ontology, known_code
        self.templates: dict[str, str] = {}
        self.categories: dict[str, str] = {}
        #: target page -> titles of redirects to it that name an ontology term
        self.named_by_redirect: dict[str, list[str]] = {}

    def run(self, seeds: list[str], max_depth: int) -> WikiGraph:
        self._redirects()
        resolved = {seed: self._resolve(self.reader.namespaces.article(seed) or "") for seed in seeds}
        pages_read, medical = self._pages({t for t in resolved.values() if t})
        resolved = {s: t if t and self._kept(t) else None for s, t in resolved.items()}
        nodes, edges = self._walk([t for t in resolved.values() if t], max_depth)
        return WikiGraph(nodes, edges, resolved, pages_read, medical)

    # pass 1 ----------------------------------------------------------------------
    def _redirects(self) -> None:
        batch: list[tuple[str, str]] = []
        for page in self.reader:
            if page.redirect is None:
                continue
            if page.namespace == MAIN and page.redirect.namespace == MAIN:
                batch.append((page.title, page.redirect.text))
                if self.ontology is not None and self.rule.ontology_match and self.ontology(page.title):
                    self.named_by_redirect.setdefault(page.redirect.text, []).append(page.title)
                if len(batch) >= 10_000:
                    self._insert_redirects(batch)
            elif page.namespace == TEMPLATE and page.redirect.namespace == TEMPLATE:
                self.templates[page.title] = page.redirect.text
            elif page.namespace == CATEGORY and page.redirect.namespace == CATEGORY:
                self.categories[page.title] = page.redirect.text
        self._insert_redirects(batch)

    def _insert_redirects(self, batch: list[tuple[str, str]]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO redirect VALUES (?, ?)", batch)
        batch.clear()

    def _resolve(self, title: str) -> str:
        row = self.db.execute("SELECT target FROM redirect WHERE title = ?", (title,)).fetchone()
        return row[0] if row else title

    # pass 2 ----------------------------------------------------------------------
    def _pages(self, seeds: set[str]) -> tuple[int, int]:
        read = medical = 0
        for page in self.reader:
            if page.namespace != MAIN or page.redirect is not None:
                continue
            read += 1
            content = read_page(page.text, self.reader.namespaces)
            titles = [page.title, *self.named_by_redirect.get(page.title, ())]
            reason = self.rule.reason(
                content,
                titles,
                lambda t: self.templates.get(t, t),
                lambda c: self.categories.get(c, c),
                self.ontology,
                self.known_code,
            )
            if reason is not None:
                medical += 1
            elif page.title in seeds:
                reason = "seed"
            else:
                continue
            codes = "\n".join(f"{system}\t{code}" for system, code in content.codes)
            self.db.execute("INSERT OR REPLACE INTO page VALUES (?, ?, ?)", (page.title, reason, codes))
            self.db.execute("DELETE FROM link WHERE title = ?", (page.title,))
            self.db.executemany(
                "INSERT INTO link VALUES (?, ?, ?)", [(page.title, i, t) for i, t in enumerate(content.links)]
            )
        return read, medical

    def _kept(self, title: str) -> bool:
        return self.db.execute("SELECT 1 FROM page WHERE title = ?", (title,)).fetchone() is not None

    # the walk ----------------------------------------------------------------------
    def _walk(
        self, seeds: list[str], max_depth: int
    ) -> tuple[dict[str, WikiNode], list[tuple[str, str, str]]]:
        nodes: dict[str, WikiNode] = {}
        queue: deque[str] = deque()
        for seed in seeds:
            if seed not in nodes:
                nodes[seed] = self._node(seed, 0)
                queue.append(seed)
        edges: dict[tuple[str, str], str] = {}
        while queue:
            title = queue.popleft()
            depth = nodes[title].depth
            if depth >= max_depth:
                continue
            for target in self._links(title):
                if target == title:
                    continue
                if target not in nodes:
                    nodes[target] = self._node(target, depth + 1)
                    queue.append(target)
                edges.setdefault((min(title, target), max(title, target)), title)
        for node in nodes.values():
            node.redirects = [
                r[0]
                for r in self.db.execute(
                    "SELECT title FROM redirect WHERE target = ? ORDER BY title", (node.title,)
                )
            ]
        return nodes, [(a, b, page) for (a, b), page in edges.items()]

    def _links(self, title: str) -> list[str]:
        """Kept pages ``title`` links to, through one redirect, in the order the links appear."""
        rows = self.db.execute(
            """SELECT coalesce(r.target, l.target) FROM link l
               LEFT JOIN redirect r ON r.title = l.target
               JOIN page p ON p.title = coalesce(r.target, l.target)
               WHERE l.title = ? ORDER BY l.position""",
            (title,),
        )
        return list(dict.fromkeys(row[0] for row in rows))

    def _node(self, title: str, depth: int) -> WikiNode:
        reason, codes = self.db.execute("SELECT reason, codes FROM page WHERE title = ?", (title,)).fetchone()
        pairs = [tuple(line.split("\t", 1)) for line in codes.split("\n") if line]
        return WikiNode(title, depth, reason, pairs)  # type: ignore[arg-type]
