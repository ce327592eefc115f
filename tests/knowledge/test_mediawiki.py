"""Streaming a MediaWiki export and crawling it the seed's way, on a small export written for the tests.

``fixtures/enwiki-medical-sample.xml`` is a MediaWiki 0.11 export: articles with medical
infoboxes, a medical page reached only through a template redirect, category-only and
ontology-only medical pages, non-medical pages linked from medical ones (United States,
Rodenticide via the redirect "Rat poison"), redirects (CVA, Mini-stroke), talk, user, template and
category pages, a page with two revisions, and links in comments, <nowiki>, image captions,
interwiki and category links.
"""

from __future__ import annotations

import bz2
import tracemalloc
from pathlib import Path

import pytest

from medlake.knowledge.crawl import crawl
from medlake.knowledge.mediawiki import DumpError, DumpReader
from medlake.knowledge.medical import MedicalRule
from medlake.knowledge.titles import MAIN, TEMPLATE, Title
from medlake.knowledge.wikitext import read_page

FIXTURE = Path(__file__).parent / "fixtures" / "enwiki-medical-sample.xml"
ONTOLOGY = {"palpitations": "hpo:HP:0001962 (Palpitations)", "chronic kidney disease": "hpo:HP:0012622"}


def lookup(title: str) -> str | None:
    return ONTOLOGY.get(title.casefold())


def test_reader_streams_pages_with_namespaces_redirects_and_the_last_revision() -> None:
    reader = DumpReader(FIXTURE)
    pages = {(p.namespace, p.title): p for p in reader}
    assert pages[(MAIN, "CVA")].redirect == Title(MAIN, "Stroke")
    assert pages[(TEMPLATE, "Infobox disease")].redirect == Title(TEMPLATE, "Infobox medical condition")
    assert pages[(1, "Stroke")].text.startswith("Should we link")  # the talk page keeps its namespace
    assert "Infobox drug" in pages[(MAIN, "Aspirin")].text  # the second (last) revision
    assert reader.namespaces.split("Portal:Medicine") == Title(100, "Medicine")  # from <siteinfo>


def test_bzip2_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "dump.xml.bz2"
    packed.write_bytes(bz2.compress(FIXTURE.read_bytes()))
    assert [p.title for p in DumpReader(packed)] == [p.title for p in DumpReader(FIXTURE)]


def test_not_an_export(tmp_path: Path) -> None:
    junk = tmp_path / "junk.xml"
    junk.write_text("this is not xml")
    with pytest.raises(DumpError, match="not a MediaWiki XML export"):
        list(DumpReader(junk))
    with pytest.raises(DumpError, match="no MediaWiki export"):
        DumpReader(tmp_path / "missing.xml")


def test_wikitext_links_templates_categories_and_codes() -> None:
    stroke = next(p for p in DumpReader(FIXTURE) if p.title == "Stroke" and p.namespace == MAIN)
    content = read_page(stroke.text, DumpReader(FIXTURE).namespaces)
    assert content.links[:3] == ["Neurology", "Hypertension", "Atrial fibrillation"]  # infobox links count
    assert "Brain" in content.links  # lower-cased, padded, and again inside an image caption
    assert "Stroke" in content.links  # [[Stroke#Signs and symptoms]]
    for absent in ("Hidden link", "Not a link", "Neurology (category)", "Fr:Accident vasculaire cérébral"):
        assert absent not in content.links
    assert "Talk:Stroke" not in content.links and "Stroke.png" not in content.links
    assert content.categories == ["Cerebrovascular diseases", "Medical emergencies"]  # not [[:Category:…]]
    assert content.templates[:2] == ["Short description", "Infobox medical condition (new)"]
    assert ("icd10", "I63") in content.codes and ("mesh", "D020521") in content.codes


