"""What the knowledge graph needs from one page's wikitext: links, templates, categories, codes.

``mwparserfromhell`` parses the wikitext into nodes, so a ``[[link]]`` inside a comment or
``<nowiki>`` is not a link, a link inside an infobox or an image caption is, and a template's
parameters come out by name. Categories are ``[[Category:…]]`` links without a leading colon
(``[[:Category:…]]`` only links to the category page).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mwparserfromhell
from mwparserfromhell.nodes import Template

from medlake.knowledge.titles import CATEGORY, MAIN, Namespaces

#: Infobox parameters that carry a code, by lower-cased name, and the code system they hold.
CODE_PARAMETERS: dict[str, str] = {
    "icd10": "icd10",
    "icd-10": "icd10",
    "meshid": "mesh",
    "mesh": "mesh",
    "mesh_id": "mesh",
    "umls": "umls",
    "umls_cui": "umls",
}


@dataclass
class PageContent:
    """Links (main-namespace titles, first occurrence order), templates used, categories, codes."""

    links: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    #: (system, code) pairs from infobox parameters: ``("icd10", "I63")``, ``("atc", "B01AA03")``
    codes: list[tuple[str, str]] = field(default_factory=list)


def read_page(text: str, namespaces: Namespaces) -> PageContent:
    code = mwparserfromhell.parse(text)
    content = PageContent()
    links: dict[str, None] = {}
    categories: dict[str, None] = {}
    for link in code.filter_wikilinks():
        raw = str(link.title)
        title = namespaces.split(raw)
        if title is None:
            continue
        if title.namespace == MAIN:
            links.setdefault(title.text)
        elif title.namespace == CATEGORY and not raw.strip().startswith(":"):
            categories.setdefault(title.text)
    templates: dict[str, None] = {}
    codes: dict[tuple[str, str], None] = {}
    for template in code.filter_templates():
        name = namespaces.template(str(template.name))
        if name is None:
            continue
        templates.setdefault(name)
        for pair in _codes(template):
            codes.setdefault(pair)
    content.links, content.categories = list(links), list(categories)
    content.templates, content.codes = list(templates), list(codes)
    return content


def _codes(template: Template) -> list[tuple[str, str]]:
    """Codes an infobox states: ``ICD10 = {{ICD10|I|63|9|i|60}}`` is I63.9; ATC prefix + suffix."""
    found: list[tuple[str, str]] = []
    params = {str(p.name).strip().casefold(): p.value for p in template.params}
    for name, value in params.items():
        system = CODE_PARAMETERS.get(name)
        if system is None:
            continue
        inner = value.filter_templates(recursive=False)
        if system == "icd10" and inner:
            found += [(system, c) for c in (_icd10_template(t) for t in inner) if c]
            continue
        text = value.strip_code().strip()
        found += [(system, part.strip()) for part in text.replace(";", ",").split(",") if part.strip()]
    prefix, suffix = params.get("atc_prefix"), params.get("atc_suffix")
    if prefix is not None and suffix is not None:
        atc = (prefix.strip_code() + suffix.strip_code()).replace(" ", "")
        if atc and atc.casefold() != "none":
            found.append(("atc", atc.upper()))
    return found


def _icd10_template(template: Template) -> str | None:
    """``{{ICD10|I|63|9|…}}`` → ``I63.9``; ``{{ICD10|I|63|}}`` → ``I63`` (the template's positional form)."""
    if not str(template.name).strip().upper().startswith("ICD10"):
        return None
    values = [str(template.get(i).value).strip() if template.has(i) else "" for i in ("1", "2", "3")]
    letter, number, decimal = values
    if not letter or not number:
        return None
    return f"{letter.upper()}{number}" + (f".{decimal}" if decimal else "")
