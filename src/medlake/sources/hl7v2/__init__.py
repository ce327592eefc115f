"""HL7 v2 source: files, batches and a live MLLP listener → FHIR R4 in the raw layer.

    reports = ingest_hl7_path(workspace, Path("inbox/adt"), "hosp-north", tz="Europe/Paris")
    conversion = convert_message(message_bytes)   # .resources, .failures, .ack_code, .reason

See ``docs/sources.md`` for the mapping, the ids and the acknowledgement rules.
"""

from medlake.sources.hl7v2.ack import build_ack
from medlake.sources.hl7v2.convert import (
    BINARY_CONTENT_TYPE,
    DEFAULT_TIMEZONE,
    MessageConversion,
    convert_chunk,
    convert_message,
)
from medlake.sources.hl7v2.files import (
    conversions,
    find_hl7_files,
    hl7_file_delivery,
    ingest_hl7_path,
    read_hl7_records,
)
from medlake.sources.hl7v2.framing import Chunk, split_messages
from medlake.sources.hl7v2.listener import Hl7Listener, ListenerStats, serve
from medlake.sources.hl7v2.source import Hl7Files
from medlake.sources.hl7v2.structure import SUPPORTED

__all__ = [
    "BINARY_CONTENT_TYPE",
    "DEFAULT_TIMEZONE",
    "SUPPORTED",
    "Chunk",
    "Hl7Files",
    "Hl7Listener",
    "ListenerStats",
    "MessageConversion",
    "build_ack",
    "conversions",
    "convert_chunk",
    "convert_message",
    "find_hl7_files",
    "hl7_file_delivery",
    "ingest_hl7_path",
    "read_hl7_records",
    "serve",
    "split_messages",
]
