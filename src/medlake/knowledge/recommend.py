"""Personalised health information: the few articles that fit a person now, each with its reason.

**Topics.** A topic is a concept some article is about (its focus). Each piece of evidence
(:mod:`evidence`) is looked up in the knowledge graph by its codes (an ICD-10 code, then its
category: E11.9 → E11; a SNOMED CT code through the ontologies' cross-references) and by its names
(the diagnosis as written, and without qualifiers such as "(disorder)", ", unspecified",
"without complications" or parenthesised words); the concepts found, or concepts of the same
name, are its topics when articles are about them. When none is, the topic is the article focus
(or a synonym of it) whose words are all among the diagnosis' words (stemmed, British spellings
folded), the longest such: "Diabetes Type 2" for "Type 2 diabetes mellitus without
complications", "Heart Diseases" for "Chronic ischaemic heart disease" -- a broader name of the
same condition, never a narrower or a merely related one (a related concept is a different
condition).

**Rules.** An article is suggested only for a topic one of the person's own records points to:
a diagnosis that is not resolved, refuted or entered in error, an active prescription (through
the condition it was prescribed for), the latest value of a test being abnormal (a warning), or a
risk of the risk models (the hook in :mod:`evidence`). An article about a combination ("Diabetes,
Heart Disease, and Stroke": a focus that joins two names the graph knows) is never chosen. Per
topic one article, the overview first (then treatment, prevention, symptoms), from consumer
sources first (:data:`SOURCE_ORDER`); topics are ranked diagnosis, prescription, result, risk,
the most recent first, and old encounter diagnoses (history) after all of them.

**Reasons** name the record: "because you were diagnosed with type 2 diabetes mellitus at
chc-east in 2021", "because your last 2 HbA1c results were abnormal, the latest 7.9 %, at or above
6.5 % (chc-east, 2024-03-02): this can point to diabetes type 2".
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass

from medlake.errors import NotReady
from medlake.knowledge import tables
from medlake.knowledge.analysis import name_analyzer, segment
from medlake.knowledge.evidence import CONFIRMING, ConsentCheck, Evidence, RiskSource, gather
from medlake.knowledge.graph import KnowledgeGraph
from medlake.knowledge.ontologies import is_acronym, normal
from medlake.knowledge.search import load_graph
from medlake.workspace import Workspace

DEFAULT_LIMIT = 5
KIND_ORDER = ("condition", "medication", "result", "risk")
#: question types of MedQuAD, overview first (taken from the article's title when no type is stored)
QUESTION_ORDER = ("what is", "what are the treatments", "how to prevent", "what are the symptoms")
#: consumer-facing sources first
SOURCE_ORDER = ("MPlusHealthTopics", "NIHSeniorHealth", "NHLBI", "NIDDK", "NINDS", "CDC", "CancerGov")
_QUALIFIERS = re.compile(
    r"\((disorder|finding|disease|situation)\)|,?\s*\b(unspecified|not otherwise specified|nos|"
    r"without (mention of )?complications?|site not specified|part unspecified)\b",
    re.IGNORECASE,
)
_PARENTHESES = re.compile(r"\([^)]*\)")
_JOINED = re.compile(r",\s*(?:and\s+)?|\s+and\s+|\s*&\s*", re.IGNORECASE)
_BRITISH = re.compile(r"(?<=[a-z])(ae|oe)(?=[a-z])")


_LINKING = frozenset(("of", "the", "and", "with", "in", "a", "an", "to", "by", "or", "for", "on"))


def words_of(name: str) -> frozenset[str]:
    """A name as a set of stemmed words, British spellings folded (ischaemic = ischemic)."""
    words = name_analyzer().analyze(segment(_BRITISH.sub("e", name.casefold())))
    return frozenset(w for w in words if w not in _LINKING)


@dataclass
class Recommendation:
    article_id: str
    title: str
    url: str | None
    topic: str
    reason: str
    #: the record the reason cites: kind, source_id, institution, time
    cites: dict

    def as_dict(self) -> dict:
        return asdict(self)


def name_variants(name: str) -> list[str]:
    """A diagnosis as written and without its qualifiers: "Essential (primary) hypertension" →
    "Essential hypertension"; "Hyperlipidaemia, unspecified" → "Hyperlipidaemia", "Hyperlipidemia"."""
    variants = [name]
    bare = plain(name)
    variants += [bare, _PARENTHESES.sub("", bare)]
    variants += [_BRITISH.sub("e", v) for v in variants]  # hyperlipidaemia = hyperlipidemia
    return [v for v in dict.fromkeys(" ".join(v.split()) for v in variants) if v]


class ArticleTopics:
    """Articles by the concept they are about (their focus), and evidence → topics."""

    def __init__(self, graph: KnowledgeGraph, articles: list[dict]) -> None:
        self.graph = graph
        by_focus: dict[str, list[dict]] = defaultdict(list)
        for row in articles:
            if row.get("focus") and not self.is_combination(row["focus"]):
                by_focus[normal(row["focus"])].append(row)
        self.articles: dict[str, list[dict]] = {}
        self._by_words: dict[frozenset[str], str] = {}
        for concept in graph.concepts.values():
            rows = [
                r for m in concept.members if m.source == "articles" for r in by_focus.get(m.source_id, ())
            ]
            if not rows:
                continue
            self.articles[concept.id] = sorted(rows, key=_article_order)
            for member in concept.members:
                if member.source == "articles" and member.source_id in by_focus:
                    for name in (member.name, *member.synonyms):
                        words = words_of(name)
                        if words and not is_acronym(name):
                            self._by_words.setdefault(words, concept.id)

    def is_combination(self, focus: str) -> bool:
        """A focus naming two conditions the graph knows ("High Blood Pressure and Kidney Disease")."""
        parts = [p for p in _JOINED.split(focus) if p.strip()]
        return len(parts) > 1 and sum(bool(self.graph.concepts_named(p)) for p in parts) > 1

    def topics(self, evidence: Evidence) -> list[str]:
        """Concepts with articles that the evidence is about (exactly, or by a broader name)."""
        found: list[str] = []
        for concept in self._concepts(evidence):
            for candidate in [concept, *self._same_name(concept)]:
                if candidate in self.articles and candidate not in found:
                    found.append(candidate)
        if not found:
            for name in evidence.names:
                for variant in name_variants(name):
                    topic = self._contained(words_of(variant))
                    if topic is not None and topic not in found:
                        found.append(topic)
                    if found:
                        break
        return found

    def _contained(self, words: frozenset[str]) -> str | None:
        """The focus with the most words, all of them among ``words``."""
        if not words:
            return None
        best = [(len(w), c) for w, c in self._by_words.items() if w <= words]
        return max(best, key=lambda x: (x[0], len(self.articles[x[1]]), x[1]))[1] if best else None

    def _concepts(self, evidence: Evidence) -> list[str]:
        """ICD-10 codes (and their categories) and names first; SNOMED CT codes only when those find
        nothing, since HPO's SNOMED cross-references are often to a broader concept."""
        found: list[str] = []

        def add(concept: str | None) -> None:
            if concept is not None and concept not in found:
                found.append(concept)

        for code in evidence.codes:
            system, _, value = code.partition(":")
            if system == "icd10":  # E11.9 → E11: the category when the subcategory has no article
                add(self.graph.concept_for_key(code))
                add(self.graph.concept_for_key(f"icd10:{value.split('.')[0]}"))
        for name in evidence.names:
            for variant in name_variants(name):
                for concept in self.graph.concepts_named(variant):
                    add(concept)
        if not any(c in self.articles or set(self._same_name(c)) & self.articles.keys() for c in found):
            for code in evidence.codes:
                if not code.startswith("icd10:"):
                    add(self.graph.concept_for_key(code))
        return found

    def _same_name(self, concept: str) -> list[str]:
        return sorted(o for o, d in self.graph.graph[concept].items() if "same_name" in d["relations"])


