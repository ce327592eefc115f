"""Unstructured data: clinical notes → ``DocumentReference``, DICOM headers → ``ImagingStudy``.

* :mod:`.notes` — text and PDF notes, patient from a JSON sidecar or the file name.
* :mod:`.dicom` — DICOM files grouped by study; metadata only, files referenced in place.
* :mod:`.ingest` — :func:`ingest_notes`, :func:`ingest_dicom` (``medlake ingest notes|dicom``).
* :mod:`.source` — the ``notes`` and ``dicom`` kinds of ``medlake sync``, incremental by file.
"""

from medlake.sources.documents.ingest import ingest_dicom, ingest_notes

__all__ = ["ingest_dicom", "ingest_notes"]
