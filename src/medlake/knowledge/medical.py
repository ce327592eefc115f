"""The medical-term rule: which Wikipedia pages the knowledge graph keeps.

A page is a medical term when any of these holds (checked in this order, the first that holds is
recorded as the page's ``reason``):

1. it uses a **medical infobox**: one of :attr:`MedicalRule.infoboxes` (template redirects
   such as ``Infobox disease`` → ``Infobox medical condition`` are followed);
2. it is in a **medical category**: a category named in :attr:`MedicalRule.categories`, or
   whose name contains one of :attr:`MedicalRule.category_words` as a whole word;
3. it **matches a loaded ontology**: its title, or the title of a redirect to it, is the name
   or a synonym of an ontology term (acronyms excepted: "ALL" is not a page about leukaemia),
   or its infobox states a code the ontologies know (``ICD10 = {{ICD10|I|63|}}``).

Everything is configurable: ``medlake kg build --rule rule.toml`` with any of the keys
``infoboxes``, ``categories``, ``category_words`` (lists of strings), ``ontology_match`` (bool).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medlake.errors import InputError, MissingInput
from medlake.knowledge.wikitext import PageContent

DEFAULT_INFOBOXES = (
    "Infobox medical condition",
    "Infobox medical condition (new)",
    "Infobox disease",
    "Infobox drug",
    "Drugbox",
    "Infobox medical intervention",
    "Infobox anatomy",
    "Infobox symptom",
    "Infobox medical test",
)

DEFAULT_CATEGORY_WORDS = (
    "disease",
    "diseases",
    "disorder",
    "disorders",
    "syndrome",
    "syndromes",
    "symptom",
    "symptoms",
    "medical",
    "medicine",
    "drugs",
    "medications",
    "infections",
    "infectious",
    "cancer",
    "cancers",
    "neoplasms",
    "surgery",
    "surgical",
    "anatomy",
    "pathology",
    "cardiology",
    "neurology",
    "oncology",
    "psychiatry",
    "pharmacology",
    "vaccines",
    "antibiotics",
    "anticoagulants",
    "antihypertensive",
)

_WORDS = re.compile(r"[^\W_]+")

#: a lookup from a title to the ontology term it names (None: no match)
OntologyLookup = Callable[[str], str | None]


@dataclass(frozen=True)
class MedicalRule:
    infoboxes: tuple[str, ...] = DEFAULT_INFOBOXES
    categories: tuple[str, ...] = ()
    category_words: tuple[str, ...] = DEFAULT_CATEGORY_WORDS
    ontology_match: bool = True
    _words: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_words", frozenset(w.casefold() for w in self.category_words))

    @classmethod
    def from_file(cls, path: Path) -> MedicalRule:
        """A rule from a TOML file; keys left out keep their defaults."""
        if not Path(path).is_file():
            raise MissingInput(f"no medical-term rule file {path}")
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not TOML: {exc}") from None
        unknown = set(data) - {"infoboxes", "categories", "category_words", "ontology_match"}
        if unknown:
            raise InputError(f"{path}: unknown keys {sorted(unknown)} in the medical-term rule")
        values: dict[str, object] = {}
        for key in ("infoboxes", "categories", "category_words"):
            if key in data:
                if not isinstance(data[key], list) or not all(isinstance(v, str) for v in data[key]):
                    raise InputError(f"{path}: {key} must be a list of strings")
                values[key] = tuple(data[key])
        if "ontology_match" in data:
            values["ontology_match"] = bool(data["ontology_match"])
        return cls(**values)  # type: ignore[arg-type]

    def reason(
        self,
        content: PageContent,
        titles: Iterable[str],
        template_target: Callable[[str], str],
        category_target: Callable[[str], str],
        ontology: OntologyLookup | None,
        known_code: Callable[[str, str], bool] | None = None,
    ) -> str | None:
        """Why the page is a medical term (``"infobox: Infobox drug"``), or None if it is not.

        ``titles`` are the page's title and the titles redirecting to it; ``template_target`` and
        ``category_target`` follow template and category redirects.
        """
        for template in content.templates:
            target = template_target(template)
            if target in self.infoboxes or template in self.infoboxes:
                return f"infobox: {target}"
        for category in content.categories:
            target = category_target(category)
            if target in self.categories or not self._words.isdisjoint(_WORDS.findall(target.casefold())):
                return f"category: {target}"
        if self.ontology_match:
            if ontology is not None:
                for title in titles:
                    term = ontology(title)
                    if term is not None:
                        return f"ontology: {title!r} is {term}"
            if known_code is not None:
                for system, code in content.codes:
                    if known_code(system, code):
                        return f"ontology: code {system} {code}"
        return None
