"""DICOM files → FHIR ``ImagingStudy``: the metadata in the lake, the pixels left where they are.

Headers are read with ``pydicom`` (``stop_before_pixels=True`` and large values deferred,
so pixel data is never even loaded). All files of one study become one ImagingStudy, with
its series and their instances; its id is the StudyInstanceUID itself (a UID is at most 64
digits and dots, a valid FHIR id), so the same study from any number of deliveries is one
resource, re-sent as a new version when more of its files arrive.

**Where the pixels are.** Each instance carries the location of its file as an extension,
``urn:medlake:fhir:dicom-file`` with a ``valueUrl`` (``file:///…``). FHIR R4's own means,
``ImagingStudy.endpoint``/``series.endpoint``, reference an ``Endpoint``: a *service*
(DICOMweb WADO-RS, DIMSE) that serves instances by UID, not a file path; a folder of
files has no such service, and the endpoint connection types have no code for one. When
the files are also in a PACS, its WADO-RS endpoint can be added beside the extension.

**Patients.** ``subject`` is ``Patient/<PatientID>``: the hospital's PACS and its FHIR
export share the patient number. A PatientID that is not a valid FHIR id becomes a
logical reference (``subject.identifier``). Files of one study naming different
patients are quarantined together: misfiled images must not be attached to anyone.

**Times.** DICOM dates and times carry no zone unless ``TimezoneOffsetFromUTC`` is set;
FHIR needs one for a time of day, so without it (and without ``--timezone``) only the
date is kept, never a guessed time.
"""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from medlake.errors import InputError, InvalidRecord
from medlake.fhir.definitions import type_pattern
from medlake.fhir.reading import Record
from medlake.ingest import Delivery
from medlake.landing import Landing, any_name
from medlake.sources.documents.files import find, records_delivery

DCM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"
FILE_EXTENSION = "urn:medlake:fhir:dicom-file"
STUDY_NAMESPACE = uuid.UUID("a3e1b7c4-2f0d-5e86-9b3a-7c1d4e5f6a70")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_OID = re.compile(type_pattern("oid") or "")
#: DICOM BodyPartExamined defined terms → SNOMED CT (DICOM PS3.16 CID 4031), the common ones.
BODY_PARTS = {
    "HEAD": ("69536005", "Head structure"),
    "BRAIN": ("12738006", "Brain structure"),
    "SKULL": ("89546000", "Bone structure of cranium"),
    "NECK": ("45048000", "Neck structure"),
    "CHEST": ("51185008", "Thoracic structure"),
    "BREAST": ("76752008", "Breast structure"),
    "HEART": ("80891009", "Heart structure"),
    "ABDOMEN": ("113345001", "Abdominal structure"),
    "LIVER": ("10200004", "Liver structure"),
    "KIDNEY": ("64033007", "Kidney structure"),
    "PELVIS": ("12921003", "Pelvic structure"),
    "SHOULDER": ("16982005", "Shoulder region structure"),
    "HAND": ("85562004", "Hand structure"),
    "KNEE": ("72696002", "Knee region structure"),
    "FOOT": ("56459004", "Foot structure"),
    "WHOLEBODY": ("38266002", "Entire body as a whole"),
}
LATERALITY = {"R": ("24028007", "Right"), "L": ("7771000", "Left")}


class DicomError(InvalidRecord):
    """A file or study that cannot become (part of) an ImagingStudy; the text says why."""


@dataclass(frozen=True)
class DicomInstance:
    """What the lake keeps of one DICOM file: identifiers and descriptive metadata only."""

    path: Path
    study_uid: str
    series_uid: str
    sop_uid: str
    sop_class_uid: str
    modality: str
    patient_id: str
    patient_issuer: str | None = None
    study_started: str | None = None
    series_started: str | None = None
    study_description: str | None = None
    series_description: str | None = None
    accession: str | None = None
    series_number: int | None = None
    instance_number: int | None = None
    body_part: str | None = None
    laterality: str | None = None


