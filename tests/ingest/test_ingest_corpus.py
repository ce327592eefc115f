"""Bad input of every kind: each record is stored or quarantined with its reason, nothing lost."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import orjson
import pytest

from medlake.fhir.structs import check
from medlake.ingest import ingest_path
from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, Layer

CORPUS = Path(__file__).with_name("corpus")


def raw_rows(ws) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, RAW_RESOURCES))
    return [] if table is None else table.to_pylist()


def quarantine_rows(ws) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, QUARANTINE))
    return [] if table is None else table.sort_by("line").to_pylist()


def test_mixed_file_reconciles_and_quarantines_each_defect(workspace) -> None:
    [report] = ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    non_blank = [line for line in (CORPUS / "mixed.ndjson").read_text().splitlines() if line.strip()]
    assert report.received == len(non_blank)
    assert report.received == report.stored + report.quarantined + report.duplicates
    assert (report.stored, report.quarantined, report.duplicates) == (3, 7, 1)

    reasons = {row["line"]: (row["stage"], row["reason"]) for row in quarantine_rows(workspace)}
    lines = (CORPUS / "mixed.ndjson").read_text().splitlines()
    assert reasons[4][0] == "parse" and "malformed JSON" in reasons[4][1]
    assert reasons[5] == ("validation", "unknown resourceType 'Pateint' (not an R4 resource type)")
    assert reasons[6][0] == "validation" and reasons[6][1].startswith("birthDate:")
    assert reasons[7][0] == "validation" and '"status"' in reasons[7][1]
    assert reasons[8][0] == "structure" and "no id" in reasons[8][1]
    assert reasons[9] == ("parse", "not a JSON object but list")
    assert reasons[10][0] == "validation" and "colour" in reasons[10][1]
    for line, _ in reasons.items():  # the raw text is kept byte for byte (as UTF-8 text)
        assert next(r for r in quarantine_rows(workspace) if r["line"] == line)["raw"] == lines[line - 1]

    stored = {(r["resource_type"], r["resource_id"]) for r in raw_rows(workspace)}
    assert stored == {("Patient", "p1"), ("Observation", "o1"), ("Observation", "o2")}
    assert report.unresolved_sample == ["Patient/nobody"], "dangling references are reported, not rejected"


def test_references_resolve_by_id_or_identifier_against_everything_sent_so_far(workspace, tmp_path) -> None:
    org = "http://example.org/org-ids"
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/p9"},
        "serviceProvider": {"reference": f"Organization?identifier={org}|o-7"},
        "participant": [{"individual": {"reference": "Practitioner/dr1/_history/2"}}],
    }
    first = tmp_path / "a.ndjson"
    first.write_bytes(orjson.dumps(encounter) + b"\n")
    [report] = ingest_path(workspace, first, "hosp-a")
    assert report.unresolved_sample == [f"Organization?{org}|o-7", "Patient/p9", "Practitioner/dr1"]

    targets = [
        {"resourceType": "Patient", "id": "p9"},
        {"resourceType": "Organization", "id": "x", "identifier": [{"system": org, "value": "o-7"}]},
    ]
    second = tmp_path / "b.ndjson"
    second.write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in targets))
    third = tmp_path / "c.ndjson"  # the same encounter, amended: its references are checked again
    third.write_bytes(orjson.dumps(encounter | {"status": "cancelled"}) + b"\n")
    reports = ingest_path(workspace, second, "hosp-a") + ingest_path(workspace, third, "hosp-a")
    assert reports[1].unresolved_sample == ["Practitioner/dr1"], "the rest resolve by id or by identifier"


def test_same_file_twice_adds_nothing(workspace) -> None:
    first = ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")[0]
    before = (len(raw_rows(workspace)), len(quarantine_rows(workspace)))
    again = ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")[0]
    assert again.status == "unchanged" and again.batch_id == first.batch_id
    assert (again.stored, again.quarantined, again.duplicates) == (0, 0, again.received)
    assert (len(raw_rows(workspace)), len(quarantine_rows(workspace))) == before


def test_content_hash_is_the_sha256_of_the_stored_text_checkable_in_sql(workspace, tmp_path) -> None:
    """Anyone can verify a row: the hash covers exactly the text stored, whichever path judged it
    (a decimal from 1e16 up is beyond the fast check: the model classes take it)."""
    unusual = tmp_path / "unusual.ndjson"
    observation = {
        "resourceType": "Observation",
        "id": "ox",
        "status": "final",
        "code": {"text": "count"},
        "valueQuantity": {"value": 1e16},
    }
    unusual.write_bytes(orjson.dumps(observation) + b"\n")
    assert check(orjson.dumps(observation)) is None  # so the explaining path stores it
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    [report] = ingest_path(workspace, unusual, "hosp-a")
    assert report.stored == 1
    rows = workspace.sql("SELECT resource_id, content_hash = sha256(resource) AS ok FROM raw.resources")
    assert len(rows) == 4 and all(rows.column("ok").to_pylist()), rows.to_pylist()


def test_overlapping_file_stores_only_new_content(workspace, tmp_path) -> None:
    ingest_path(workspace, CORPUS / "mixed.ndjson", "hosp-a")
    overlap = tmp_path / "overlap.ndjson"
    shutil.copy(CORPUS / "patient-v2.ndjson", overlap)
    with overlap.open("a") as handle:  # plus an already-delivered resource
        handle.write((CORPUS / "mixed.ndjson").read_text().splitlines()[0] + "\n")
    [report] = ingest_path(workspace, overlap, "hosp-a")
    assert (report.received, report.stored, report.duplicates) == (2, 1, 1)
    versions = sorted(r["version_id"] for r in raw_rows(workspace) if r["resource_id"] == "p1")
    assert versions == ["1", "2"], "the raw layer keeps history"


def test_institutions_do_not_deduplicate_each_other(workspace) -> None:
    ingest_path(workspace, CORPUS / "patient-v2.ndjson", "hosp-a")
    [report] = ingest_path(workspace, CORPUS / "patient-v2.ndjson", "chc-b")
    assert report.stored == 1
    assert sorted(r["institution"] for r in raw_rows(workspace)) == ["chc-b", "hosp-a"]


def test_bom_crlf_and_gzip(workspace, tmp_path) -> None:
    gz = tmp_path / "mixed.ndjson.gz"
    gz.write_bytes(gzip.compress((CORPUS / "mixed.ndjson").read_bytes()))
    reports = ingest_path(workspace, CORPUS / "bom-crlf.ndjson", "hosp-a") + ingest_path(
        workspace, gz, "hosp-a"
    )
    assert [(r.received, r.stored) for r in reports] == [(1, 1), (11, 3)]
    bom = next(r for r in raw_rows(workspace) if r["resource_id"] == "bom")
    assert orjson.loads(bom["resource"])["gender"] == "other"


def test_truncated_gzip_keeps_what_was_read(workspace, tmp_path) -> None:
    data = gzip.compress((CORPUS / "mixed.ndjson").read_bytes())
    cut = tmp_path / "cut.ndjson.gz"
    cut.write_bytes(data[: len(data) - 20])
    [report] = ingest_path(workspace, cut, "hosp-a")
    assert report.received == report.stored + report.quarantined + report.duplicates
    assert any(r["stage"] == "read" and "unreadable" in r["reason"] for r in quarantine_rows(workspace))


def test_truncated_bundle_is_quarantined_whole(workspace) -> None:
    [report] = ingest_path(workspace, CORPUS / "truncated-bundle.json", "hosp-a")
    assert (report.received, report.quarantined) == (1, 1)
    [row] = quarantine_rows(workspace)
    assert row["stage"] == "read" and row["reason"].startswith("malformed JSON")


def test_transaction_bundle_resolves_urn_uuid_references(workspace, tmp_path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaa",
                "resource": {"resourceType": "Patient", "gender": "male"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:bbb",
                "resource": {
                    "resourceType": "Encounter",
                    "id": "e1",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": {"reference": "urn:uuid:aaa"},
                },
            },
            {"request": {"method": "DELETE", "url": "Patient/old"}},
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    [report] = ingest_path(workspace, path, "hosp-a")
    assert (report.received, report.stored, report.quarantined) == (3, 2, 1)
    encounter = next(r for r in raw_rows(workspace) if r["resource_type"] == "Encounter")
    assert orjson.loads(encounter["resource"])["subject"]["reference"] == "Patient/aaa"
    assert report.unresolved_references == 0


def test_bad_institution_id_is_refused(workspace) -> None:
    with pytest.raises(ValueError, match="institution ids"):
        ingest_path(workspace, CORPUS / "mixed.ndjson", "Hosp A")


def test_worker_pool_gives_the_same_result(make_workspace) -> None:
    inline, pooled = make_workspace(ingest_workers=1), make_workspace(ingest_workers=2, ingest_chunk_size=3)
    a = ingest_path(inline, CORPUS, "hosp-a")
    b = ingest_path(pooled, CORPUS, "hosp-a")
    assert [(r.received, r.stored, r.quarantined, r.duplicates) for r in a] == [
        (r.received, r.stored, r.quarantined, r.duplicates) for r in b
    ]
    strip = lambda rows: sorted((r["content_hash"], r["line"], r["source_file"]) for r in rows)  # noqa: E731
    assert strip(raw_rows(inline)) == strip(raw_rows(pooled))


def test_groups_committed_while_the_pool_examines_ahead_change_nothing(make_workspace, tmp_path) -> None:
    """With several groups in one job, the pool examines the next delivery while a group commits.

    Inline (one worker) nothing runs ahead, so both must give the same reports (unresolved
    references included: they depend on what earlier groups committed) and the same tables.
    """
    from tests.conftest import synthetic_region

    region = tmp_path / "region"
    synthetic_region(region, residents=25, seed=3)
    folder = next(p for p in sorted(region.iterdir()) if p.is_dir() and p.name != "truth")
    shutil.copy(CORPUS / "mixed.ndjson", folder / "zz-mixed.ndjson")
    shutil.copy(CORPUS / "mixed.ndjson", folder / "zz-mixed-again.ndjson")  # the same content again
    settings = {"ingest_chunk_size": 7, "ingest_group_records": 40}
    inline, pooled = (
        make_workspace(ingest_workers=1, **settings),
        make_workspace(ingest_workers=2, **settings),
    )
    reports = [ingest_path(ws, folder, "hosp-a") for ws in (inline, pooled)]
    assert len(reports[0]) > 3 and sum(r.received for r in reports[0]) > 120, "several deliveries"
    strip = lambda r: (r.source, r.status, r.received, r.stored, r.quarantined, r.duplicates)  # noqa: E731
    assert [strip(r) for r in reports[0]] == [strip(r) for r in reports[1]]
    assert [r.unresolved_sample for r in reports[0]] == [r.unresolved_sample for r in reports[1]]
    raw = pooled.lake.table(pooled.lake.uri(Layer.RAW, RAW_RESOURCES))
    assert raw.version() >= 1, "a group committed before the job's last delivery was examined"

    def rows(ws, table: str) -> list[tuple]:
        data = ws.lake.read(ws.lake.uri(Layer.RAW, table))
        keep = [c for c in data.column_names if c != "received_at"]
        return sorted(tuple(str(v) for v in row.values()) for row in data.select(keep).to_pylist())

    for table in (RAW_RESOURCES, QUARANTINE):
        assert rows(inline, table) == rows(pooled, table)


def test_what_a_job_remembers_committing_answers_as_the_lake_would(
    make_workspace, tmp_path, monkeypatch
) -> None:
    """A job remembers the keys of the rows it committed, so a later group of an institution the
    lake held nothing of before finds repeats and resolves references without reading the lake.
    With that memory switched off every commit asks the lake: reports and tables must agree,
    also for an institution that already had rows before the job (whose groups read the lake)."""
    from medlake.ingest import groups, key_queries, pipeline
    from tests.conftest import synthetic_region

    region = tmp_path / "region"
    synthetic_region(region, residents=25, seed=3)
    folder = next(p for p in sorted(region.iterdir()) if p.is_dir() and p.name != "truth")
    shutil.copy(CORPUS / "mixed.ndjson", folder / "zz-mixed.ndjson")
    first = sorted(folder.glob("*.ndjson"))[0]
    again = tmp_path / "again" / "resent.ndjson"  # a later export: the first file again, plus one new line
    again.parent.mkdir()
    again.write_bytes(first.read_bytes() + (CORPUS / "patient-v2.ndjson").read_bytes())
    settings = {"ingest_chunk_size": 7, "ingest_group_records": 40, "ingest_workers": 1}
    remembering, asking = make_workspace(**settings), make_workspace(**settings)
    for ws in (remembering, asking):
        ingest_path(ws, CORPUS / "patient-v2.ndjson", "hosp-b")  # hosp-b has rows before the next job
    reads: list[bool] = []
    real = key_queries.repeated_rows
    monkeypatch.setattr(
        key_queries,
        "repeated_rows",
        lambda engine, raw, *a: reads.append(raw is not None) or real(engine, raw, *a),
    )
    sources = [(folder, "hosp-a"), (again.parent, "hosp-a"), (CORPUS / "mixed.ndjson", "hosp-b")]
    remembered = pipeline.ingest_paths(remembering, sources)
    assert len(reads) > 2 and not any(reads[:-1]) and reads[-1], "only hosp-b, in the lake before, is read"
    monkeypatch.setattr(groups, "REMEMBERED_ROWS", 0)
    reads.clear()
    asked = pipeline.ingest_paths(asking, sources)
    assert all(reads[1:]), "without memory every commit after hosp-a's first reads the lake"

    def strip(r):
        return (r.source, r.received, r.stored, r.quarantined, r.duplicates, r.unresolved_sample)

    assert [strip(r) for r in remembered] == [strip(r) for r in asked]
    resent = next(r for r in remembered if r.source == str(again))
    assert (resent.stored, resent.duplicates) == (1, resent.received - 1), "an earlier group's content"
    assert any(r.unresolved_references for r in remembered), "some references point to nothing"
    columns = ["institution", "resource_type", "resource_id", "content_hash", "line", "source_file"]
    tables = [
        ws.lake.read(ws.lake.uri(Layer.RAW, RAW_RESOURCES), columns=columns) for ws in (remembering, asking)
    ]
    assert sorted(tables[0].to_pylist(), key=str) == sorted(tables[1].to_pylist(), key=str)


@pytest.mark.parametrize("remembered", [0, 10**6], ids=["forgets-at-once", "remembers"])
def test_references_within_a_group_resolve_whether_or_not_the_job_remembers(
    make_workspace, monkeypatch, remembered: int
) -> None:
    """Past its memory's bound a job asks the lake, from the very commit that crossed it on."""
    from medlake.ingest import groups, pipeline

    monkeypatch.setattr(groups, "REMEMBERED_ROWS", remembered)
    ws = make_workspace()
    [report] = pipeline.ingest_paths(ws, [(CORPUS / "mixed.ndjson", "hosp-a")])
    [alone] = ingest_path(make_workspace(), CORPUS / "mixed.ndjson", "hosp-a")
    observations = [r for r in raw_rows(ws) if r["resource_type"] == "Observation"]
    assert any("Patient/p1" in r["refs"] for r in observations)
    assert report.unresolved_sample == alone.unresolved_sample
    assert "Patient/p1" not in report.unresolved_sample, "the Patient came in the same group"
