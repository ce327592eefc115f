"""Kind name → source class, for ``medlake sync`` and ``medlake sources add``.

Kinds are imported lazily so a missing optional dependency (say, an MQTT client) only
matters to the regions that use that kind.
"""

from __future__ import annotations

import importlib

from medlake.errors import InputError
from medlake.sources.base import SourceKind

#: kind → "module:Class"
KINDS: dict[str, str] = {
    "fhir": "medlake.sources.fhir_files:FhirFiles",
    "csv": "medlake.sources.tabular.source:CsvFiles",
    "excel": "medlake.sources.tabular.source:ExcelFiles",
    "sql": "medlake.sources.database.source:SqlDatabase",
    "hl7": "medlake.sources.hl7v2.source:Hl7Files",
    "mqtt": "medlake.sources.devices.source:MqttDevices",
    "notes": "medlake.sources.documents.source:NotesFolder",
    "dicom": "medlake.sources.documents.source:DicomFolder",
}


def source_kind(kind: str) -> SourceKind:
    if kind not in KINDS:
        raise InputError(f"unknown source kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")
    module_name, class_name = KINDS[kind].split(":")
    return getattr(importlib.import_module(module_name), class_name)()
