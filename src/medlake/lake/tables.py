"""The lake's layers, and the raw layer's tables: their names and Arrow schemas in one place.

Every layer after raw is built from these two tables, and the ingest path writes them, so
the lake (below both) owns their definition.
"""

from __future__ import annotations

from enum import StrEnum

import pyarrow as pa


class Layer(StrEnum):
    """The lake's layers, in the order data flows through them."""

    RAW = "raw"
    INTEGRATED = "integrated"
    WAREHOUSE = "warehouse"
    MARTS = "marts"


def table_location(layer: Layer | str, name: str) -> str:
    """Where table ``name`` of ``layer`` lives, relative to the lake root: ``<layer>/<name>``.

    The catalog records this, never an absolute URI, and a workspace resolves it against the
    lake it is configured with (:meth:`medlake.lake.Lake.resolve`): a copied or moved workspace
    then reads its own tables, not those of the folder it was copied from.
    """
    return f"{Layer(layer).value}/{name}"


def checked_location(location: str) -> str:
    """``location`` if it is a path inside the lake; an absolute path, a URI or a ``..`` is refused.

    A catalog row must never point a workspace at another lake's files.
    """
    parts = location.split("/")
    if not location or "://" in location or location.startswith(("/", "\\")) or ".." in parts or "" in parts:
        raise ValueError(
            f"a table location is a path inside the lake, relative to its root (e.g. 'warehouse/patient'), "
            f"not {location!r}"
        )
    return location


TIMESTAMP = pa.timestamp("us", tz="UTC")

#: Every received resource as sent, with batch, source file, line and content hash.
RAW_RESOURCES = "resources"
RAW_RESOURCES_SCHEMA = pa.schema(
    [
        pa.field("institution", pa.string(), nullable=False),
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("resource_type", pa.string(), nullable=False),
        pa.field("resource_id", pa.string(), nullable=False),
        pa.field("version_id", pa.string()),
        pa.field("last_updated", TIMESTAMP),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("refs", pa.list_(pa.string())),
        pa.field("identifiers", pa.list_(pa.string())),
        pa.field("resource", pa.string(), nullable=False),
    ]
)

#: Every rejected record with its stage, reason and raw text. ``raw_encoding`` says how ``raw``
#: holds the original: null for text as received, ``base64`` for bytes that are not UTF-8 (kept
#: exactly rather than as a lossy decoding). Workspaces from before it have no such column:
#: their rows read as null (text), and the first append adds the column (schema merge).
QUARANTINE = "quarantine"
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("institution", pa.string(), nullable=False),
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string(), nullable=False),
        pa.field("raw_encoding", pa.string()),
    ]
)

#: The raw layer's tables and what the catalog says of each.
RAW_TABLES = {
    RAW_RESOURCES: "every received resource as sent, with batch, source file, line and content hash",
    QUARANTINE: "every rejected record with its stage, reason and raw text",
}
