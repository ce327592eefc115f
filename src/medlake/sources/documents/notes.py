"""Clinical notes (text files and PDFs) → FHIR ``DocumentReference``.

**Whose note is it?** Either a JSON sidecar next to the file, named after it with
``.json`` added (``note.txt`` → ``note.txt.json``)::

    {"patient": "p123", "date": "2024-03-01", "type": "18842-5",
     "title": "Discharge summary", "id": "dis-2024-0042", "encounter": "enc-9",
     "author": "Practitioner/pr-7", "charset": "iso-8859-1", "status": "current"}

(only ``patient`` is required; ``type`` is a LOINC document type code, default 34109-9
"Note"; ``date`` a date or a timestamp with UTC offset) — or, without a sidecar, the
file name ``PATIENT_DATE[_TYPE][_anything].txt``, e.g. ``p123_2024-03-01_11506-3.txt``
(FHIR ids cannot contain ``_``, so the first field is always the whole patient id). A
note whose patient cannot be told this way goes to the quarantine with the reason.

**Keeping the text searchable.** The original is kept inline, base64 in
``content[0].attachment.data`` with its content type, size and SHA-1 hash (FHIR R4's
``Attachment.hash``). The note's text as UTF-8 is the content whose ``contentType`` is
``text/plain; charset=utf-8``: the original itself for UTF-8 text files, an added
second content for PDFs (text extracted with ``pypdf``) and for text in other charsets.
Inline rather than a separate ``Binary``: a note and its text are one resource, one
row, committed atomically, with no reference that can dangle; notes are small. A scanned
PDF without a text layer keeps its original only (no OCR here).

**Ids.** The sidecar's ``id`` if given (then an edited note is a new version of the same
document); otherwise a UUIDv5 of the patient and the original's SHA-256, so the same note
delivered twice is one document.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import orjson

from medlake.errors import InvalidRecord
from medlake.fhir.reading import Record, file_sha256, too_long
from medlake.ingest import Delivery
from medlake.landing import Landing
from medlake.sources.documents.files import file_envelope, find

LOINC = "http://loinc.org"
CATEGORY = {
    "coding": [
        {
            "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
            "code": "clinical-note",
            "display": "Clinical Note",
        }
    ]
}
#: Common LOINC document types (LOINC Document Ontology); other valid codes pass without a display.
DOCUMENT_TYPES = {
    "34109-9": "Note",
    "11506-3": "Progress note",
    "18842-5": "Discharge summary",
    "34117-2": "History and physical note",
    "11488-4": "Consult note",
    "28570-0": "Procedure note",
    "34111-5": "Emergency department note",
    "11504-8": "Surgical operation note",
    "57133-1": "Referral note",
    "18748-4": "Diagnostic imaging study",
    "11526-1": "Pathology study",
}
DEFAULT_TYPE = "34109-9"
CONTENT_TYPES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".pdf": "application/pdf",
}
TEXT_UTF8 = "text/plain; charset=utf-8"
NOTE_NAMESPACE = uuid.UUID("5d0c3f0e-8c43-5b7e-b1f7-6a2f1f6c9a21")
SIDECAR_KEYS = {"patient", "date", "type", "title", "id", "encounter", "author", "charset", "status"}
STATUSES = {"current", "superseded", "entered-in-error"}
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_LOINC_CODE = re.compile(r"^\d{1,7}-\d$")
_FILENAME = re.compile(
    r"^(?P<patient>[A-Za-z0-9\-.]{1,64})_(?P<date>\d{4}-\d{2}-\d{2}|\d{8})(?:_(?P<type>\d{1,7}-\d))?(?:_.*)?$"
)
#: ``ingest_max_resource_bytes``'s default: a larger note file is quarantined by name, size and hash.
MAX_NOTE_BYTES = 16 * 1024 * 1024
#: Quarantined PDFs are kept whole (base64) up to this size; larger ones are named by hash only.
KEEP_IN_QUARANTINE = 20 * 1024 * 1024


class NoteError(InvalidRecord):
    """A note that cannot become a DocumentReference; the text says why."""


@dataclass(frozen=True)
class NoteMeta:
    patient: str
    date: str | None = None
    type: str = DEFAULT_TYPE
    title: str | None = None
    id: str | None = None
    encounter: str | None = None
    author: str | None = None
    charset: str = "utf-8"
    status: str = "current"


def is_note(path: Path) -> bool:
    return path.suffix.lower() in CONTENT_TYPES


def _note_name(name: str) -> bool:
    return name.endswith(tuple(CONTENT_TYPES))


def _sidecar_name(name: str) -> bool:
    return name.endswith(".json") and _note_name(name.removesuffix(".json"))


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def note_fingerprint(path: Path) -> str:
    """The file's and its sidecar's bytes: either changing makes a new delivery (read in blocks)."""
    digest = file_sha256(path)
    sidecar = sidecar_of(path)
    if sidecar.exists():
        digest += file_sha256(sidecar)
    return hashlib.sha256(digest.encode()).hexdigest()


def note_landing(path: Path, *, follow_links_outside: bool = False) -> Landing:
    """The notes under ``path`` (sidecars are read with their note), and the files skipped."""
    return find(
        path,
        _note_name,
        ", ".join(CONTENT_TYPES) + " in any case, each with an optional NAME.json sidecar",
        follow_links_outside=follow_links_outside,
        companion=_sidecar_name,
    )


def note_files(path: Path) -> list[Path]:
    return note_landing(path).files


@dataclass(frozen=True)
class NoteRules:
    """What a note file may be: how large (``ingest_max_resource_bytes``), and whether its
    sidecar may be a link out of its folder (``ingest_follow_links_outside``)."""

    max_bytes: int = MAX_NOTE_BYTES
    follow_links_outside: bool = False


def note_deliveries(
    path: Path, institution: str, files: list[Path] | None = None, rules: NoteRules | None = None
) -> Iterator[Delivery]:
    """One delivery per note file (the pipeline groups small deliveries into shared commits)."""
    rules = rules or NoteRules()
    for file in files if files is not None else note_landing(path).files:
        yield Delivery(
            institution=institution,
            source_kind="notes",
            source_uri=str(file),
            fingerprint=note_fingerprint(file),
            read=lambda file=file: [note_record(file, rules)],
        )


def note_record(path: Path, rules: NoteRules | None = None) -> Record:
    rules = rules or NoteRules()
    size = path.stat().st_size
    if size > rules.max_bytes:
        reason = too_long("the note", size, rules.max_bytes, "ingest_max_resource_bytes")
        where = orjson.dumps({"file": str(path), "size": size, "sha256": file_sha256(path)})
        return Record(str(path), 1, where, error=reason, error_stage="read")
    data = path.read_bytes()
    try:
        _check_sidecar_place(path, rules)
        resource = document_reference(path, data, note_meta(path))
    except NoteError as exc:
        return Record(
            str(path), 1, _original_for_quarantine(path, data), error=str(exc), error_stage="convert"
        )
    return Record(str(path), 1, orjson.dumps(resource))


def _check_sidecar_place(path: Path, rules: NoteRules) -> None:
    """A sidecar that is a link out of the note's folder is not read (it could be any file)."""
    sidecar = sidecar_of(path)
    if rules.follow_links_outside or not sidecar.is_symlink():
        return
    folder, target = path.parent.resolve(), sidecar.resolve()
    if not target.is_relative_to(folder):
        raise NoteError(
            f"sidecar {sidecar.name} is a link to {target}, outside the landing folder {folder}: not read "
            "(setting ingest_follow_links_outside allows it)"
        )