def test_crawl_from_a_redirected_seed_keeps_medical_pages_within_the_depth() -> None:
    graph = crawl(FIXTURE, ["CVA"], max_depth=1, ontology=lookup)
    assert graph.seeds == {"CVA": "Stroke"}
    assert graph.nodes["Stroke"].depth == 0
    assert graph.nodes["Stroke"].redirects == ["CVA", "Cerebrovascular accident"]
    depth_one = {t for t, n in graph.nodes.items() if n.depth == 1}
    assert depth_one == {
        "Neurology",
        "Hypertension",
        "Atrial fibrillation",
        "Brain",
        "Transient ischemic attack",
        "Warfarin",
    }
    # linked from Stroke but not medical: neither kept nor followed
    assert "United States" not in graph.nodes and "Blood flow" not in graph.nodes
    # how each page qualified
    assert (
        graph.nodes["Transient ischemic attack"].reason == "infobox: Infobox medical condition"
    )  # via redirect
    assert graph.nodes["Brain"].reason == "infobox: Infobox anatomy"  # {{Infobox brain}} redirects there
    assert graph.nodes["Hypertension"].reason.startswith("category: ")
    assert graph.nodes["Transient ischemic attack"].redirects == ["Mini-stroke"]


def test_depth_limits_and_edges_with_their_page() -> None:
    sizes = {depth: set(crawl(FIXTURE, ["Stroke"], depth, ontology=lookup).nodes) for depth in (0, 1, 2, 3)}
    assert sizes[0] == {"Stroke"}
    assert sizes[0] < sizes[1] < sizes[2] < sizes[3]
    assert {"Palpitations", "Chronic kidney disease", "Vitamin K", "Heart"} <= sizes[2] - sizes[1]
    assert sizes[3] - sizes[2] == {"Liver"}  # Stroke → Warfarin → Vitamin K → Liver
    assert "Rodenticide" not in sizes[3]  # Warfarin links it through "rat poison"; it is not medical
    graph = crawl(FIXTURE, ["Stroke"], 2, ontology=lookup)
    edges = {(a, b): page for a, b, page in graph.edges}
    assert edges[("Atrial fibrillation", "Warfarin")] in ("Atrial fibrillation", "Warfarin")
    assert edges[("Stroke", "Transient ischemic attack")] == "Stroke"
    assert ("Heart", "Hypertension") in edges
    # pages at the last depth are not expanded: Vitamin K (depth 2) links Liver, which is absent
    assert all("Liver" not in pair for pair in edges)
    assert graph.nodes["Palpitations"].reason == "ontology: 'Palpitations' is hpo:HP:0001962 (Palpitations)"


def test_the_rule_is_configurable(tmp_path: Path) -> None:
    rule_file = tmp_path / "rule.toml"
    rule_file.write_text(
        'category_words = ["physiology"]\ninfoboxes = ["Infobox medical condition"]\nontology_match = false\n'
    )
    rule = MedicalRule.from_file(rule_file)
    graph = crawl(FIXTURE, ["Stroke"], 1, rule=rule, ontology=lookup)
    assert set(graph.nodes) == {"Stroke", "Blood flow", "Transient ischemic attack", "Atrial fibrillation"}
    assert graph.nodes["Stroke"].reason == "seed"  # (new) is no longer in the list; a seed stays anyway
    bad = tmp_path / "bad.toml"
    bad.write_text('infobox = ["x"]\n')
    with pytest.raises(ValueError, match="unknown keys"):
        MedicalRule.from_file(bad)


def test_a_seed_that_is_no_page() -> None:
    graph = crawl(FIXTURE, ["Stroke", "Migraine"], 1)
    assert graph.seeds == {"Stroke": "Stroke", "Migraine": None}
    with pytest.raises(ValueError, match="seed"):
        crawl(FIXTURE, [" "], 1)


@pytest.mark.slow
def test_memory_does_not_grow_with_the_export(tmp_path: Path) -> None:
    """A 3.9 MB export passes through in a fraction of its size: pages are read and dropped one by one."""
    body = "Filler text about [[Stroke]] and [[Aspirin]]. " * 40
    pages = "".join(
        f"<page><title>Page {i}</title><ns>0</ns><id>{i}</id><revision><id>{i}</id>"
        f'<text xml:space="preserve">{body}</text></revision></page>\n'
        for i in range(1, 2_001)
    )
    dump = tmp_path / "big.xml.bz2"
    dump.write_bytes(
        bz2.compress(FIXTURE.read_text().replace("</mediawiki>", pages + "</mediawiki>").encode())
    )
    size = len(FIXTURE.read_text()) + len(pages)
    tracemalloc.start()
    try:
        read = sum(1 for _ in DumpReader(dump))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 3_900_000
    assert read == 2_000 + 29
    assert peak < size / 8
