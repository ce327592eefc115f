"""Reading articles: every line is loaded, rejected with its reason, or counted as a duplicate."""

from __future__ import annotations

import json
from pathlib import Path

from medlake.knowledge.articles import read_articles
from tests.knowledge.articles import ARTICLES, write


def test_plain_and_gzip_read_the_same(tmp_path: Path) -> None:
    plain = read_articles(write(tmp_path / "a.jsonl"))
    packed = read_articles(write(tmp_path / "a.jsonl.gz"))
    assert plain.table().equals(packed.table())
    assert plain.received == len(ARTICLES) == len(plain.articles)
    zh = plain.articles["ZH_1"]  # title/text instead of question/answer
    assert zh["title"] == "高血压患者的饮食" and zh["text"].startswith("高血压患者")


def test_bad_lines_are_rejected_with_their_reason_and_counts_reconcile(tmp_path: Path) -> None:
    changed = {**ARTICLES[0], "answer": "different text"}
    bad = [
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"question": "no id"}),
        json.dumps({"id": "has space", "question": "q"}),
        json.dumps({"id": "NO_TEXT"}),
        json.dumps({"id": "JS", "question": "q", "url": "javascript:alert(1)"}),
        json.dumps({"id": "SYN", "question": "q", "synonyms": "not a list"}),
        json.dumps(ARTICLES[1]),  # the same content again: a duplicate
        json.dumps(changed),  # the same id with other content: rejected, the first one stays
    ]
    read = read_articles(write(tmp_path / "a.jsonl", extra_lines=bad))
    reasons = [r["reason"] for r in read.rejected]
    assert reasons == [
        reasons[0],
        "the line is not a JSON object",
        "no id (a non-empty string)",
        "id must be at most 200 characters without spaces",
        "neither a question/title nor an answer/text",
        "url must be an http(s) URL",
        "synonyms must be a list of strings",
        "id 'TIA_1' appears earlier in the file with different content",
    ]
    assert reasons[0].startswith("not JSON")
    first = len(ARTICLES) + 1  # the bad lines follow the good ones
    assert [r["line"] for r in read.rejected] == [*range(first, first + 7), first + 8]
    assert read.duplicates == 1
    assert (
        read.received == len(read.articles) + len(read.rejected) + read.duplicates == len(ARTICLES) + len(bad)
    )
    assert read.articles["TIA_1"]["text"] == ARTICLES[0]["answer"]
