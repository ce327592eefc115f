"""The search backends: one small interface, an embedded default and a server for a region.

**tantivy (default).** An embedded full-text engine (a Rust library in the Lucene family) in a
folder of the workspace. Chosen over SQLite FTS5, the other embedded candidate, because a query
is a tree of *individually boosted* term and phrase queries scored with BM25, which is how the
expansion weighs added terms below the user's words in one ranking; FTS5's ``bm25()`` weighs
columns, not terms, so the same thing would take one query per weight and a merge in Python.
Its segments are written and published by an atomic commit (a killed load leaves the last
commit readable), and its query model is OpenSearch's, so the two backends translate the same
:class:`~medlake.knowledge.query.SearchQuery` clause for clause.

**OpenSearch / Elasticsearch** (:mod:`medlake.knowledge.opensearch`) for a region's scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import tantivy

from medlake.knowledge.analysis import ANALYZER_NAME, analyzer, segment
from medlake.knowledge.query import PHRASE_SLOP, BackendHit, IndexDocument, SearchQuery

ANALYSED_FIELDS = ("title", "focus", "text")


class SearchBackend(Protocol):
    def hashes(self) -> dict[str, str]:
        """Article id -> content hash of every indexed article."""
        ...

    def write(self, upsert: Iterable[IndexDocument], delete: Iterable[str]) -> None:
        """Replace or add ``upsert``, remove ``delete``, and publish both at once."""
        ...

    def search(self, query: SearchQuery, limit: int) -> list[BackendHit]: ...

    def document_terms(self, article_id: str) -> set[str]:
        """The analysed terms of one article (to say which expansion terms a hit contains)."""
        ...


class TantivyBackend:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw")
        builder.add_text_field("hash", stored=True, tokenizer_name="raw")
        builder.add_text_field("url", stored=True, tokenizer_name="raw", index_option="basic")
        builder.add_text_field("label", stored=True, tokenizer_name="raw", index_option="basic")
        for name in ANALYSED_FIELDS:
            builder.add_text_field(name, stored=True, tokenizer_name=ANALYZER_NAME)
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema, path=str(folder), reuse=True)
        self.index.register_tokenizer(ANALYZER_NAME, analyzer())

    def _searcher(self) -> tantivy.Searcher:
        self.index.reload()
        return self.index.searcher()

    def _all(self) -> list[tantivy.Document]:
        searcher = self._searcher()
        if searcher.num_docs == 0:
            return []
        found = searcher.search(tantivy.Query.all_query(), limit=searcher.num_docs, count=False)
        return [searcher.doc(address) for _, address in found.hits]

    def hashes(self) -> dict[str, str]:
        return {doc["id"][0]: doc["hash"][0] for doc in self._all()}

    def write(self, upsert: Iterable[IndexDocument], delete: Iterable[str]) -> None:
        writer = self.index.writer(heap_size=64_000_000, num_threads=1)
        try:
            for article_id in delete:
                writer.delete_documents_by_term("id", article_id)
            for doc in upsert:
                writer.delete_documents_by_term("id", doc.id)
                writer.add_document(
                    tantivy.Document(
                        id=doc.id,
                        hash=doc.content_hash,
                        url=doc.url,
                        label=doc.title,
                        title=segment(doc.title),
                        focus=segment(doc.focus),
                        text=segment(doc.text),
                    )
                )
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise

    def compile(self, query: SearchQuery) -> tantivy.Query:
        should = []
        for clause in query.clauses:
            for name, field_weight in query.fields.items():
                if field_weight <= 0:
                    continue
                if len(clause.terms) == 1:
                    inner = tantivy.Query.term_query(self.schema, name, clause.terms[0])
                else:
                    inner = tantivy.Query.phrase_query(
                        self.schema, name, list(clause.terms), slop=PHRASE_SLOP
                    )
                should.append(
                    (tantivy.Occur.Should, tantivy.Query.boost_query(inner, clause.weight * field_weight))
                )
        return tantivy.Query.boolean_query(should) if should else tantivy.Query.empty_query()

    def search(self, query: SearchQuery, limit: int) -> list[BackendHit]:
        searcher = self._searcher()
        if searcher.num_docs == 0 or not query.clauses:
            return []
        found = searcher.search(self.compile(query), limit=limit, count=False)
        hits = []
        for score, address in found.hits:
            doc = searcher.doc(address)
            hits.append(BackendHit(doc["id"][0], float(score), doc["label"][0], doc["url"][0]))
        return hits

    def document_terms(self, article_id: str) -> set[str]:
        searcher = self._searcher()
        found = searcher.search(tantivy.Query.term_query(self.schema, "id", article_id), limit=1, count=False)
        if not found.hits:
            return set()
        doc = searcher.doc(found.hits[0][1])
        text = " ".join(doc[name][0] for name in ANALYSED_FIELDS if doc[name])
        return set(analyzer().analyze(text))
