"""Bytes that are not UTF-8: the reason says where, and the quarantine keeps them exactly.

Latin-1 or UTF-16 FHIR lines were quarantined with orjson's message and a lossy copy (every
bad byte became U+FFFD), so the original could not be recovered from the lake. Now the
reason reads ``not UTF-8 at byte N`` and the quarantine row holds the bytes in base64
(``raw_encoding`` = ``base64``); rows of text keep ``raw_encoding`` null, and a quarantine
written before the column existed reads on, its old rows null.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pyarrow as pa

from medlake.ingest import ingest_path
from medlake.lake.tables import QUARANTINE, QUARANTINE_SCHEMA, Layer

LATIN1 = '{"resourceType":"Patient","id":"p-1","name":[{"family":"Müller"}]}'.encode("latin-1")
GOOD = b'{"resourceType":"Patient","id":"p-2"}'
NOT_JSON = b"this is not json"


def quarantine(ws) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, QUARANTINE))
    return [] if table is None else sorted(table.to_pylist(), key=lambda r: (r["source_file"], r["line"]))


def test_a_latin1_line_is_quarantined_with_its_exact_bytes(workspace, tmp_path) -> None:
    path = tmp_path / "latin1.ndjson"
    path.write_bytes(b"\n".join([LATIN1, GOOD, NOT_JSON]) + b"\n")
    [report] = ingest_path(workspace, path, "hosp-a")
    assert (report.received, report.stored, report.quarantined) == (3, 1, 2)
    latin, text = quarantine(workspace)
    at = LATIN1.index(b"\xfc")
    assert latin["reason"].startswith(f"not UTF-8 at byte {at} (0xfc: invalid start byte)")
    assert "Latin-1" in latin["reason"]
    assert latin["raw_encoding"] == "base64" and base64.b64decode(latin["raw"]) == LATIN1
    assert text["raw_encoding"] is None and text["raw"] == NOT_JSON.decode()


def test_a_utf16_file_says_so(workspace, tmp_path) -> None:
    path = tmp_path / "utf16.ndjson"
    path.write_bytes(GOOD.decode().encode("utf-16"))  # with its byte-order mark
    [report] = ingest_path(workspace, path, "hosp-a")
    assert (report.stored, report.quarantined) == (0, 1)
    [row] = quarantine(workspace)
    assert row["reason"].startswith("not UTF-8 at byte 0 (0xff: invalid start byte); it looks like UTF-16")
    assert base64.b64decode(row["raw"]) == path.read_bytes()


def test_a_quarantine_from_before_the_column_reads_on_and_takes_new_rows(workspace, tmp_path) -> None:
    old_schema = pa.schema([f for f in QUARANTINE_SCHEMA if f.name != "raw_encoding"])
    old_row = {
        "institution": "hosp-a",
        "batch_id": "old",
        "source_file": "old.ndjson",
        "line": 1,
        "received_at": datetime(2024, 1, 1, tzinfo=UTC),
        "stage": "parse",
        "reason": "malformed JSON",
        "raw": "{",
    }
    uri = workspace.lake.uri(Layer.RAW, QUARANTINE)
    old_table = pa.Table.from_pylist([old_row], schema=old_schema)
    workspace.lake.write(uri, old_table, partition_by=["institution"])
    path = tmp_path / "latin1.ndjson"
    path.write_bytes(LATIN1 + b"\n")
    ingest_path(workspace, path, "hosp-a")
    [old] = [r for r in quarantine(workspace) if r["batch_id"] == "old"]
    [new] = [r for r in quarantine(workspace) if r["batch_id"] != "old"]
    assert (old["raw"], old["raw_encoding"]) == ("{", None)
    assert base64.b64decode(new["raw"]) == LATIN1 and new["raw_encoding"] == "base64"
