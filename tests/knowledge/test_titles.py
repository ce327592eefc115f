"""Titles as MediaWiki normalises them (MediaWikiTitleCodec::splitTitleString)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from medlake.knowledge.titles import CATEGORY, MAIN, TEMPLATE, Namespaces, Title

NS = Namespaces.from_siteinfo(
    [
        SimpleNamespace(id=0, name="", canonical=None, aliases=None, case="first-letter"),
        SimpleNamespace(id=10, name="Template", canonical="Template", aliases=None, case="first-letter"),
        SimpleNamespace(id=14, name="分类", canonical="Category", aliases={"類別"}, case="first-letter"),
        SimpleNamespace(id=100, name="Gene", canonical=None, aliases=None, case="case-sensitive"),
    ]
)


@pytest.mark.parametrize(
    ("link", "title"),
    [
        ("stroke", "Stroke"),  # first letter case-insensitive
        ("Atrial_fibrillation", "Atrial fibrillation"),  # underscores are spaces
        ("  Atrial   fibrillation ", "Atrial fibrillation"),  # runs of white space collapse
        ("Stroke#Signs and symptoms", "Stroke"),  # the section anchor is dropped
        ("Cr&egrave;me", "Crème"),  # character references decode
        ("Transient%20ischemic%20attack", "Transient ischemic attack"),  # so do percent escapes
        (":Stroke", "Stroke"),
        ("ärzte", "Ärzte"),
    ],
)
def test_links_reach_the_page_mediawiki_would(link: str, title: str) -> None:
    assert NS.article(link) == title


def test_second_letter_case_matters() -> None:
    assert NS.article("sTROKE") == "STROKE" != NS.article("Stroke")


def test_namespaces_come_from_the_dump_with_their_aliases_and_case() -> None:
    assert NS.split("Category:Neurology") == Title(CATEGORY, "Neurology")  # canonical name
    assert NS.split("分类:神经病学") == Title(CATEGORY, "神经病学")  # local name
    assert NS.split("類別:x") == Title(CATEGORY, "X")  # alias
    assert NS.split("template:infobox_drug") == Title(TEMPLATE, "Infobox drug")  # prefix case-insensitive
    assert NS.split("Gene:abc1") == Title(100, "abc1")  # a case-sensitive namespace keeps its case
    assert NS.split("Not a namespace: subtitle") == Title(MAIN, "Not a namespace: subtitle")
    assert NS.article("Category:Neurology") is None


def test_links_that_name_no_page() -> None:
    assert NS.article("") is None
    assert NS.article("#Local section") is None
    assert NS.article("A [bracket]") is None


def test_template_calls() -> None:
    assert NS.template("infobox medical condition (new)\n") == "Infobox medical condition (new)"
    assert NS.template("Template:Infobox_drug") == "Infobox drug"
    assert NS.template("subst:Infobox drug") == "Infobox drug"
    assert NS.template(":Stroke") is None  # transcludes an article, not a template
