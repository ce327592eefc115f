"""Query expansion through the knowledge graph, and spelling tolerance.

1. **Mentions.** The query's words are matched against every name and synonym in the graph,
   longest first and without overlap ("mini stroke" before "stroke"). A single stop word or a
   word under three letters is never a mention; a name known only as an acronym ("TIA") matches
   only where the user wrote it in capitals.
2. **Expansion.** Each mentioned concept adds, below the user's own words (weight 1.0): its
   own name when the user called it by a synonym (``preferred``: "mini stroke" → "Transient
   ischemic attack"), its other names and synonyms, and those of concepts with the same name (``synonym``),
   the names of its narrower terms (``narrower``), and the names of concepts linked to it
   on Wikipedia or related to it in an ontology (``related``), at most ``per_kind`` of each kind
   per mention (:class:`Weights`), preferring the best-connected. A phrase's weight is
   divided by its number of words (BM25 scores a phrase with the sum of its words' idf). A mention
   the articles already word the same way is not expanded: its rarest word is in more than
   ``covered`` of the articles ("dementia", "high blood pressure"). Expansion is for the
   words people use and articles do not ("mini stroke"); expanding words the articles share only
   pulls in neighbours.
3. **Spelling.** A query term that no article contains is replaced, at ``spelling``, by the
   most frequent article term within Lucene's "AUTO" edit distance (1 for 4-5 letters, 2 for
   longer) that starts with the same letter, as Lucene's spell checker does (shorter words are
   left alone, and typing errors rarely hit the first letter: "hart" is "heart", not "part"),
   found with RapidFuzz over the vocabulary.

Every added clause says why it is there: that is the ``expanded_with`` of a search hit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rapidfuzz import distance, process

from medlake.knowledge.analysis import STOP_WORDS, terms, words
from medlake.knowledge.graph import KnowledgeGraph
from medlake.knowledge.ontologies import is_acronym, normal
from medlake.knowledge.query import Clause


@dataclass(frozen=True)
class Weights:
    """Weights of what a search adds to the user's own words (each of which weighs 1.0).

    Chosen on the judged LiveQA questions, half by half (docs/knowledge.md, "Evaluation"; the grid
    is ``bench/search_eval.py --grid``).
    """

    synonym: float = 0.3
    narrower: float = 0.1
    related: float = 0.1
    spelling: float = 0.8
    #: a mention whose rarest word is in more than this share of the articles is not expanded
    covered: float = 0.002
    per_kind: int = 5
    #: a concept the user named by one of its synonyms ("mini stroke") adds its own name at this
    #: weight, not divided by words: the lay word is why the articles were missed. Not for acronyms,
    #: which name several things ("AMD": macular degeneration, acid maltase deficiency)
    preferred: float = 0.8


DEFAULT_WEIGHTS = Weights()
MAX_NGRAM = 8
_STOP = frozenset(STOP_WORDS)


@dataclass(frozen=True)
class Mention:
    text: str
    concepts: tuple[str, ...]


def mentions(text: str, graph: KnowledgeGraph) -> list[Mention]:
    surface = words(text)
    found: list[Mention] = []
    i = 0
    while i < len(surface):
        for n in range(min(MAX_NGRAM, len(surface) - i), 0, -1):
            span = surface[i : i + n]
            if n == 1 and (span[0].casefold() in _STOP or len(span[0]) < 3):
                continue
            key = normal(" ".join(span))
            ids = graph.concepts_named(key)
            if not ids or (key in graph.acronym_names and not all(w.isupper() for w in span)):
                continue
            found.append(Mention(" ".join(span), tuple(ids)))
            i += n
            break
        else:
            i += 1
    return found


def expand(
    text: str,
    graph: KnowledgeGraph,
    covered: Callable[[str], bool] | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[Clause]:
    """The clauses the graph adds to ``text``, each with its weight and reason.

    ``covered(words)`` tells mentions the articles already word the same way, which are not expanded.
    """
    own = set(terms(text))
    clauses: dict[tuple[str, ...], Clause] = {}

    def add(name: str, weight: float, reason: str, whole: bool = False) -> None:
        analysed = tuple(terms(name))
        if not analysed or set(analysed) <= own:
            return
        if not whole:
            weight = weight / len(analysed)  # a phrase's BM25 sums its words' idf: weigh it per word
        weight = round(weight, 4)
        current = clauses.get(analysed)
        if current is None or current.weight < weight:
            clauses[analysed] = Clause(analysed, weight, name, reason)

    for mention in mentions(text, graph):
        if covered is not None and covered(mention.text):
            continue
        for concept_id in mention.concepts[:3]:
            concept = graph.concepts[concept_id]
            label = f"{concept.name} ({concept_id})"
            if (
                weights.preferred > 0
                and normal(mention.text) != normal(concept.name)
                and not is_acronym(mention.text)
            ):
                add(
                    concept.name,
                    weights.preferred,
                    f"{mention.text!r} is another name for {label}",
                    whole=True,
                )
            for name in concept.names():
                add(name, weights.synonym, f"synonym of {mention.text!r}: {label}")
            narrower: list[tuple[int, str]] = []
            related: list[tuple[int, str]] = []
            for other, data in graph.graph[concept_id].items():
                relations = data["relations"]
                degree = graph.graph.degree(other)
                if "same_name" in relations:
                    for name in graph.concepts[other].names():
                        add(
                            name,
                            weights.synonym,
                            f"synonym of {mention.text!r}: {graph.concepts[other].name} ({other})",
                        )
                elif "is_a" in relations and _is_narrower(graph, other, concept_id):
                    narrower.append((degree, other))
                elif relations & {"link", "related"}:
                    related.append((degree, other))
            for kind, weight, items in (
                ("narrower than", weights.narrower, narrower),
                ("related to", weights.related, related),
            ):
                for _, other in sorted(items, key=lambda x: (-x[0], x[1]))[: weights.per_kind]:
                    sources = ", ".join(sorted(graph.graph.edges[concept_id, other]["sources"]))
                    add(graph.concepts[other].name, weight, f"{kind} {mention.text!r} ({sources})")
    return list(clauses.values())


def _is_narrower(graph: KnowledgeGraph, child: str, parent: str) -> bool:
    """Whether ``child`` names ``parent`` (a member of it) among its broader terms."""
    parent_ids = {m.source_id for m in graph.concepts[parent].members}
    return any(set(m.broader) & parent_ids for m in graph.concepts[child].members)


def correct(
    query_terms: list[str], vocabulary: Mapping[str, int], weight: float = DEFAULT_WEIGHTS.spelling
) -> list[Clause]:
    """Corrections for terms no article contains (numbers and words under four letters are left alone)."""
    if not vocabulary:
        return []
    clauses = []
    choices = list(vocabulary)
    for term in dict.fromkeys(query_terms):
        if term in vocabulary or len(term) < 4 or not term.isalpha():
            continue
        allowed = 1 if len(term) <= 5 else 2
        candidates = [c for c in choices if c[0] == term[0]]  # Lucene's DirectSpellChecker: minPrefix 1
        found = process.extract(
            term, candidates, scorer=distance.DamerauLevenshtein.distance, limit=20, score_cutoff=allowed
        )
        if not found:
            continue
        best = min(found, key=lambda hit: (hit[1], -vocabulary[hit[0]], hit[0]))[0]
        clauses.append(
            Clause((best,), weight, best, f"spelling: {term!r} is not in any article, {best!r} is")
        )
    return clauses