def _original_for_quarantine(path: Path, data: bytes) -> bytes:
    if path.suffix.lower() != ".pdf":
        try:
            data.decode("utf-8")
            return data
        except UnicodeDecodeError:
            pass
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return file_envelope(path, data, content_type, keep_bytes=len(data) <= KEEP_IN_QUARANTINE)


def note_meta(path: Path) -> NoteMeta:
    """The sidecar's metadata, else the file name's; :class:`NoteError` if neither names the patient."""
    sidecar = sidecar_of(path)
    if sidecar.exists():
        return _from_sidecar(sidecar)
    match = _FILENAME.match(path.stem)
    if match is None:
        raise NoteError(
            f"cannot tell whose note this is: no sidecar {sidecar.name} and the file name does not "
            "follow PATIENT_DATE[_TYPE][_anything] (e.g. p123_2024-03-01_11506-3.txt)"
        )
    day = match["date"]
    if "-" not in day:
        day = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    return NoteMeta(patient=match["patient"], date=_checked_date(day), type=match["type"] or DEFAULT_TYPE)


def _from_sidecar(sidecar: Path) -> NoteMeta:
    try:
        fields = orjson.loads(sidecar.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise NoteError(f"sidecar {sidecar.name} is not JSON: {exc}") from None
    if not isinstance(fields, dict):
        raise NoteError(f"sidecar {sidecar.name} must hold a JSON object")
    unknown = sorted(set(fields) - SIDECAR_KEYS)
    if unknown:
        raise NoteError(f"sidecar {sidecar.name} has unknown keys {unknown}; known: {sorted(SIDECAR_KEYS)}")
    if any(not isinstance(value, str) for value in fields.values()):
        raise NoteError(f"sidecar {sidecar.name}: every value must be a string")
    patient = fields.get("patient", "").removeprefix("Patient/")
    if not _FHIR_ID.match(patient):
        raise NoteError(f"sidecar {sidecar.name}: 'patient' is missing or not a FHIR id: {patient!r}")
    doc_type = fields.get("type", DEFAULT_TYPE)
    if not _LOINC_CODE.match(doc_type):
        raise NoteError(f"sidecar {sidecar.name}: type {doc_type!r} is not a LOINC code such as 11506-3")
    doc_id = fields.get("id")
    if doc_id is not None and not _FHIR_ID.match(doc_id):
        raise NoteError(f"sidecar {sidecar.name}: id {doc_id!r} is not a FHIR id ([A-Za-z0-9-.], ≤ 64)")
    status = fields.get("status", "current")
    if status not in STATUSES:
        raise NoteError(f"sidecar {sidecar.name}: status {status!r} is not one of {sorted(STATUSES)}")
    return NoteMeta(
        patient=patient,
        date=_checked_date(fields["date"]) if "date" in fields else None,
        type=doc_type,
        title=fields.get("title"),
        id=doc_id,
        encounter=_reference("Encounter", fields.get("encounter"), sidecar),
        author=_reference("Practitioner", fields.get("author"), sidecar),
        charset=fields.get("charset", "utf-8"),
        status=status,
    )


def _reference(default_type: str, value: str | None, sidecar: Path) -> str | None:
    if value is None:
        return None
    resource_type, _, resource_id = value.rpartition("/")
    if not _FHIR_ID.match(resource_id) or (resource_type and not resource_type.isalpha()):
        raise NoteError(f"sidecar {sidecar.name}: {value!r} is not a reference like {default_type}/123")
    return f"{resource_type or default_type}/{resource_id}"


def _checked_date(value: str) -> str:
    """A FHIR date, or a timestamp with a UTC offset (FHIR wants one whenever there is a time)."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise NoteError(f"date {value!r} is neither YYYY-MM-DD nor an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise NoteError(f"date {value!r} has a time but no UTC offset")
    return moment.isoformat()


def note_text(path: Path, data: bytes, meta: NoteMeta) -> str:
    """The note's text: decoded for text files, extracted for PDFs."""
    if path.suffix.lower() == ".pdf":
        return pdf_text(data)
    try:
        return data.decode(meta.charset).removeprefix("\ufeff")
    except LookupError:
        raise NoteError(f"unknown charset {meta.charset!r}") from None
    except UnicodeDecodeError as exc:
        raise NoteError(
            f"not {meta.charset} text ({exc.reason} at byte {exc.start}): name the charset in the sidecar"
        ) from None


def pdf_text(data: bytes) -> str:
    """The PDF's text layer, page after page (pypdf: pure Python, no system libraries)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise NoteError("encrypted PDF: its text cannot be read without the password")
        return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages).strip()
    except NoteError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise NoteError(f"unreadable PDF: {exc}") from None


def _attachment(content_type: str, data: bytes, title: str, created: str | None) -> dict:
    attachment = {
        "contentType": content_type,
        "data": base64.b64encode(data).decode(),
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # R4 Attachment.hash is SHA-1
        "title": title,
    }
    if created:
        attachment["creation"] = created
    return attachment


def document_reference(path: Path, data: bytes, meta: NoteMeta) -> dict:
    if not data:
        raise NoteError("empty file: a note with no content is not a document (R4 has no empty attachment)")
    text = note_text(path, data, meta)
    content_type = CONTENT_TYPES[path.suffix.lower()]
    if content_type.startswith("text/") and not text.strip():
        raise NoteError(f"the note holds no text ({len(data)} bytes of white space only)")
    if content_type.startswith("text/"):
        content_type += f"; charset={meta.charset.lower()}"
    content = [{"attachment": _attachment(content_type, data, path.name, meta.date)}]
    if content_type != TEXT_UTF8 and text:
        content.append(
            {"attachment": _attachment(TEXT_UTF8, text.encode(), f"text of {path.name}", meta.date)}
        )
    doc_id = meta.id or str(uuid.uuid5(NOTE_NAMESPACE, f"{meta.patient}\0{hashlib.sha256(data).hexdigest()}"))
    coding = {"system": LOINC, "code": meta.type}
    if meta.type in DOCUMENT_TYPES:
        coding["display"] = DOCUMENT_TYPES[meta.type]
    resource: dict = {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": meta.status,
        "type": {"coding": [coding]},
        "category": [CATEGORY],
        "subject": {"reference": f"Patient/{meta.patient}"},
    }
    if meta.date and "T" in meta.date:
        resource["date"] = meta.date  # an instant: only when the time of day is known
    if meta.author:
        resource["author"] = [{"reference": meta.author}]
    resource["description"] = meta.title or path.stem
    resource["content"] = content
    context: dict = {}
    if meta.encounter:
        context["encounter"] = [{"reference": meta.encounter}]
    if meta.date:
        context["period"] = {"start": meta.date}
    if context:
        resource["context"] = context
    return resource
