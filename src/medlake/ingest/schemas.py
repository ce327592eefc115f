"""Arrow schemas of the raw layer's tables."""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

RAW_RESOURCES = pa.schema(
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

QUARANTINE = pa.schema(
    [
        pa.field("institution", pa.string(), nullable=False),
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string(), nullable=False),
    ]
)
