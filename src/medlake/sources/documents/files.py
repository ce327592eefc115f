"""What notes and DICOM share: folders of files, deliveries made of converted records, sync state.

A converted delivery is fingerprinted by what it converts to (plus, for files, the bytes
it came from), so the same files ingested again are recognised batch by batch and add
nothing, and a changed sidecar or header makes a new batch even if the file did not move.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from pathlib import Path

import orjson

from medlake.fhir.reading import Record
from medlake.ingest import Delivery
from medlake.landing import Landing, NameTest, scan


def find(
    path: Path,
    takes: NameTest,
    expected: str,
    *,
    follow_links_outside: bool = False,
    companion: NameTest | None = None,
) -> Landing:
    """Files under ``path`` (or ``path`` itself) whose lower-cased name ``takes`` accepts, in a
    stable order, and the files skipped with the reason (links out of the folder among them)."""
    return scan(
        Path(path), takes, expected=expected, follow_links_outside=follow_links_outside, companion=companion
    )


def records_delivery(institution: str, kind: str, source_uri: str, records: list[Record]) -> Delivery:
    """A delivery of records converted already; its fingerprint is their content."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(orjson.dumps([record.source_file, record.line, record.error, record.error_stage]))
        digest.update(hashlib.sha256(record.text).digest())
    return Delivery(institution, kind, source_uri, digest.hexdigest(), lambda: records)


def file_envelope(path: Path, data: bytes, content_type: str, *, keep_bytes: bool) -> bytes:
    """A binary file as quarantine text: name, size and SHA-256, and (if small enough to keep) base64.

    The quarantine's raw column is text, so binary originals are wrapped rather than
    decoded into mojibake; DICOM files are never copied (their pixels stay out of the lake).
    """
    envelope: dict = {
        "file": str(path),
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "contentType": content_type,
    }
    if keep_bytes:
        envelope["data"] = base64.b64encode(data).decode()
    return orjson.dumps(envelope)


def relative_name(file: Path, root: Path) -> str:
    return file.name if root.is_file() else file.relative_to(root).as_posix()


class FolderState:
    """Per-file fingerprints a folder source has ingested, kept in the catalog between syncs.

    Updated only after the batches covering the files are committed (see ``SourceKind``);
    a crash in between means those files are read again and de-duplicated.
    """

    KEY = "files"

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values

    @classmethod
    def load(cls, catalog, source_id: str) -> FolderState:  # type: ignore[no-untyped-def]
        text = catalog.get_state(source_id, cls.KEY)
        return cls(orjson.loads(text) if text else {})

    def save(self, catalog, source_id: str) -> None:  # type: ignore[no-untyped-def]
        catalog.set_state(
            source_id, self.KEY, orjson.dumps(self.values, option=orjson.OPT_SORT_KEYS).decode()
        )

    def changed(self, current: dict[str, object]) -> set[str]:
        return {name for name, value in current.items() if self.values.get(name) != value}

    def removed(self, current: Iterable[str]) -> set[str]:
        return set(self.values) - set(current)
