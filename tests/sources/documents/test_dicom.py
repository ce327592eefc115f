"""DICOM → ImagingStudy with pydicom's own test files: grouped by study, valid R4, no pixels in the lake."""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

import orjson
import pydicom
import pytest
from pydicom.errors import InvalidDicomError

from medlake.fhir.validation import validate
from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, Layer
from medlake.sources.base import SourceConfig
from medlake.sources.documents import ingest_dicom
from medlake.sources.documents.dicom import FILE_EXTENSION
from medlake.sources.documents.source import DicomFolder
from medlake.workspace import Workspace

INSTITUTION = "radiology"


def studies(ws: Workspace) -> dict[str, dict]:
    rows = ws.table("raw.resources", ["resource_type", "resource"]).to_pylist()
    found = [orjson.loads(r["resource"]) for r in rows if r["resource_type"] == "ImagingStudy"]
    return {s["id"]: s for s in found}


def quarantined(ws: Workspace) -> list[dict]:
    data = ws.lake.read(ws.lake.uri(Layer.RAW, QUARANTINE))
    return [] if data is None else data.to_pylist()


def header(path: Path) -> pydicom.Dataset | None:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        return None


def referenced_files(study: dict) -> dict[str, str]:
    """file path → SOP Instance UID, from the instances' file extensions."""
    files = {}
    for series in study["series"]:
        for instance in series["instance"]:
            [extension] = [e for e in instance["extension"] if e["url"] == FILE_EXTENSION]
            files[unquote(urlsplit(extension["valueUrl"]).path)] = instance["uid"]
    return files


def disk_size(folder: str) -> int:
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_files_become_valid_grouped_studies_and_every_file_is_accounted_for(workspace, dicom_folder):
    reports = ingest_dicom(workspace, dicom_folder, INSTITUTION)
    for report in reports:
        assert report.received == report.stored + report.quarantined + report.duplicates
    stored = studies(workspace)
    assert stored, "the bundled files hold complete studies"
    for study in stored.values():
        validate(study)
        assert study["numberOfSeries"] == len(study["series"])
        assert study["numberOfInstances"] == sum(len(s["instance"]) for s in study["series"])
        assert study["subject"]["reference"].startswith("Patient/")

    # the largest study, grouped independently with pydicom: one resource, every series and instance
    by_study: dict[str, list[pydicom.Dataset]] = defaultdict(list)
    for file in dicom_folder.rglob("*.dcm"):
        dataset = header(file)
        if dataset is not None and dataset.get("PatientID") and dataset.get("Modality"):
            by_study[dataset.StudyInstanceUID].append(dataset)
    uid, members = max(by_study.items(), key=lambda item: len(item[1]))
    assert len(members) > 1
    study = stored[uid]
    assert {"system": "urn:dicom:uid", "value": f"urn:oid:{uid}"} in study["identifier"]
    assert study["numberOfInstances"] == len({m.SOPInstanceUID for m in members})
    assert {s["uid"] for s in study["series"]} == {m.SeriesInstanceUID for m in members}
    assert study["subject"] == {"reference": f"Patient/{members[0].PatientID}"}

    # nothing silently dropped: each file is an instance's file, a duplicate instance, or quarantined
    files = {path: sop for s in stored.values() for path, sop in referenced_files(s).items()}
    instances = {
        sop
        for s in stored.values()
        for series in s["series"]
        for sop in (i["uid"] for i in series["instance"])
    }
    rejected = {r["source_file"] for r in quarantined(workspace)}
    for file in dicom_folder.rglob("*"):
        if file.is_file():
            dataset = header(file)
            duplicate = dataset is not None and dataset.get("SOPInstanceUID") in instances
            assert str(file) in files or str(file) in rejected or duplicate, f"{file.name} vanished"
    for path, sop in files.items():
        dataset = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        assert dataset.SOPInstanceUID == sop, "the reference is right"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_no_pixels_reach_the_lake(workspace, dicom_folder):
    ingest_dicom(workspace, dicom_folder, INSTITUTION)
    pixel_bytes = 0
    for file in dicom_folder.rglob("*.dcm"):
        try:
            dataset = pydicom.dcmread(file)
        except Exception:  # the unreadable ones are quarantined: their pixels count for nothing here
            continue
        if "PixelData" in dataset:
            pixel_bytes += len(dataset.PixelData)
    raw_folder = workspace.lake.uri(Layer.RAW, RAW_RESOURCES)
    assert pixel_bytes > 500_000
    assert disk_size(raw_folder) < pixel_bytes / 5
    longest = max(len(orjson.dumps(s)) for s in studies(workspace).values())
    assert longest < 40_000, "a study's metadata is small; anything bigger smells of bulk data"
    for row in quarantined(workspace):
        assert len(row["raw"]) < 1_000, "quarantined files are named, not copied"


