"""Which device is at which patient's bedside: the registry of FHIR ``Device`` resources.

Bedside monitors rarely know whose vital signs they measure; the hospital knows, because a
nurse associates the monitor with the admitted patient. FHIR R4 records that association as
``Device.patient``. The registry is built from the institution's own ``Device`` resources,
either already ingested into the raw layer (the usual case: they arrive like any other
FHIR data) or from an NDJSON/Bundle file, and looks a device up by its resource id or by
any of its identifiers (a monitor usually reports its serial number, not a FHIR id).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import orjson
import pyarrow.dataset as pads

from medlake.errors import InputError
from medlake.fhir.instants import ranked_instants
from medlake.fhir.reading import read_records
from medlake.ingest.delivery import find_files
from medlake.lake.tables import RAW_RESOURCES, Layer
from medlake.workspace import Workspace

#: Devices in these states no longer speak for a patient.
_RETIRED = {"entered-in-error", "inactive"}


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    id: str
    patient: str | None  # a reference such as "Patient/123", or None if not at a bedside


class DeviceRegistry:
    """Device id or identifier value → the device and the patient it is associated with."""

    def __init__(self, devices: Iterable[dict]) -> None:
        self._by_id: dict[str, RegisteredDevice] = {}
        by_identifier: dict[str, set[RegisteredDevice]] = {}
        for resource in devices:
            device_id = resource.get("id")
            if resource.get("resourceType") != "Device" or not isinstance(device_id, str):
                continue
            if resource.get("status") in _RETIRED:
                continue
            patient = (resource.get("patient") or {}).get("reference")
            entry = RegisteredDevice(device_id, patient if isinstance(patient, str) else None)
            self._by_id[device_id] = entry
            for identifier in resource.get("identifier") or []:
                value = identifier.get("value") if isinstance(identifier, dict) else None
                if isinstance(value, str):
                    by_identifier.setdefault(value, set()).add(entry)
        # an identifier two devices share names neither: better quarantined than misattributed
        self._by_identifier = {k: next(iter(v)) for k, v in by_identifier.items() if len(v) == 1}

    def __len__(self) -> int:
        return len(self._by_id)

    def lookup(self, key: str) -> RegisteredDevice | None:
        key = key.removeprefix("Device/")
        return self._by_id.get(key) or self._by_identifier.get(key)

    @classmethod
    def from_file(cls, path: Path) -> DeviceRegistry:
        """Devices from FHIR NDJSON files or Bundles (a file or a folder of them)."""
        resources = []
        for file in find_files(Path(path)):
            for record in read_records(file):
                if record.error is not None:
                    raise InputError(f"device registry {file}, line {record.line}: {record.error}")
                try:
                    resources.append(orjson.loads(record.text))
                except orjson.JSONDecodeError as exc:
                    raise InputError(
                        f"device registry {file}, line {record.line}: malformed JSON: {exc}"
                    ) from None
        return cls(resources)

    @classmethod
    def from_lake(cls, workspace: Workspace, institution: str) -> DeviceRegistry:
        """The current version of every ``Device`` the institution has delivered to the raw layer.

        "Current" follows the integrated layer's rule (later ``meta.lastUpdated``, one too far
        after its arrival distrusted, then higher ``versionId``, then later batch and line), so a
        device moved to another bed takes effect as soon as its updated resource is ingested,
        without waiting for a build.
        """
        dataset = workspace.lake.dataset(workspace.lake.uri(Layer.RAW, RAW_RESOURCES))
        if dataset is None:
            return cls([])
        rows = dataset.to_table(
            columns=["resource_id", "last_updated", "version_id", "received_at", "line", "resource"],
            filter=(pads.field("institution") == institution) & (pads.field("resource_type") == "Device"),
        ).to_pylist()
        tolerance = timedelta(seconds=workspace.settings.last_updated_tolerance)
        versions: dict[str, list[dict]] = {}
        for row in rows:
            versions.setdefault(row["resource_id"], []).append(row)
        current = []
        for same in versions.values():
            keys = [(r["last_updated"], r["received_at"], r["line"]) for r in same]
            ranked = ranked_instants(keys, tolerance)
            current.append(max(zip(ranked, same, strict=True), key=_version_order)[1])
        return cls(orjson.loads(row["resource"]) for row in current)


def _version_order(ranked_row: tuple) -> tuple:
    updated, row = ranked_row
    version = row["version_id"]
    numeric = int(version) if isinstance(version, str) and version.isdigit() else -1
    return (updated is not None, updated or row["received_at"], numeric, row["received_at"], row["line"])
