"""Concepts merged by shared codes, with provenance; the graph's questions; the packaged ontologies."""

from __future__ import annotations

import networkx as nx
import pytest

from medlake.knowledge.crawl import crawl
from medlake.knowledge.graph import KnowledgeGraph, UnknownTermError
from medlake.knowledge.ontologies import (
    SourceTerm,
    article_terms,
    hpo_terms,
    icd10_terms,
    is_acronym,
    normal,
    wiki_terms,
)
from tests.knowledge.test_mediawiki import FIXTURE

ARTICLES = [
    {"focus": "Stroke", "synonyms": ["Brain attack", "CVA"], "cuis": ["C0038454"], "url": "https://a/stroke"},
    {"focus": "stroke", "synonyms": [], "cuis": ["C0038454"], "url": "https://b/stroke"},
    {
        "focus": "Transient Ischemic Attack",
        "synonyms": ["Mini-stroke", "TIA"],
        "cuis": ["C0007787"],
        "url": None,
    },
    {"focus": "Diabetes, Heart Disease, and Stroke", "synonyms": [], "cuis": ["C0011849", "C0038454"]},
    {"focus": "Diabetes", "synonyms": [], "cuis": ["C0011849"]},
    {"focus": "15q13.3 microduplication syndrome", "synonyms": [], "cuis": ["C0039082"]},
    {"focus": "3MC syndrome", "synonyms": [], "cuis": ["C0039082"]},
]
HPO_STROKE = SourceTerm(
    "hpo", "HP:0001297", "Stroke", ("Cerebrovascular accident",), ("hpo:HP:0001297", "umls:C0038454")
)
HPO_TIA = SourceTerm(
    "hpo",
    "HP:0002326",
    "Transient ischemic attack",
    ("Mini stroke",),
    ("hpo:HP:0002326", "umls:C0917805"),
    broader=("HP:0001297",),
)
ICD_I63 = SourceTerm("icd10", "I63", "Cerebral infarction", codes=("icd10:I63",), broader=("I60-I69",))
ICD_BLOCK = SourceTerm("icd10", "I60-I69", "Cerebrovascular diseases", codes=("icd10:I60-I69",))


def small_graph() -> KnowledgeGraph:
    wiki = crawl(FIXTURE, ["Stroke"], 1)
    terms = [*article_terms(ARTICLES), HPO_STROKE, HPO_TIA, ICD_I63, ICD_BLOCK, *wiki_terms(wiki)]
    return KnowledgeGraph.build(terms, wiki.edges)


def test_terms_sharing_a_code_are_one_concept_keeping_their_provenance() -> None:
    graph = small_graph()
    # Wikipedia's Stroke states ICD-10 I63 (its infobox), the articles and HPO share UMLS C0038454
    wiki_stroke = graph.concepts[graph.find("wikipedia:Stroke")]
    assert wiki_stroke.sources == ["wikipedia:Stroke", "icd10:I63"]
    assert wiki_stroke.merged_by == {"wikipedia:Stroke": ["icd10:I63"], "icd10:I63": ["icd10:I63"]}
    article_stroke = graph.concepts[graph.find("articles:stroke")]
    assert article_stroke.sources == [
        "articles:stroke",
        "hpo:HP:0001297",
    ]  # both casings of the focus: one term
    assert article_stroke.merged_by["hpo:HP:0001297"] == ["umls:C0038454"]
    # the same name links the two without merging them (no code says they are one)
    assert "same_name" in graph.graph.edges[wiki_stroke.id, article_stroke.id]["relations"]


def test_combinations_and_classes_do_not_merge() -> None:
    graph = small_graph()
    combined = graph.concepts[graph.find("Diabetes, Heart Disease, and Stroke")]
    assert combined.sources == [
        "articles:diabetes heart disease and stroke"
    ]  # not glued to stroke or diabetes
    assert graph.find("Diabetes") != graph.find("Stroke")
    related = graph.graph[combined.id]
    assert {graph.concepts[c].name for c in related} >= {"Diabetes", "Stroke"}
    # C0039082 ("Syndrome") is the only id of two different foci: a class, not an identity
    assert graph.find("15q13.3 microduplication syndrome") != graph.find("3MC syndrome")


def test_neighbours_and_paths() -> None:
    graph = small_graph()
    near = graph.neighbours("CVA", 1)  # a redirect title of the Wikipedia page is a synonym
    assert near[0] == {
        "term": "Stroke",
        "id": "wikipedia:Stroke",
        "distance": 0,
        "sources": ["wikipedia:Stroke", "icd10:I63"],
    }
    names = {n["term"]: n["distance"] for n in near}
    assert names["Transient ischemic attack"] == 1 and names["Cerebrovascular diseases"] == 1
    assert all(n["distance"] <= 1 for n in near)
    assert {n["term"] for n in graph.neighbours("CVA", 0)} == {"Stroke"}
    steps = graph.path("Warfarin", "Cerebrovascular diseases")
    assert [s["term"] for s in steps] == ["Warfarin", "Stroke", "Cerebrovascular diseases"]
    assert steps[1]["via"] == {"relations": ["link"], "sources": ["wikipedia:Stroke"]}
    assert steps[2]["via"] == {"relations": ["is_a"], "sources": ["icd10"]}
    with pytest.raises(UnknownTermError):
        graph.neighbours("no such term", 1)
    assert isinstance(graph.graph, nx.Graph)


def test_tables_round_trip() -> None:
    graph = small_graph()
    again = KnowledgeGraph.from_tables(graph.term_table(), graph.edge_table())
    assert again.term_table().equals(graph.term_table())
    assert again.edge_table().equals(graph.edge_table())
    assert nx.utils.graphs_equal(again.graph, graph.graph)


def test_names_and_acronyms() -> None:
    assert normal("Mini-stroke") == normal("mini stroke") == "mini stroke"
    assert normal("Ménière's disease") == "meniere s disease"
    assert is_acronym("TIA") and is_acronym("CVID") and not is_acronym("Stroke")


def test_packaged_ontologies() -> None:
    icd = {t.source_id: t for t in icd10_terms()}
    assert icd["I63.9"].name == "Cerebral infarction, unspecified"
    assert icd["I63.9"].broader == ("I63",) and icd["I63"].broader == ("I60-I69",)
    hpo = {t.source_id: t for t in hpo_terms()}
    tia = hpo["HP:0002326"]
    assert "Mini stroke" in tia.synonyms and "umls:C0917805" in tia.codes
    assert "HP:0001297" in tia.broader  # is_a Stroke
    assert not any(t.source_id == "HP:0000000" for t in hpo.values())
