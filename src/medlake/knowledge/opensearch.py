"""The OpenSearch / Elasticsearch backend, for a region whose articles and notes outgrow one machine.

Designed to the same :class:`~medlake.knowledge.index.SearchBackend` interface as the embedded
tantivy index, and chosen by setting ``search_url`` (``MEDLAKE_SEARCH_URL``), e.g.
``https://medlake:${OPENSEARCH_PASSWORD}@search.region.example:9200/articles`` (the last path
segment is the index; the password is a secret placeholder, resolved from the environment or the
workspace's secrets file, never stored or logged).

How it maps: medlake analyses text itself (jieba for Chinese, the same stemmer and stop words),
so the three searched fields are indexed as their analysed terms with OpenSearch's
``whitespace`` analyzer and BM25 similarity (k1 1.2, b 0.75, as tantivy); a query's clauses
become a ``bool.should`` of boosted ``term`` queries and ``match_phrase`` queries with the same
slop. Writes go through ``_bulk`` and are made visible by ``_refresh``; OpenSearch has no
transaction across documents, so a failed bulk leaves some articles written, and the next sync
(which compares content hashes) completes it.

Not tested against a server here (none can be installed on the development machines): the
translation functions (:func:`mappings`, :func:`compile_query`, :func:`bulk_body`) are.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from medlake.errors import InputError, MedlakeError
from medlake.knowledge.analysis import terms
from medlake.knowledge.index import ANALYSED_FIELDS
from medlake.knowledge.query import PHRASE_SLOP, BackendHit, IndexDocument, SearchQuery
from medlake.secrets import contains_literal_secret, redact, resolve

TIMEOUT = 30
PAGE = 5_000


class SearchBackendError(MedlakeError, RuntimeError):
    """The search server refused or failed a request (the message carries no password)."""


def mappings() -> dict:
    text = {"type": "text", "analyzer": "whitespace", "similarity": "BM25"}
    properties = {name: text for name in ANALYSED_FIELDS}
    properties |= {
        "id": {"type": "keyword"},
        "hash": {"type": "keyword", "index": False},
        "url": {"type": "keyword", "index": False},
        "label": {"type": "text", "index": False},
    }
    return {"mappings": {"properties": properties}}


def analysed(doc: IndexDocument) -> dict:
    source = {"id": doc.id, "hash": doc.content_hash, "url": doc.url, "label": doc.title}
    for name in ANALYSED_FIELDS:
        source[name] = " ".join(terms(getattr(doc, name)))
    return source


def bulk_body(index: str, upsert: Iterable[IndexDocument], delete: Iterable[str]) -> str:
    lines = []
    for article_id in delete:
        lines.append(json.dumps({"delete": {"_index": index, "_id": article_id}}))
    for doc in upsert:
        lines.append(json.dumps({"index": {"_index": index, "_id": doc.id}}))
        lines.append(json.dumps(analysed(doc), ensure_ascii=False))
    return "\n".join(lines) + "\n"


def compile_query(query: SearchQuery, limit: int) -> dict:
    should = []
    for clause in query.clauses:
        for name, field_weight in query.fields.items():
            boost = clause.weight * field_weight
            if boost <= 0:
                continue
            if len(clause.terms) == 1:
                should.append({"term": {name: {"value": clause.terms[0], "boost": boost}}})
            else:
                phrase = " ".join(clause.terms)
                should.append(
                    {"match_phrase": {name: {"query": phrase, "slop": PHRASE_SLOP, "boost": boost}}}
                )
    return {"size": limit, "_source": ["id", "label", "url"], "query": {"bool": {"should": should}}}


class OpenSearchBackend:
    def __init__(self, url: str, home: Path) -> None:
        if contains_literal_secret(url):
            raise InputError(
                "search_url: write the password as a ${SECRET} placeholder, not in the URL itself"
            )
        parts = urlsplit(resolve(url, home))
        self.index = parts.path.strip("/") or "medlake-articles"
        self.base = urlunsplit(
            (parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), "", "", "")
        )
        self._auth = None
        if parts.username:
            token = f"{parts.username}:{parts.password or ''}".encode()
            self._auth = "Basic " + base64.b64encode(token).decode()
        self._created = False

    def __repr__(self) -> str:
        return f"OpenSearchBackend({self.base}/{self.index})"

    def _request(self, method: str, path: str, body: dict | str | None = None) -> dict:
        data = None
        headers = {"Content-Type": "application/json"}
        if isinstance(body, str):
            data, headers["Content-Type"] = body.encode(), "application/x-ndjson"
        elif body is not None:
            data = json.dumps(body).encode()
        if self._auth:
            headers["Authorization"] = self._auth
        request = urllib.request.Request(f"{self.base}/{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and method in ("GET", "HEAD"):
                return {}
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise SearchBackendError(redact(f"{method} {self.base}/{path}: {exc.code} {detail}")) from None
        except urllib.error.URLError as exc:
            raise SearchBackendError(redact(f"{method} {self.base}/{path}: {exc.reason}")) from None

    def _ensure_index(self) -> None:
        if not self._created:
            if not self._request("GET", self.index):
                self._request("PUT", self.index, mappings())
            self._created = True

    def hashes(self) -> dict[str, str]:
        self._ensure_index()
        found: dict[str, str] = {}
        after: list | None = None
        while True:
            body: dict = {"size": PAGE, "_source": ["id", "hash"], "sort": [{"id": "asc"}]}
            if after is not None:
                body["search_after"] = after
            hits = self._request("POST", f"{self.index}/_search", body).get("hits", {}).get("hits", [])
            for hit in hits:
                found[hit["_source"]["id"]] = hit["_source"]["hash"]
            if len(hits) < PAGE:
                return found
            after = hits[-1]["sort"]

    def write(self, upsert: Iterable[IndexDocument], delete: Iterable[str]) -> None:
        self._ensure_index()
        result = self._request("POST", "_bulk", bulk_body(self.index, upsert, delete))
        if result.get("errors"):
            failed = [item for item in result.get("items", []) if next(iter(item.values())).get("error")]
            raise SearchBackendError(f"{len(failed)} bulk actions failed, e.g. {failed[:1]}")
        self._request("POST", f"{self.index}/_refresh")

    def search(self, query: SearchQuery, limit: int) -> list[BackendHit]:
        if not query.clauses:
            return []
        found = self._request("POST", f"{self.index}/_search", compile_query(query, limit))
        return [
            BackendHit(h["_source"]["id"], float(h["_score"]), h["_source"]["label"], h["_source"]["url"])
            for h in found.get("hits", {}).get("hits", [])
        ]

    def document_terms(self, article_id: str) -> set[str]:
        found = self._request("GET", f"{self.index}/_doc/{urllib.request.quote(article_id, safe='')}")
        source = found.get("_source") or {}
        return {t for name in ANALYSED_FIELDS for t in (source.get(name) or "").split()}
