"""Landing folders: nothing outside them is read, and nothing in them is silently left out.

``ln -s /etc/passwd inbox/passwd.ndjson`` put the file into the quarantine's ``raw``; in a notes
folder it became a patient's DocumentReference. ``B.NDJSON`` and ``a.jsonl`` were ignored
(total 0, exit 0) while ``.HL7`` was accepted. Now every file source (FHIR, HL7 v2, notes,
DICOM, CSV) skips a link out of its folder and reports it, matches names in any case, and
reports every file it did not take with the reason.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlake.cli import app
from medlake.ingest import BatchOutcome, ingest_path
from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, Layer
from medlake.sources.documents import ingest_dicom, ingest_notes
from medlake.sources.hl7v2.files import ingest_hl7_path
from medlake.sources.tabular.files import ingest_csv
from medlake.workspace import Workspace
from tests.sources.documents.conftest import bundled_dicom_files

CORPUS = Path(__file__).with_name("corpus")
HL7 = Path(__file__).parents[1] / "sources" / "hl7v2" / "corpus"
PATIENT = b'{"resourceType":"Patient","id":"p-1","gender":"female"}\n'
SECRET = "root:x:0:0:do-not-copy-me\n"


def _rows(ws: Workspace, name: str) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, name))
    return [] if table is None else table.to_pylist()


def _everything(ws: Workspace) -> str:
    return json.dumps([_rows(ws, RAW_RESOURCES), _rows(ws, QUARANTINE)], default=str)


@pytest.fixture
def outside(tmp_path) -> Path:
    """A file outside every landing folder that a hostile sender would like the lake to copy."""
    secret = tmp_path / "elsewhere" / "passwd"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    return secret


def _skipped(reports) -> dict[str, str]:
    return {Path(r.source).name: r.reason for r in reports if r.status == BatchOutcome.SKIPPED}


def test_fhir_a_link_out_of_the_inbox_is_skipped_and_reported(workspace, tmp_path, outside) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.ndjson").write_bytes(PATIENT)
    (inbox / "passwd.ndjson").symlink_to(outside)
    (inbox / "sub").mkdir()
    (inbox / "sub" / "bundle.json").symlink_to(outside)
    (inbox / "etc").symlink_to(outside.parent, target_is_directory=True)  # a linked folder leading out
    (inbox / "inside.ndjson").symlink_to(inbox / "good.ndjson")  # a link within the folder is fine
    reports = ingest_path(workspace, inbox, "hosp-a")
    skipped = _skipped(reports)
    assert set(skipped) == {"passwd.ndjson", "bundle.json", "etc"}
    assert all(
        "outside the landing folder" in r and "ingest_follow_links_outside" in r for r in skipped.values()
    )
    assert SECRET.strip() not in _everything(workspace) and "do-not-copy-me" not in _everything(workspace)
    committed = [r for r in reports if r.status != BatchOutcome.SKIPPED]
    assert sum(r.received for r in committed) == 2 and _rows(workspace, QUARANTINE) == []
    [job] = [j for j in workspace.catalog.jobs(5) if j.kind == "ingest"]
    assert {Path(s["file"]).name for s in (job.details or {}).get("skipped", [])} == set(skipped)


def test_fhir_a_named_file_that_links_out_is_not_read_either(workspace, tmp_path, outside) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "passwd.ndjson").symlink_to(outside)
    [report] = ingest_path(workspace, inbox / "passwd.ndjson", "hosp-a")
    assert report.status == BatchOutcome.SKIPPED and "outside the landing folder" in report.reason
    assert _rows(workspace, QUARANTINE) == []


def test_the_setting_allows_links_out_for_a_trusted_layout(make_workspace, tmp_path) -> None:
    workspace = make_workspace(ingest_follow_links_outside=True)
    export = tmp_path / "mounted" / "export.ndjson"
    export.parent.mkdir()
    export.write_bytes(PATIENT)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "export.ndjson").symlink_to(export)
    [report] = ingest_path(workspace, inbox, "hosp-a")
    assert (report.status, report.stored) == (BatchOutcome.COMMITTED, 1)


def test_hl7_notes_dicom_and_csv_skip_links_out_too(workspace, tmp_path, outside) -> None:
    def inbox(name: str, good: Path | None = None, link_name: str = "evil") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        if good is not None:
            shutil.copy(good, folder)
        (folder / link_name).symlink_to(outside)
        return folder

    hl7 = ingest_hl7_path(workspace, inbox("hl7", HL7 / "z-segments.hl7", "passwd.hl7"), "hosp-a")
    notes_folder = inbox("notes", CORPUS / "notes" / "p-1_2024-03-03_discharge.txt", "p-1_2024-03-04_x.txt")
    # a sidecar is a file too: a link out of the folder is not read as one
    (notes_folder / "p-1_2024-03-03_discharge.txt.json").symlink_to(outside)
    notes = ingest_notes(workspace, notes_folder, "hosp-a")
    dicom_good = next(f for f in bundled_dicom_files() if f.name == "CT_small.dcm")
    dicom = ingest_dicom(workspace, inbox("pacs", dicom_good, "IM0001"), "radiology")
    csv = ingest_csv(workspace, inbox("csv", None, "labs.csv"), "region-lab-results", "lab-central")
    expected = [(hl7, "passwd.hl7"), (notes, "p-1_2024-03-04_x.txt"), (dicom, "IM0001"), (csv, "labs.csv")]
    for reports, name in expected:
        assert "outside the landing folder" in _skipped(reports)[name], name
    assert sum(r.stored for r in hl7) > 0 and sum(r.stored for r in dicom) == 1
    [sidecar] = [q for q in _rows(workspace, QUARANTINE) if "sidecar" in q["reason"]]
    assert "is a link to" in sidecar["reason"] and "outside the landing folder" in sidecar["reason"]
    assert "do-not-copy-me" not in _everything(workspace)


def test_names_in_any_case_and_jsonl_are_taken_and_the_rest_reported(workspace, tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = [PATIENT.replace(b"p-1", f"p-{n}".encode()) for n in range(1, 6)]
    (inbox / "B.NDJSON").write_bytes(lines[0])
    (inbox / "a.jsonl").write_bytes(lines[1])
    (inbox / "c.Ndjson.GZ").write_bytes(gzip.compress(lines[2]))
    (inbox / "d.JSON").write_bytes(lines[3])
    (inbox / "e.jsonl.gz").write_bytes(gzip.compress(lines[4]))
    (inbox / "notes.docx").write_bytes(b"PK\x03\x04")
    (inbox / ".DS_Store").write_bytes(b"\x00")  # hidden: not a delivery, not worth a line
    reports = ingest_path(workspace, inbox, "hosp-a")
    committed = [r for r in reports if r.status == BatchOutcome.COMMITTED]
    assert sorted(Path(r.source).name for r in committed) == [
        "B.NDJSON",
        "a.jsonl",
        "c.Ndjson.GZ",
        "d.JSON",
        "e.jsonl.gz",
    ]
    assert sum(r.stored for r in committed) == 5
    assert _skipped(reports) == {
        "notes.docx": "not a file name this source takes "
        "(.ndjson, .ndjson.gz, .jsonl, .jsonl.gz, .json, .json.gz in any case)"
    }


def test_the_cli_says_what_it_skipped_instead_of_a_silent_total_of_zero(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MEDLAKE_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("MEDLAKE_INGEST_WORKERS", "1")
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "export.ndj").write_bytes(PATIENT)  # a typo'd extension
    result = runner.invoke(app, ["ingest", "fhir", str(inbox), "-i", "hosp-a"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "export.ndj" in result.output and "not a file name this source takes" in result.output


def test_sync_counts_and_reports_what_it_skipped(workspace, tmp_path, outside) -> None:
    from medlake.sources.sync import sync

    for kind in ("fhir", "hl7", "notes", "dicom"):
        folder = tmp_path / f"drop-{kind}"
        folder.mkdir()
        (folder / "passwd.ndjson").symlink_to(outside)
        workspace.catalog.add_source(f"{kind}-drop", "hosp-a", kind, str(folder))
    runs = sync(workspace)
    assert {(r.kind, r.error, r.batches, r.skipped) for r in runs} == {
        (kind, None, 0, 1) for kind in ("fhir", "hl7", "notes", "dicom")
    }
    for run in runs:
        [report] = run.reports
        assert report.status == BatchOutcome.SKIPPED and "outside the landing folder" in report.reason
    assert "do-not-copy-me" not in _everything(workspace)


def test_an_institution_folder_of_a_landing_zone_linked_out_is_skipped(workspace, tmp_path, outside) -> None:
    from medlake.ingest import ingest_paths, institution_folders

    zone = tmp_path / "zone"
    (zone / "hosp-a").mkdir(parents=True)
    (zone / "hosp-a" / "patients.ndjson").write_bytes(PATIENT)
    (outside.parent / "stolen.ndjson").write_bytes(PATIENT.replace(b"p-1", b"stolen"))
    (zone / "hosp-b").symlink_to(outside.parent, target_is_directory=True)
    reports = ingest_paths(workspace, institution_folders(zone))
    [skipped] = [r for r in reports if r.status == BatchOutcome.SKIPPED]
    assert skipped.institution == "hosp-b" and "a linked folder to" in skipped.reason
    assert "stolen" not in _everything(workspace) and sum(r.stored for r in reports) == 1