def read_instance(path: Path, zone: tzinfo | None = None) -> DicomInstance:
    """The header of one file; :class:`DicomError` for anything that is not usable DICOM."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    # pydicom warns about each oddity it tolerates; the file is either read or quarantined with a reason
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            try:
                dataset = pydicom.dcmread(path, stop_before_pixels=True, defer_size=1024)
            except InvalidDicomError:
                # datasets written without the Part 10 preamble are still DICOM, if they carry UIDs
                dataset = pydicom.dcmread(path, stop_before_pixels=True, defer_size=1024, force=True)
                if "SOPInstanceUID" not in dataset:
                    raise DicomError("not a DICOM file: no 'DICM' preamble and no SOP Instance UID") from None
            return _instance(path, dataset, zone)
        except DicomError:
            raise
        except Exception as exc:  # pydicom raises many types for corrupt input; all mean the same here
            raise DicomError(f"unreadable DICOM: {type(exc).__name__}: {exc}") from None


def _text(dataset, keyword: str) -> str | None:  # type: ignore[no-untyped-def]
    value = dataset.get(keyword)
    text = str(value).strip() if value is not None else ""
    return text or None


def _number(dataset, keyword: str) -> int | None:  # type: ignore[no-untyped-def]
    text = _text(dataset, keyword)
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def _instance(path: Path, dataset, zone: tzinfo | None) -> DicomInstance:  # type: ignore[no-untyped-def]
    required = {
        "StudyInstanceUID": "(0020,000D)",
        "SeriesInstanceUID": "(0020,000E)",
        "SOPInstanceUID": "(0008,0018)",
        "SOPClassUID": "(0008,0016)",
        "Modality": "(0008,0060)",
        "PatientID": "(0010,0020)",
    }
    values = {keyword: _text(dataset, keyword) for keyword in required}
    missing = [f"{keyword} {tag}" for keyword, tag in required.items() if values[keyword] is None]
    if missing:
        raise DicomError(f"DICOM file lacks {', '.join(missing)}: it cannot be placed in an ImagingStudy")
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        if not is_uid(values[keyword]):  # type: ignore[arg-type]
            raise DicomError(
                f"{keyword} {required[keyword]} {values[keyword]!r} is not a DICOM UID (numbers joined by "
                "dots, no leading zeros, at most 64 characters: PS3.5 9.1), so it is no urn:oid either"
            )
    offset = _text(dataset, "TimezoneOffsetFromUTC")
    file_zone = _offset_zone(offset) if offset else zone
    return DicomInstance(
        path=path,
        study_uid=values["StudyInstanceUID"],  # type: ignore[arg-type]
        series_uid=values["SeriesInstanceUID"],  # type: ignore[arg-type]
        sop_uid=values["SOPInstanceUID"],  # type: ignore[arg-type]
        sop_class_uid=values["SOPClassUID"],  # type: ignore[arg-type]
        modality=values["Modality"],  # type: ignore[arg-type]
        patient_id=values["PatientID"],  # type: ignore[arg-type]
        patient_issuer=_text(dataset, "IssuerOfPatientID"),
        study_started=_date_time(_text(dataset, "StudyDate"), _text(dataset, "StudyTime"), file_zone),
        series_started=_date_time(_text(dataset, "SeriesDate"), _text(dataset, "SeriesTime"), file_zone),
        study_description=_text(dataset, "StudyDescription"),
        series_description=_text(dataset, "SeriesDescription"),
        accession=_text(dataset, "AccessionNumber"),
        series_number=_number(dataset, "SeriesNumber"),
        instance_number=_number(dataset, "InstanceNumber"),
        body_part=_text(dataset, "BodyPartExamined"),
        laterality=_text(dataset, "Laterality"),
    )


def is_uid(value: str) -> bool:
    """A DICOM UID: what becomes ``urn:oid:<uid>`` must be an R4 ``oid``, and a UID has at most 64
    characters (PS3.5 9.1); the study's UID is also the ImagingStudy's id."""
    return len(value) <= 64 and _OID.fullmatch(f"urn:oid:{value}") is not None


def _offset_zone(offset: str) -> tzinfo | None:
    match = re.fullmatch(r"([+-])(\d{2})(\d{2})", offset)
    if match is None:
        return None
    delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
    return timezone(-delta if match[1] == "-" else delta)


def _date_time(day: str | None, time_of_day: str | None, zone: tzinfo | None) -> str | None:
    """DICOM DA (+ TM) as a FHIR dateTime: the date alone unless the zone is known."""
    if day is None:
        return None
    digits = day.replace(".", "")  # ACR-NEMA wrote 1997.04.24
    if not re.fullmatch(r"\d{8}", digits):
        return None
    try:
        date_only = datetime.strptime(digits, "%Y%m%d")
    except ValueError:
        return None
    if time_of_day is None or zone is None:
        return date_only.date().isoformat()
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", time_of_day.replace(":", ""))
    if match is None:
        return date_only.date().isoformat()
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    micro = int((match[4] or "0").ljust(6, "0"))
    try:
        moment = date_only.replace(hour=hour, minute=minute, second=second, microsecond=micro, tzinfo=zone)
    except ValueError:
        return date_only.date().isoformat()
    return moment.isoformat()


def _coding(system: str, code: str, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _body_site(term: str) -> dict:
    known = BODY_PARTS.get(term.upper().replace(" ", ""))
    return _coding(SNOMED, *known) if known else {"display": term}


def imaging_study(instances: list[DicomInstance]) -> dict:
    """One ImagingStudy from all the files of one study (at least one)."""
    ordered = sorted(
        instances,
        key=lambda i: (i.series_number or 0, i.series_uid, i.instance_number or 0, i.sop_uid, str(i.path)),
    )
    study_uid = ordered[0].study_uid
    patients = sorted({i.patient_id for i in ordered})
    if len(patients) > 1:
        raise DicomError(f"the files of study {study_uid} name different patients ({', '.join(patients)})")
    first = ordered[0]
    series: dict[str, list[DicomInstance]] = defaultdict(list)
    seen: set[str] = set()
    for instance in ordered:
        if instance.sop_uid not in seen:  # the same image in several files (e.g. transfer syntaxes): once
            seen.add(instance.sop_uid)
            series[instance.series_uid].append(instance)
    identifiers = [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}]
    accession = next((i.accession for i in ordered if i.accession), None)
    if accession:
        identifiers.append(
            {
                "type": {"coding": [_coding("http://terminology.hl7.org/CodeSystem/v2-0203", "ACSN")]},
                "value": accession,
            }
        )
    study: dict = {
        "resourceType": "ImagingStudy",
        "id": study_uid if _FHIR_ID.match(study_uid) else str(uuid.uuid5(STUDY_NAMESPACE, study_uid)),
        "identifier": identifiers,
        "status": "available",
        "modality": [_coding(DCM, m) for m in sorted({i.modality for s in series.values() for i in s})],
        "subject": _subject(first),
    }
    started = next((i.study_started for i in ordered if i.study_started), None)
    if started:
        study["started"] = started
    study["numberOfSeries"] = len(series)
    study["numberOfInstances"] = len(seen)
    description = next((i.study_description for i in ordered if i.study_description), None)
    if description:
        study["description"] = description
    study["series"] = [_series(members) for members in series.values()]
    return study


def _subject(instance: DicomInstance) -> dict:
    if _FHIR_ID.match(instance.patient_id):
        return {"reference": f"Patient/{instance.patient_id}"}
    identifier: dict = {"value": instance.patient_id}
    if instance.patient_issuer:
        identifier["assigner"] = {"display": instance.patient_issuer}
    return {"identifier": identifier}


def _series(members: list[DicomInstance]) -> dict:
    head = members[0]
    series: dict = {"uid": head.series_uid}
    if head.series_number is not None:
        series["number"] = head.series_number
    series["modality"] = _coding(DCM, head.modality)
    if head.series_description:
        series["description"] = head.series_description
    series["numberOfInstances"] = len(members)
    if head.body_part:
        series["bodySite"] = _body_site(head.body_part)
    if head.laterality and head.laterality.upper() in LATERALITY:
        series["laterality"] = _coding(SNOMED, *LATERALITY[head.laterality.upper()])
    if head.series_started:
        series["started"] = head.series_started
    series["instance"] = [
        {
            "extension": [{"url": FILE_EXTENSION, "valueUrl": i.path.resolve().as_uri()}],
            "uid": i.sop_uid,
            "sopClass": _coding("urn:ietf:rfc:3986", f"urn:oid:{i.sop_class_uid}"),
            **({"number": i.instance_number} if i.instance_number is not None else {}),
        }
        for i in members
    ]
    return series


def zone_named(name: str | None) -> tzinfo | None:
    """An IANA zone (``Europe/Paris``) for DICOM times without ``TimezoneOffsetFromUTC``."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        raise InputError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from None


