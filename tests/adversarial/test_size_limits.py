"""Size limits, enforced while reading: an oversized record goes to the quarantine, the rest proceeds.

A 204 KB gzip expanding to a 200 MB resource was stored (1.2 GB at ingest, 3.4 GB at build), and
a 50 MB line likewise. Now ``ingest_max_line_bytes``, ``ingest_max_resource_bytes``,
``ingest_max_file_bytes`` (gzip expansion) and ``ingest_max_document_bytes`` (a file read
whole) bound what one record or file may be; the offending line, record or rest of a file is
quarantined with the reason and its first bytes, and every count reconciles. The tests use
small limits so they stay fast; the defaults are the same code.
"""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from medlake.fhir.reading import KEPT_PREFIX, Limits, block_records, ndjson_spans, read_records, read_span
from medlake.ingest import ingest_path
from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, Layer
from medlake.sources.documents import ingest_notes
from medlake.sources.hl7v2.files import ingest_hl7_path

KIB = 1024
LIMITS = {"ingest_max_line_bytes": 8 * KIB, "ingest_max_resource_bytes": 8 * KIB}
HEAD = b'{"resourceType":"Patient","id":"p-9","x":"'
HL7 = Path(__file__).parents[1] / "sources" / "hl7v2" / "corpus"


def patient(number: int, padding: int = 0) -> bytes:
    text = f'{{"resourceType":"Patient","id":"p-{number}","gender":"female"'
    if padding:
        text += f',"name":[{{"text":"{"x" * padding}"}}]'
    return (text + "}\n").encode()


def rows(ws, name: str) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, name))
    return [] if table is None else table.to_pylist()


def reconciles(reports) -> bool:
    return all(r.received == r.stored + r.quarantined + r.duplicates for r in reports)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_line_over_the_limit_is_quarantined_and_the_file_goes_on(make_workspace, tmp_path, workers) -> None:
    workspace = make_workspace(ingest_workers=workers, ingest_chunk_size=2, **LIMITS)
    path = tmp_path / "big-line.ndjson"
    path.write_bytes(patient(1) + patient(2, padding=50 * KIB) + patient(3) + patient(4, padding=20 * KIB))
    [report] = ingest_path(workspace, path, "hosp-a")
    assert (report.received, report.stored, report.quarantined) == (4, 2, 2) and reconciles([report])
    quarantined = sorted(rows(workspace, QUARANTINE), key=lambda r: r["line"])
    assert [r["line"] for r in quarantined] == [2, 4]
    first = quarantined[0]
    assert first["stage"] == "read"
    assert first["reason"].startswith(f"line 2 of {len(patient(2, padding=50 * KIB)) - 1} bytes exceeds")
    assert "ingest_max_line_bytes" in first["reason"]
    assert len(first["raw"]) == KEPT_PREFIX and first["raw"].startswith(
        '{"resourceType":"Patient","id":"p-2"'
    )
    assert {r["resource_id"] for r in rows(workspace, RAW_RESOURCES)} == {"p-1", "p-3"}


