"""The OpenSearch adapter's translation of a search (no server here: the requests are checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlake.knowledge.opensearch import OpenSearchBackend, bulk_body, compile_query, mappings
from medlake.knowledge.query import PHRASE_SLOP, Clause, IndexDocument, SearchQuery


def test_a_query_becomes_boosted_term_and_phrase_clauses() -> None:
    query = SearchQuery(
        (
            Clause(("stroke",), 1.0, "stroke"),
            Clause(("transient", "ischem", "attack"), 0.8, "TIA", "synonym"),
        ),
        {"title": 1.0, "text": 1.0, "focus": 0.0},
    )
    body = compile_query(query, 5)
    assert body["size"] == 5
    assert body["query"]["bool"]["should"] == [
        {"term": {"title": {"value": "stroke", "boost": 1.0}}},
        {"term": {"text": {"value": "stroke", "boost": 1.0}}},
        {"match_phrase": {"title": {"query": "transient ischem attack", "slop": PHRASE_SLOP, "boost": 0.8}}},
        {"match_phrase": {"text": {"query": "transient ischem attack", "slop": PHRASE_SLOP, "boost": 0.8}}},
    ]


def test_documents_are_indexed_as_medlakes_own_terms() -> None:
    doc = IndexDocument(
        "A1", "What is (are) Strokes ?", "Stroke; CVA", "高血压患者 and strokes", "https://x", "h1"
    )
    lines = bulk_body("articles", [doc], ["OLD"]).splitlines()
    assert json.loads(lines[0]) == {"delete": {"_index": "articles", "_id": "OLD"}}
    assert json.loads(lines[1]) == {"index": {"_index": "articles", "_id": "A1"}}
    source = json.loads(lines[2])
    assert source["title"] == "stroke" and source["focus"] == "stroke cva"
    assert source["text"].split() == ["高血压", "患者", "stroke"]
    assert mappings()["mappings"]["properties"]["text"]["analyzer"] == "whitespace"


def test_credentials_are_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        OpenSearchBackend("https://medlake:hunter2@search.example:9200/articles", tmp_path)
    monkeypatch.setenv("OPENSEARCH_PASSWORD", "hunter2")
    backend = OpenSearchBackend(
        "https://medlake:${OPENSEARCH_PASSWORD}@search.example:9200/articles", tmp_path
    )
    assert backend.index == "articles"
    assert "hunter2" not in repr(backend) and "hunter2" not in backend.base