def dicom_landing(path: Path, *, follow_links_outside: bool = False) -> Landing:
    """Every file under ``path`` (DICOM files often have no extension, so none is required) but a
    DICOMDIR index, and the files skipped (links out of the folder)."""
    return find(
        path,
        any_name,
        "any name",
        follow_links_outside=follow_links_outside,
        companion=lambda name: name == "dicomdir",
    )


def dicom_files(path: Path) -> list[Path]:
    """Every file under ``path`` but a DICOMDIR, links out of the folder skipped."""
    return dicom_landing(path).files


def read_instances(files: list[Path], zone: tzinfo | None) -> tuple[list[DicomInstance], list[Record]]:
    """The readable instances, and a quarantine record for every other file."""
    instances, rejected = [], []
    for file in files:
        try:
            instances.append(read_instance(file, zone))
        except DicomError as exc:
            # named, never copied: whatever the file holds stays out of the lake
            where = orjson.dumps({"file": str(file), "size": file.stat().st_size})
            rejected.append(Record(str(file), 1, where, error=str(exc), error_stage="convert"))
    return instances, rejected


def study_records(instances: list[DicomInstance]) -> Iterator[tuple[str, Record]]:
    """(study UID, record) per study: the ImagingStudy, or the reason the study is refused."""
    by_study: dict[str, list[DicomInstance]] = defaultdict(list)
    for instance in instances:
        by_study[instance.study_uid].append(instance)
    for study_uid in sorted(by_study):
        members = by_study[study_uid]
        where = os.path.commonpath([str(i.path.parent) for i in members])
        try:
            yield study_uid, Record(where, 1, orjson.dumps(imaging_study(members)))
        except DicomError as exc:
            files = sorted(str(i.path) for i in members)
            text = orjson.dumps(
                {"study": study_uid, "files": files, "patients": sorted({i.patient_id for i in members})}
            )
            yield study_uid, Record(where, 1, text, error=str(exc), error_stage="convert")


def dicom_deliveries(
    files: list[Path], institution: str, zone: tzinfo | None = None
) -> tuple[list[Delivery], list[DicomInstance]]:
    """One delivery per study and one per unusable file; also the instances read (for sync state)."""
    instances, rejected = read_instances(files, zone)
    deliveries = [
        records_delivery(institution, "dicom", record.source_file, [record])
        for _, record in study_records(instances)
    ]
    deliveries += [records_delivery(institution, "dicom", r.source_file, [r]) for r in rejected]
    return deliveries, instances
