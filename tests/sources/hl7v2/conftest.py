"""Fixtures and helpers for the HL7 v2 source: the corpus, the lake's rows, an MLLP client."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import orjson

from medlake.lake.tables import QUARANTINE, RAW_RESOURCES, Layer
from medlake.workspace import Workspace

CORPUS = Path(__file__).with_name("corpus")
SAMPLES = "reference/hl7v2-samples"
START, END = b"\x0b", b"\x1c\r"


def raw_rows(ws: Workspace) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, RAW_RESOURCES))
    return [] if table is None else table.to_pylist()


def quarantine_rows(ws: Workspace) -> list[dict]:
    table = ws.lake.read(ws.lake.uri(Layer.RAW, QUARANTINE))
    return (
        []
        if table is None
        else table.sort_by([("source_file", "ascending"), ("line", "ascending")]).to_pylist()
    )


def resources(ws: Workspace, resource_type: str | None = None) -> list[dict]:
    rows = raw_rows(ws)
    return [orjson.loads(r["resource"]) for r in rows if resource_type in (None, r["resource_type"])]


def stored_messages(ws: Workspace) -> list[bytes]:
    """The original messages kept in the raw layer (the Binary resources), decoded."""
    return [base64.b64decode(b["data"]) for b in resources(ws, "Binary")]


def mllp_send(sock: socket.socket, message: bytes) -> bytes:
    """Send one MLLP frame and return the answer's content (blocking, as a sender does)."""
    sock.sendall(START + message + END)
    return mllp_read(sock)


def mllp_read(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(END):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
    assert data.startswith(START), data
    return data[1:-2]


def ack_fields(ack: bytes) -> dict[str, list[str]]:
    """Segment id → fields (index = HL7 field number) of an ACK."""
    out = {}
    for segment in ack.decode().split("\r"):
        if segment:
            fields = segment.split("|")
            if fields[0] == "MSH":
                fields.insert(1, "|")
            out[fields[0]] = fields
    return out
