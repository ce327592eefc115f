"""Data-quality warnings: what was stored, but not quite as it was sent.

A quarantined record is not stored; a record with a warning is, and the warning says what about
it a data engineer should know. Two kinds are found in the raw layer:

* warnings a source wrote into the resource it converted (``fhir.quality``: a ``meta.tag``),
  such as an HL7 report stored with status ``unknown`` because OBR-25 was empty, or the keys of
  a device payload that have no place in the Observation;
* versions whose ``meta.lastUpdated`` lies more than ``last_updated_tolerance`` seconds after
  they arrived (a sender's clock set wrong): the integrated layer ranks them by their arrival
  instead, as the newest of the versions received before them (``build.integrated``). These
  are computed from the raw layer's key columns under the current setting, so they always
  describe the ordering the next build applies.

Neither kind is counted as quarantined: the record is stored, and received = stored +
quarantined + duplicates holds as before. ``medlake quarantine --warnings`` prints them.
"""

from __future__ import annotations

from datetime import timedelta

import orjson

from medlake.fhir.quality import SYSTEM, warnings_of
from medlake.lake.scan import scanned
from medlake.lake.tables import RAW_RESOURCES, Layer
from medlake.workspace import Workspace

CLOCK = "clock"
_PLACE = "institution, batch_id, source_file, line, received_at, resource_type, resource_id"


def data_quality_warnings(
    workspace: Workspace, institution: str | None = None, batch: str | None = None
) -> list[dict]:
    """Every warning on the raw layer's rows (of one institution or batch), in arrival order:
    where the row came from, ``kind`` (``defaulted``, ``unmapped``, ``clock``) and ``warning``."""
    lake = workspace.lake
    uri = lake.uri(Layer.RAW, RAW_RESOURCES)
    table = lake.table(uri)
    if table is None:
        return []
    tolerance = workspace.settings.last_updated_tolerance
    found: list[dict] = []
    with workspace.engine() as engine:
        d = engine.dialect
        with scanned(engine, "raw", uri, table):
            where = []
            if institution is not None:
                where.append(f"institution = {d.string_literal(institution)}")
            if batch is not None:
                where.append(f"batch_id = {d.string_literal(batch)}")
            scope = "".join(f" AND {w}" for w in where)
            tagged = engine.sql(
                f"SELECT {_PLACE}, resource FROM raw "
                f"WHERE {d.strpos('resource', d.string_literal(SYSTEM))} > 0{scope}"
            ).to_pylist()
            late = engine.sql(
                f"SELECT {_PLACE}, last_updated FROM raw "
                f"WHERE last_updated > {d.plus_seconds('received_at', tolerance)}{scope}"
            ).to_pylist()
    for row in tagged:
        resource = orjson.loads(row.pop("resource"))
        found.extend(row | {"kind": code, "warning": text} for code, text in warnings_of(resource))
    for row in late:
        updated = row.pop("last_updated")
        ahead = updated - row["received_at"]
        text = (
            f"meta.lastUpdated {updated.isoformat()} is {_duration(ahead)} after the version arrived "
            f"({row['received_at'].isoformat()}), beyond the {tolerance} s tolerance "
            "(last_updated_tolerance): not trusted, the version ranks as the newest of those received "
            "before it, so a later version dated after them replaces it"
        )
        found.append(row | {"kind": CLOCK, "warning": text})
    return sorted(found, key=lambda w: (w["received_at"], w["source_file"], w["line"], w["kind"]))


def _duration(delta: timedelta) -> str:
    if delta.days >= 365:
        return f"{delta.days / 365.25:.1f} years"
    if delta.days:
        return f"{delta.days} days"
    return f"{delta.seconds // 60} minutes"
