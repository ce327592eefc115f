"""Cutting received bytes into HL7 v2 messages, before any parsing.

What arrives from hospitals is rarely one clean message: files hold many messages, may be
MLLP-framed (``0x0B … 0x1C 0x0D``) because they were captured off the wire, may be
batches (``FHS``/``BHS`` … ``BTS``/``FTS``), start with a byte-order mark, and end their
segments with CR, CRLF or LF depending on the editor that last touched them. This module
turns all of that into a list of :class:`Chunk`: one per message, with its segments
joined by CR (the standard terminator), or one per piece of input that is *not* a
message (bytes outside a frame, segments before any ``MSH``, a batch whose trailer count
does not match), so that nothing is silently dropped and the rest of the input proceeds.

A message header that starts in the middle of a segment means the previous message was
cut off (a truncated write followed by the next message); the two are separated here and
the first is marked truncated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\r"
UTF8_BOM = b"\xef\xbb\xbf"
ENVELOPE_HEADERS = {b"FHS", b"BHS"}
ENVELOPE_TRAILERS = {b"FTS", b"BTS"}
#: An MSH segment: its id, a field separator, 2-5 encoding characters and the separator again.
_EMBEDDED_MSH = re.compile(rb"MSH([^A-Za-z0-9\s])[^A-Za-z0-9\s]{2,5}\1")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One message as found in the input, or a piece of input that is not a message.

    ``number`` is its 1-based position among the chunks of the input (the ``line`` of
    the records it becomes). ``text`` holds the segments, each ended by CR; for a non-message
    it is the offending input itself. ``error`` says why a chunk is not a usable message
    (``truncated`` is set when the message is known to be cut off).
    """

    number: int
    text: bytes
    error: str | None = None
    truncated: str | None = None


def split_messages(data: bytes) -> list[Chunk]:
    """Every message (and every piece of non-message input) in ``data``, in order."""
    data = _strip_bom(data)
    pieces = _frames(data) if START_BLOCK in data else [(data, None)]
    chunks: list[Chunk] = []
    for payload, error in pieces:
        if error is not None:
            chunks.append(Chunk(len(chunks) + 1, payload, error=error))
            continue
        for text, piece_error, truncated in _messages_in(payload):
            chunks.append(Chunk(len(chunks) + 1, text, error=piece_error, truncated=truncated))
    return chunks


def _strip_bom(data: bytes) -> bytes:
    if data.startswith(UTF8_BOM):
        return data[len(UTF8_BOM) :]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 export from a Windows tool
        return data.decode("utf-16").encode("utf-8")
    return data


def _frames(data: bytes) -> list[tuple[bytes, str | None]]:
    """MLLP frames as ``(payload, None)``; stray or unterminated input as ``(bytes, reason)``."""
    pieces: list[tuple[bytes, str | None]] = []
    position = 0
    while position < len(data):
        start = data.find(START_BLOCK, position)
        if start < 0:
            start = len(data)
        stray = data[position:start]
        if stray.strip(b" \t\r\n\x00"):
            pieces.append((stray, "bytes outside an MLLP frame (no 0x0B start block before them)"))
        if start >= len(data):
            break
        end = data.find(END_BLOCK, start + 1)
        if end < 0:
            pieces.append(
                (
                    data[start + 1 :],
                    "truncated: MLLP frame not closed (no 0x1C end block before end of input)",
                )
            )
            break
        pieces.append((data[start + 1 : end], None))
        position = end + 1
        if data[position : position + 1] == CARRIAGE_RETURN:
            position += 1
    return pieces


def segments_of(payload: bytes) -> list[bytes]:
    """Non-blank segments of ``payload`` whatever its line ends (CR, CRLF or LF)."""
    normalised = payload.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    segments = []
    for raw in normalised.split(b"\r"):
        segment = raw.lstrip(b" \t\x00")
        if segment.startswith(UTF8_BOM):  # concatenated files each bring their own BOM
            segment = segment[len(UTF8_BOM) :]
        if segment.strip():
            segments.append(segment)
    return segments


def _split_embedded_headers(segments: list[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Segments, with any ``MSH`` that begins mid-segment split off; True marks a cut segment."""
    for segment in segments:
        rest = segment
        while True:
            match = _EMBEDDED_MSH.search(rest, 1)
            if match is None:
                yield rest, False
                break
            yield rest[: match.start()], True
            rest = rest[match.start() :]


def _messages_in(payload: bytes) -> Iterator[tuple[bytes, str | None, str | None]]:
    """``(text, error, truncated)`` per message or non-message run in one payload."""
    current: list[bytes] = []
    truncated: str | None = None
    orphans: list[bytes] = []
    batch_messages = 0
    file_batches = 0
    separator = b"|"

    def flush() -> Iterator[tuple[bytes, str | None, str | None]]:
        nonlocal current, truncated
        if current:  # every segment ends with CR, the last included, as on the wire
            yield CARRIAGE_RETURN.join(current) + CARRIAGE_RETURN, None, truncated
        current, truncated = [], None

    def flush_orphans() -> Iterator[tuple[bytes, str | None, str | None]]:
        nonlocal orphans
        if orphans:
            reason = f"{len(orphans)} segment(s) before any MSH: the message header is missing"
            yield CARRIAGE_RETURN.join(orphans) + CARRIAGE_RETURN, reason, None
        orphans = []

    for segment, cut in _split_embedded_headers(segments_of(payload)):
        name = segment[:3]
        if name in ENVELOPE_HEADERS:
            yield from flush_orphans()
            yield from flush()
            separator = segment[3:4] or b"|"
            if name == b"BHS":
                batch_messages = 0
                file_batches += 1
            continue
        if name in ENVELOPE_TRAILERS:
            yield from flush_orphans()
            yield from flush()
            expected = _count_field(segment, separator)
            found = batch_messages if name == b"BTS" else file_batches
            if expected is not None and expected != found:
                what = "messages" if name == b"BTS" else "batches"
                reason = (
                    f"{name.decode()}-1 says {expected} {what} but {found} were found: "
                    "the batch is incomplete or its trailer is wrong"
                )
                yield segment, reason, None
            continue
        if name == b"MSH":
            yield from flush_orphans()
            yield from flush()
            batch_messages += 1
            current = [segment]
        elif current:
            current.append(segment)
        else:
            orphans.append(segment)
        if cut:
            truncated = (
                f"the next message header begins inside segment {segment[:3].decode(errors='replace')}: "
                "this message is truncated"
            )
    yield from flush_orphans()
    yield from flush()


def _count_field(trailer: bytes, separator: bytes) -> int | None:
    """BTS-1 / FTS-1 as an integer, or None when absent or not a number."""
    fields = trailer.split(separator)
    if len(fields) < 2 or not fields[1].strip().isdigit():
        return None
    return int(fields[1].strip())
