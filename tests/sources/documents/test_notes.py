"""Clinical notes → DocumentReference: whose they are, their text searchable, the rest quarantined."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import orjson
import typer
from typer.testing import CliRunner

from medlake.cli import MedlakeGroup, documents
from medlake.fhir.validation import validate
from medlake.lake.tables import QUARANTINE, Layer
from medlake.sources.base import SourceConfig
from medlake.sources.documents import ingest_notes
from medlake.sources.documents.notes import TEXT_UTF8
from medlake.sources.documents.source import NotesFolder
from medlake.workspace import Workspace
from tests.sources.documents.conftest import make_pdf

INSTITUTION = "hosp-north"
DISCHARGE = "Discharge summary. Community-acquired pneumonia, treated with amoxicillin for 5 days.\n"


def documents_of(ws: Workspace) -> dict[str, dict]:
    rows = ws.table("raw.resources", ["resource_type", "resource"]).to_pylist()
    found = [orjson.loads(r["resource"]) for r in rows if r["resource_type"] == "DocumentReference"]
    return {d["content"][0]["attachment"]["title"]: d for d in found}


def quarantined(ws: Workspace) -> dict[str, dict]:
    data = ws.lake.read(ws.lake.uri(Layer.RAW, QUARANTINE))
    return {} if data is None else {Path(r["source_file"]).name: r for r in data.to_pylist()}


def searchable_text(document: dict) -> str:
    [text] = [
        c["attachment"]["data"] for c in document["content"] if c["attachment"]["contentType"] == TEXT_UTF8
    ]
    return base64.b64decode(text).decode()


def sidecar(note: Path, **fields: str) -> None:
    note.with_name(note.name + ".json").write_text(json.dumps(fields))


def notes_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    (folder / "2024").mkdir(parents=True)
    (folder / "2024" / "discharge.txt").write_text(DISCHARGE)
    sidecar(
        folder / "2024" / "discharge.txt",
        patient="p1",
        date="2024-03-01T16:30:00+01:00",
        type="18842-5",
        encounter="enc-9",
        author="pr-7",
        title="Discharge summary",
    )
    (folder / "p77_2024-02-03_11506-3_ward.txt").write_text("Progress note: afebrile, mobilising.\n")
    (folder / "scan.pdf").write_bytes(make_pdf(["Consultation", "Suspected appendicitis, surgical review."]))
    sidecar(folder / "scan.pdf", patient="p2", date="2024-04-11", type="11488-4")
    (folder / "lettre.txt").write_bytes("Patiente revue: fièvre résolue.\n".encode("latin-1"))
    sidecar(folder / "lettre.txt", patient="p3", charset="iso-8859-1")
    (folder / "orphan.txt").write_text("Whose is this?\n")
    (folder / "typo.txt").write_text("Follow-up in 3 months.\n")
    sidecar(folder / "typo.txt", patinet="p4")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a PDF")
    sidecar(folder / "broken.pdf", patient="p5")
    return folder


def test_notes_become_valid_document_references_with_patient_type_and_text(workspace, tmp_path):
    reports = ingest_notes(workspace, notes_folder(tmp_path), INSTITUTION)
    assert len(reports) == 7
    for report in reports:
        assert report.received == report.stored + report.quarantined + report.duplicates
    docs = documents_of(workspace)
    assert set(docs) == {"discharge.txt", "p77_2024-02-03_11506-3_ward.txt", "scan.pdf", "lettre.txt"}
    for document in docs.values():
        validate(document)

    discharge = docs["discharge.txt"]
    assert discharge["subject"] == {"reference": "Patient/p1"}
    assert discharge["type"]["coding"] == [
        {"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}
    ]
    assert discharge["date"] == "2024-03-01T16:30:00+01:00"
    assert discharge["context"]["encounter"] == [{"reference": "Encounter/enc-9"}]
    assert discharge["author"] == [{"reference": "Practitioner/pr-7"}]
    original = discharge["content"][0]["attachment"]
    assert base64.b64decode(original["data"]).decode() == DISCHARGE
    assert original["hash"] == base64.b64encode(hashlib.sha1(DISCHARGE.encode()).digest()).decode()
    assert len(discharge["content"]) == 1, "a UTF-8 text note is its own searchable text"

    by_name = docs["p77_2024-02-03_11506-3_ward.txt"]
    assert by_name["subject"] == {"reference": "Patient/p77"}
    assert by_name["type"]["coding"][0]["code"] == "11506-3"
    assert by_name["context"]["period"] == {"start": "2024-02-03"}

    pdf = docs["scan.pdf"]
    assert pdf["content"][0]["attachment"]["contentType"] == "application/pdf"
    assert (
        base64.b64decode(pdf["content"][0]["attachment"]["data"])
        == (tmp_path / "notes" / "scan.pdf").read_bytes()
    )
    assert "Suspected appendicitis" in searchable_text(pdf)
    assert "fièvre résolue" in searchable_text(docs["lettre.txt"])


def test_notes_without_a_patient_or_with_a_bad_sidecar_or_file_are_quarantined(workspace, tmp_path):
    folder = notes_folder(tmp_path)
    ingest_notes(workspace, folder, INSTITUTION)
    rejected = quarantined(workspace)
    assert set(rejected) == {"orphan.txt", "typo.txt", "broken.pdf"}
    assert "cannot tell whose note this is" in rejected["orphan.txt"]["reason"]
    assert rejected["orphan.txt"]["raw"] == "Whose is this?\n", "the quarantine keeps the note"
    assert "unknown keys ['patinet']" in rejected["typo.txt"]["reason"]
    assert rejected["broken.pdf"]["reason"].startswith("unreadable PDF")
    envelope = orjson.loads(rejected["broken.pdf"]["raw"])
    assert base64.b64decode(envelope["data"]) == (folder / "broken.pdf").read_bytes()


def test_note_text_is_searchable_with_sql(workspace, tmp_path):
    ingest_notes(workspace, notes_folder(tmp_path), INSTITUTION)
    found = workspace.sql(
        f"""
        SELECT resource_id, json_extract_string(resource, '$.subject.reference') AS patient
        FROM raw.resources, unnest(CAST(json_extract(resource, '$.content[*].attachment') AS JSON[])) AS c(a)
        WHERE resource_type = 'DocumentReference'
          AND CASE WHEN json_extract_string(a, '$.contentType') = '{TEXT_UTF8}'
                   THEN decode(from_base64(json_extract_string(a, '$.data'))) ILIKE '%appendicitis%' END
        """
    ).to_pylist()
    assert [row["patient"] for row in found] == ["Patient/p2"]


def test_the_same_notes_again_add_nothing_and_sync_reads_only_what_changed(workspace, tmp_path):
    folder = notes_folder(tmp_path)
    first = ingest_notes(workspace, folder, INSTITUTION)
    again = ingest_notes(workspace, folder, INSTITUTION)
    assert {r.status for r in again} == {"unchanged"}
    assert sum(r.received for r in again) == sum(r.received for r in first)

    source = SourceConfig(id="north-notes", institution=INSTITUTION, kind="notes", location=str(folder))
    assert len(NotesFolder().sync(workspace, source)) == 7, "the first sync sees every file"
    assert NotesFolder().sync(workspace, source) == []
    sidecar(folder / "orphan.txt", patient="p9")  # the missing sidecar arrives
    [report] = NotesFolder().sync(workspace, source)
    assert report.stored == 1 and Path(report.source).name == "orphan.txt"
    assert documents_of(workspace)["orphan.txt"]["subject"] == {"reference": "Patient/p9"}


def test_cli_ingest_notes_and_dicom_print_reports(workspace, tmp_path, dicom_folder):
    app, ingest_app = typer.Typer(cls=MedlakeGroup), typer.Typer()
    app.add_typer(ingest_app, name="ingest")
    documents.register(app, ingest_app)
    runner = CliRunner()
    home = ["--home", str(workspace.home)]
    result = runner.invoke(
        app, ["ingest", "notes", str(notes_folder(tmp_path)), "-i", INSTITUTION, *home, "--json"]
    )
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert sum(r["stored"] for r in reports) == 4 and sum(r["quarantined"] for r in reports) == 3
    result = runner.invoke(app, ["ingest", "dicom", str(dicom_folder), "-i", "radiology", *home, "--json"])
    assert result.exit_code == 0, result.output
    assert sum(r["stored"] for r in json.loads(result.stdout)) > 0
    result = runner.invoke(app, ["ingest", "dicom", str(tmp_path / "nowhere"), "-i", "radiology", *home])
    assert result.exit_code == 1 and "no such file or folder" in result.output
    result = runner.invoke(
        app, ["ingest", "dicom", str(dicom_folder), "-i", "x", "--timezone", "Mars/Base", *home]
    )
    assert result.exit_code == 1 and "unknown time zone 'Mars/Base'" in result.output