def _article_order(row: dict) -> tuple:
    title = (row.get("title") or "").casefold()
    question = next((i for i, q in enumerate(QUESTION_ORDER) if title.startswith(q)), len(QUESTION_ORDER))
    source = row.get("source") or ""
    rank = SOURCE_ORDER.index(source) if source in SOURCE_ORDER else len(SOURCE_ORDER)
    return question, rank, row["id"]


def plain(name: str) -> str:
    """A diagnosis without its coding qualifiers: "Asthma (disorder)" → "Asthma"."""
    return " ".join(_QUALIFIERS.sub("", name).strip(" ,").split()) or name


def reason(evidence: Evidence, topic: str) -> str:
    year = (evidence.time or "")[:4]
    when = f" in {year}" if year else ""
    where = f" at {evidence.institution}" if evidence.institution else ""
    if evidence.kind == "condition":
        return f"because you were diagnosed with {plain(evidence.label).lower()}{where}{when}"
    if evidence.kind == "medication":
        return f"because you take {evidence.label}, prescribed{where}{when}, for {topic.lower()}"
    if evidence.kind == "result":
        day = (evidence.time or "")[:10]
        where = f"{evidence.institution}, {day}"
        return (
            f"because your last {CONFIRMING} {evidence.label} results were abnormal, the latest "
            f"{evidence.detail} ({where}): this can point to {topic.lower()}"
        )
    return f"because {evidence.label}{where}{when} points to {topic.lower()}"


