"""Health-information articles: reading a JSON Lines file line by line, with a reason for every reject.

One JSON object a line: ``id``; ``question`` or ``title``; ``answer`` or ``text``; ``url``,
``focus``, ``synonyms``, ``cuis`` (the format of MedQuAD). A line that is not an object, has no
id, no title and no text, a URL that is not http(s) (it will be a link in a resident's portal), or
an id that an earlier line gave different content is rejected with its line number and reason;
the rest load. ``received = loaded + rejected + duplicates`` (a repeat of a line is a duplicate).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa

from medlake.errors import MissingInput

MAX_ID = 200

ARTICLE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("focus", pa.string()),
        pa.field("synonyms", pa.list_(pa.string())),
        pa.field("cuis", pa.list_(pa.string())),
        pa.field("source", pa.string()),
        pa.field("content_hash", pa.string(), nullable=False),
    ]
)
REJECT_SCHEMA = pa.schema(
    [
        pa.field("file", pa.string(), nullable=False),
        pa.field("file_hash", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("record", pa.string(), nullable=False),
    ]
)


@dataclass
class ReadArticles:
    path: Path
    file_hash: str
    articles: dict[str, dict] = field(default_factory=dict)
    rejected: list[dict] = field(default_factory=list)
    duplicates: int = 0
    received: int = 0

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(list(self.articles.values()), schema=ARTICLE_SCHEMA)

    def rejects(self) -> pa.Table:
        return pa.Table.from_pylist(self.rejected, schema=REJECT_SCHEMA)


def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if gzipped else open(path, "rb") as handle:
        yield from handle


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _strings(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of strings")
    return [v.strip() for v in value if v.strip()]


def article(record: object) -> dict:
    """One article from one decoded line, or ValueError with the reason."""
    if not isinstance(record, dict):
        raise ValueError("the line is not a JSON object")
    article_id = record.get("id")
    if not isinstance(article_id, str) or not article_id.strip():
        raise ValueError("no id (a non-empty string)")
    if len(article_id) > MAX_ID or any(c.isspace() for c in article_id.strip()):
        raise ValueError(f"id must be at most {MAX_ID} characters without spaces")
    title = record.get("question", record.get("title"))
    text = record.get("answer", record.get("text"))
    for name, value in (("question/title", title), ("answer/text", text)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
    if not (title or "").strip() and not (text or "").strip():
        raise ValueError("neither a question/title nor an answer/text")
    url = record.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))):
        raise ValueError("url must be an http(s) URL")
    focus = record.get("focus")
    if focus is not None and not isinstance(focus, str):
        raise ValueError("focus must be a string")
    source = record.get("source")
    row = {
        "id": article_id.strip(),
        "title": (title or "").strip(),
        "text": (text or "").strip(),
        "url": url,
        "focus": (focus or "").strip() or None,
        "synonyms": _strings(record.get("synonyms"), "synonyms"),
        "cuis": _strings(record.get("cuis"), "cuis"),
        "source": source if isinstance(source, str) else None,
    }
    row["content_hash"] = hashlib.sha256(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return row


def read_articles(path: Path | str) -> ReadArticles:
    path = Path(path)
    if not path.is_file():
        raise MissingInput(f"no file {path}")
    result = ReadArticles(path, file_hash(path))
    for number, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        result.received += 1
        try:
            row = article(orjson.loads(line))
        except (orjson.JSONDecodeError, ValueError) as exc:
            reason = f"not JSON: {exc}" if isinstance(exc, orjson.JSONDecodeError) else str(exc)
            result.rejected.append(
                {
                    "file": str(path),
                    "file_hash": result.file_hash,
                    "line": number,
                    "reason": reason,
                    "record": line.decode("utf-8", "replace")[:10_000],
                }
            )
            continue
        earlier = result.articles.get(row["id"])
        if earlier is None:
            result.articles[row["id"]] = row
        elif earlier["content_hash"] == row["content_hash"]:
            result.duplicates += 1
        else:
            result.rejected.append(
                {
                    "file": str(path),
                    "file_hash": result.file_hash,
                    "line": number,
                    "reason": f"id {row['id']!r} appears earlier in the file with different content",
                    "record": line.decode("utf-8", "replace")[:10_000],
                }
            )
    return result
