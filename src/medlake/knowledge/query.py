"""A search as the backends receive it: weighted clauses over fields, the same for every backend.

A clause is one analysed term or phrase with a weight: 1.0 for the user's own words, less for a
spelling correction, less again for what the expansion added. Each backend turns it into its own
query language (tantivy: boosted term and phrase queries in a boolean "should"; OpenSearch: a
``bool.should`` of boosted ``term``/``match_phrase`` clauses), so both rank with BM25 the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Fields a query searches and their weights: the title (the question an article answers) and the
#: text, each scored with BM25 on its own, so a short title that names the topic counts for much.
#: The focus (topic name and synonyms) is indexed but not searched: weighted 1.0 it lowered nDCG@10
#: on the judged questions from 0.469 to 0.364 (a field of three words gives any match a large
#: BM25 score, "syndrome" and "health" included). See docs/knowledge.md, "Evaluation".
FIELD_WEIGHTS: dict[str, float] = {"title": 1.0, "text": 1.0}

#: How far apart a phrase's words may be (stop words leave gaps: "attack of the heart").
PHRASE_SLOP = 2


@dataclass(frozen=True)
class Clause:
    #: analysed terms; more than one is a phrase
    terms: tuple[str, ...]
    weight: float
    #: the words as the user or the expansion gave them ("mini stroke")
    label: str
    #: why the clause is there; None for the user's own words
    reason: str | None = None


@dataclass(frozen=True)
class SearchQuery:
    clauses: tuple[Clause, ...]
    fields: dict[str, float] = field(default_factory=lambda: dict(FIELD_WEIGHTS))

    @property
    def expansions(self) -> tuple[Clause, ...]:
        return tuple(c for c in self.clauses if c.reason is not None)


@dataclass(frozen=True)
class IndexDocument:
    id: str
    title: str
    focus: str
    text: str
    url: str
    content_hash: str


@dataclass(frozen=True)
class BackendHit:
    id: str
    score: float
    title: str
    url: str