def test_non_dicom_and_truncated_files_are_quarantined_with_the_reason(workspace, tmp_path):
    [ct] = [f for f in _bundled() if f.name == "CT_small.dcm"]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "report.txt").write_text("Impression: no acute findings.")
    (folder / "truncated.dcm").write_bytes(ct.read_bytes()[:300])
    (folder / "empty.dcm").write_bytes(b"")
    reports = ingest_dicom(workspace, folder, INSTITUTION)
    assert sum(r.quarantined for r in reports) == 3 and sum(r.stored for r in reports) == 0
    reasons = {Path(r["source_file"]).name: r for r in quarantined(workspace)}
    assert reasons["report.txt"]["reason"].startswith("not a DICOM file")
    assert reasons["truncated.dcm"]["reason"].startswith(("unreadable DICOM", "DICOM file lacks"))
    assert reasons["empty.dcm"]["stage"] == "convert"
    assert "no acute findings" not in reasons["report.txt"]["raw"], "the file is named, never copied"
    assert orjson.loads(reasons["report.txt"]["raw"])["file"] == str(folder / "report.txt")


def test_a_study_naming_two_patients_is_quarantined_whole(workspace, tmp_path):
    [ct] = [f for f in _bundled() if f.name == "CT_small.dcm"]
    folder = tmp_path / "misfiled"
    folder.mkdir()
    shutil.copy(ct, folder / "a.dcm")
    other = pydicom.dcmread(ct)
    other.PatientID = "SOMEONE-ELSE"
    other.SOPInstanceUID = pydicom.uid.generate_uid()
    other.save_as(folder / "b.dcm")
    reports = ingest_dicom(workspace, folder, INSTITUTION)
    assert sum(r.stored for r in reports) == 0
    [row] = quarantined(workspace)
    assert "name different patients" in row["reason"] and "SOMEONE-ELSE" in row["reason"]
    assert sorted(orjson.loads(row["raw"])["files"]) == [str(folder / "a.dcm"), str(folder / "b.dcm")]


def test_times_keep_the_dicom_offset_and_otherwise_only_the_date(workspace, tmp_path):
    [ct] = [f for f in _bundled() if f.name == "CT_small.dcm"]
    folder = tmp_path / "times"
    folder.mkdir()
    shutil.copy(ct, folder / "with-offset.dcm")
    plain = pydicom.dcmread(ct)
    del plain.TimezoneOffsetFromUTC
    plain.StudyInstanceUID = pydicom.uid.generate_uid()
    plain.SeriesInstanceUID = pydicom.uid.generate_uid()
    plain.save_as(folder / "no-offset.dcm")
    ingest_dicom(workspace, folder, INSTITUTION)
    found = studies(workspace)
    dataset = pydicom.dcmread(ct, stop_before_pixels=True)
    assert found[dataset.StudyInstanceUID]["started"].endswith("-05:00")  # TimezoneOffsetFromUTC -0500
    day = f"{dataset.StudyDate[:4]}-{dataset.StudyDate[4:6]}-{dataset.StudyDate[6:]}"
    assert found[plain.StudyInstanceUID]["started"] == day


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sync_is_incremental_and_rebuilds_a_study_that_gains_a_file(workspace, tmp_path):
    [ct] = [f for f in _bundled() if f.name == "CT_small.dcm"]
    folder = tmp_path / "watched"
    folder.mkdir()
    shutil.copy(ct, folder / "1.dcm")
    source = SourceConfig(id="pacs", institution=INSTITUTION, kind="dicom", location=str(folder))
    first = DicomFolder().sync(workspace, source)
    assert sum(r.stored for r in first) == 1
    assert DicomFolder().sync(workspace, source) == [], "nothing changed, nothing read"

    more = pydicom.dcmread(ct)
    more.SOPInstanceUID = pydicom.uid.generate_uid()
    more.InstanceNumber = 2
    more.save_as(folder / "2.dcm")
    reports = DicomFolder().sync(workspace, source)
    assert [r.stored for r in reports] == [1]
    versions = [
        orjson.loads(r["resource"]) for r in workspace.table("raw.resources", ["resource"]).to_pylist()
    ]
    assert sorted(v["numberOfInstances"] for v in versions) == [1, 2], "the study is re-sent whole"
    os.utime(folder / "1.dcm", ns=(0, 0))  # touched, same content: rebuilt, identical, nothing stored
    reports = DicomFolder().sync(workspace, source)
    assert sum(r.stored for r in reports) == 0


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_reingesting_the_same_folder_adds_nothing(workspace, dicom_folder):
    first = ingest_dicom(workspace, dicom_folder, INSTITUTION)
    again = ingest_dicom(workspace, dicom_folder, INSTITUTION)
    assert {r.status for r in again} == {"unchanged"}
    assert sum(r.received for r in again) == sum(r.received for r in first)


def _bundled() -> list[Path]:
    from tests.sources.documents.conftest import bundled_dicom_files

    return bundled_dicom_files()