class Recommender:
    def __init__(
        self,
        workspace: Workspace,
        graph: KnowledgeGraph | None = None,
        risks: RiskSource | None = None,
        consent: ConsentCheck | None = None,
    ) -> None:
        self.workspace = workspace
        graph = graph or load_graph(workspace)
        articles = tables.read(workspace, tables.ARTICLE_TABLE)
        if graph is None or articles is None:
            raise NotReady(
                "recommendations need articles and the graph: run `medlake info load` and `medlake kg build`"
            )
        rows = articles.select(["id", "title", "url", "focus", "source"]).to_pylist()
        self.topics = ArticleTopics(graph, rows)
        self.risks, self.consent = risks, consent

    def recommend(self, person_id: str, limit: int = DEFAULT_LIMIT) -> list[Recommendation]:
        """For the person with this global id (an id merged away still finds its person)."""
        person_id = current_id(self.workspace, person_id)
        evidence = gather(self.workspace, person_id, self.risks, self.consent).get(person_id, [])
        return self.choose(evidence, limit)

    def recommend_all(self, limit: int = DEFAULT_LIMIT) -> dict[str, list[Recommendation]]:
        """Everyone's recommendations in one pass over the warehouse (for measuring a region)."""
        return {
            p: self.choose(e, limit)
            for p, e in gather(self.workspace, None, self.risks, self.consent).items()
        }

    def choose(self, evidence: list[Evidence], limit: int) -> list[Recommendation]:
        ordered = sorted(
            evidence,
            key=lambda e: (not e.current, KIND_ORDER.index(e.kind), _descending(e.time), e.source_id),
        )
        chosen: list[Recommendation] = []
        seen_topics: set[str] = set()
        for item in ordered:
            topics = self.topics.topics(item)
            if item.kind in ("result", "risk"):
                topics = topics[:1]  # a rule's or a risk's names are alternatives for one condition
            for topic in topics:
                if topic in seen_topics:
                    continue
                seen_topics.add(topic)
                article = self.topics.articles[topic][0]
                name = self.topics.graph.concepts[topic].name
                chosen.append(
                    Recommendation(
                        article["id"],
                        article["title"],
                        article["url"],
                        name,
                        reason(item, name),
                        {
                            "kind": item.kind,
                            "source_id": item.source_id,
                            "institution": item.institution,
                            "time": item.time,
                        },
                    )
                )
                if len(chosen) >= limit:
                    return chosen
        return chosen


def current_id(workspace: Workspace, person_id: str) -> str:
    from medlake.mpi.store import MpiStore  # late: a warehouse may have person_link without the index

    try:
        return MpiStore(workspace.catalog).resolve(person_id)
    except KeyError:
        return person_id


def _descending(time: str | None) -> tuple[int, str]:
    """Sort key putting the latest time first and undated records last."""
    if not time:
        return (1, "")
    return (0, "".join(chr(0x10FFFF - ord(c)) for c in time))