def test_splitting_never_holds_an_oversized_line(tmp_path) -> None:
    path = tmp_path / "huge.ndjson"
    with path.open("wb") as handle:
        handle.write(patient(1))
        handle.write(b'{"resourceType":"Patient","id":"p-2","x":"' + b"y" * (40 * 1024 * KIB) + b'"}\n')
        handle.write(patient(3))
    tracemalloc.start()
    try:
        spans = list(ndjson_spans(path, 1000, read_size=KIB * KIB, max_line=KIB * KIB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * KIB * KIB, f"a 40 MiB line was held whole ({peak} bytes at peak)"
    records = [r for s in spans for r in ([s] if hasattr(s, "error") else block_records(read_span(s)))]
    assert [(r.line, r.error is None) for r in records] == [(1, True), (2, False), (3, True)]
    by_lines = list(read_records(path, Limits(line=KIB * KIB)))
    assert [(r.line, r.error, r.text) for r in by_lines] == [(r.line, r.error, r.text) for r in records]


def test_a_gzip_bomb_stops_at_the_expansion_limit(make_workspace, tmp_path) -> None:
    workspace = make_workspace(ingest_max_file_bytes=64 * KIB, **LIMITS)
    path = tmp_path / "bomb.ndjson.gz"
    body = patient(1) + patient(2) + b"\n" * (50 * 1024 * KIB)  # 50 MiB of blank lines: 50 KB compressed
    path.write_bytes(gzip.compress(body, compresslevel=9))
    assert path.stat().st_size < 100 * KIB
    [report] = ingest_path(workspace, path, "hosp-a")
    assert (report.stored, report.quarantined) == (2, 1) and reconciles([report])
    [row] = rows(workspace, QUARANTINE)
    assert "expands to more than 65536 bytes (ingest_max_file_bytes)" in row["reason"]


def test_a_gzip_resource_expanding_far_beyond_the_limit_is_refused_unread(make_workspace, tmp_path) -> None:
    workspace = make_workspace(**LIMITS)
    path = tmp_path / "one.ndjson.gz"  # one 200 MB line from a 200 KB file, as in the report
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(HEAD)
        for _ in range(200):
            handle.write(b"z" * (1024 * KIB))
        handle.write(b'"}\n')
        handle.write(patient(1))
    [report] = ingest_path(workspace, path, "hosp-a")
    assert (report.stored, report.quarantined) == (1, 1)
    [row] = rows(workspace, QUARANTINE)
    size = len(HEAD) + 200 * 1024 * KIB + len(b'"}')
    assert row["reason"].startswith(f"line 1 of {size} bytes exceeds the limit of 8192 bytes")


def test_a_resource_over_the_limit_in_a_bundle_or_a_json_file(make_workspace, tmp_path) -> None:
    workspace = make_workspace(ingest_max_document_bytes=256 * KIB, **LIMITS)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    big = patient(2, padding=10 * KIB).decode().strip()
    entries = ",".join(f'{{"resource":{r}}}' for r in (patient(1).decode().strip(), big))
    (inbox / "bundle.json").write_text(f'{{"resourceType":"Bundle","type":"collection","entry":[{entries}]}}')
    (inbox / "single.json").write_text(big)
    (inbox / "huge.json").write_bytes(b'{"resourceType":"Bundle","entry":[' + b" " * (300 * KIB) + b"]}")
    reports = ingest_path(workspace, inbox, "hosp-a")
    assert sum(r.stored for r in reports) == 1 and sum(r.quarantined for r in reports) == 3
    assert reconciles(reports)
    reasons = {(Path(r["source_file"]).name, r["line"]): r["reason"] for r in rows(workspace, QUARANTINE)}
    assert "ingest_max_resource_bytes" in reasons[("bundle.json", 2)]
    assert "ingest_max_resource_bytes" in reasons[("single.json", 1)]
    assert reasons[("huge.json", 1)].startswith("the JSON document of more than 262144 bytes exceeds")


def test_hl7_messages_and_notes_over_the_limits(make_workspace, tmp_path) -> None:
    workspace = make_workspace(**LIMITS)
    good = (HL7 / "z-segments.hl7").read_bytes().split(b"\rMSH|")[0].rstrip(b"\r\n") + b"\r"
    big = good + b"NTE|1||" + b"x" * (20 * KIB) + b"\r"
    path = tmp_path / "two.hl7"
    path.write_bytes(big + b"\n" + good)
    [report] = ingest_hl7_path(workspace, path, "hosp-a")
    assert report.quarantined == 1 and report.stored > 0 and reconciles([report])
    [row] = rows(workspace, QUARANTINE)
    assert row["line"] == 1 and "message 1 of" in row["reason"] and "ingest_max_line_bytes" in row["reason"]

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "p-1_2024-03-01_big.txt").write_text("word " * (4 * KIB))
    (notes / "p-1_2024-03-02_small.txt").write_text("Discharged home, well.\n")
    reports = ingest_notes(workspace, notes, "hosp-a")
    assert sum(r.stored for r in reports) == 1 and sum(r.quarantined for r in reports) == 1
    [note] = [r for r in rows(workspace, QUARANTINE) if r["source_file"].endswith("big.txt")]
    assert note["reason"].startswith("the note of 20480 bytes exceeds the limit of 8192 bytes")


def test_a_workbook_expanding_beyond_the_limit_is_quarantined_unread(make_workspace, tmp_path) -> None:
    import zipfile

    from medlake.sources.tabular.files import ingest_excel
    from medlake.synth.exports import write_demo_workbook

    workspace = make_workspace(ingest_max_document_bytes=1024 * KIB)
    good = write_demo_workbook(tmp_path / "inbox" / "good.xlsx", patients=4, seed=3)
    bomb = tmp_path / "inbox" / "bomb.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("xl/padding.xml", b" " * (8 * 1024 * KIB))  # 8 MiB of XML from a few KB
    assert bomb.stat().st_size < 100 * KIB
    reports = ingest_excel(workspace, tmp_path / "inbox", "region-patients", "practice", sheet="Patients")
    by_file = {Path(r.source).name: r for r in reports}
    assert by_file["good.xlsx#Patients"].stored == 4
    assert (by_file["bomb.xlsx#Patients"].received, by_file["bomb.xlsx#Patients"].quarantined) == (1, 1)
    [row] = rows(workspace, QUARANTINE)
    assert "beyond the limit of 1048576 bytes (ingest_max_document_bytes)" in row["reason"]
