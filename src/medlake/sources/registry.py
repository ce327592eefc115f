"""Kind name → source class, for ``medlake sync`` and ``medlake sources add``.

Kinds are imported lazily so a missing optional dependency (say, an MQTT client) only
matters to the regions that use that kind.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from medlake.errors import InputError, MissingInput

if TYPE_CHECKING:  # the kinds' modules (and the ingest they use) load only when a kind is used
    from medlake.sources.base import SourceConfig, SourceKind

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


def checked_source(source: SourceConfig) -> SourceConfig:
    """``source`` as it should be registered, or the :class:`InputError` ``sync`` would meet later.

    Checks what can be checked without connecting anywhere: the kind, a local location that
    exists (kept as an absolute path, so a later ``sync`` from another folder finds it), a
    mapping where the kind needs one (readable, and kept absolute when it is a file) and none
    where it does not, option names the kind reads, then the kind's own checks (values of
    options, the mapping's contents)."""
    kind = source_kind(source.kind)
    unknown = sorted(set(source.options) - kind.option_names)
    if unknown:
        raise InputError(_unknown_options(source.kind, unknown, kind.option_names))
    location = source.location
    if kind.location_is_path:
        path = Path(location).expanduser()
        if not path.exists():
            raise MissingInput(
                f"no such file or folder: {location} (the location of {_a(source.kind)} source)"
            )
        location = str(path.resolve())
    mapping = source.mapping
    if kind.needs_mapping and not mapping:
        raise InputError(
            f"{_a(source.kind)} source needs a mapping: --mapping FILE (a mapping YAML) or the name of a "
            "shipped mapping"
        )
    if not kind.needs_mapping and mapping:
        raise InputError(f"{_a(source.kind)} source takes no mapping (only csv, excel and sql do)")
    if mapping and Path(mapping).expanduser().is_file():
        mapping = str(Path(mapping).expanduser().resolve())
    checked = replace(source, location=location, mapping=mapping)
    kind.check(checked)
    return checked


def _unknown_options(kind: str, unknown: list[str], known: frozenset[str]) -> str:
    if not known:
        return f"{_a(kind)} source takes no options (got {', '.join(unknown)})"
    close = difflib.get_close_matches(unknown[0], known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"{_a(kind)} source has no option {unknown[0]!r}{hint}; its options: {', '.join(sorted(known))}"


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiouh' else 'a'} {kind}"
