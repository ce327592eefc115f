"""From one message's bytes to a parsed message, or a precise reason why not.

Parsing is done by python-hl7 (``hl7.parse``), which honours the message's own encoding
characters (MSH-1/MSH-2, so ``MSH*#%!@*…`` works like ``MSH|^~\\&|…``). Around it this
module decodes the text in the character set MSH-18 declares, reads the header, and
decides whether the message can be taken at all: the acknowledgement code follows HL7
table 0008 — *AR* when the message cannot be read or is of a type, event or version this
receiver does not process (a matter for the interface, not the data), *AE* when it was
read but its content is wrong (structure, required parts, values): the sender must correct
it. Only the segments the converter maps are handed to python-hl7; the rest are kept
verbatim in the stored message (a ``Binary``) and are not worth the parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import hl7

from medlake.errors import InvalidRecord
from medlake.fhir.primitives import CONTROL
from medlake.sources.hl7v2.escapes import Delimiters, unescape
from medlake.sources.hl7v2.segments import Segment

#: Segments the converter reads; everything else is preserved in the Binary only.
MAPPED_SEGMENTS = frozenset({"MSH", "EVN", "PID", "PV1", "PV2", "MRG", "ORC", "OBR", "OBX", "NTE"})
#: MSH-18 values (HL7 table 0211) → Python codecs. Empty means ASCII, read here as UTF-8.
CHARSETS = {
    "": "utf-8",
    "ASCII": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "UNICODE": "utf-8",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/3": "iso8859-3",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/6": "iso8859-6",
    "8859/7": "iso8859-7",
    "8859/8": "iso8859-8",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
}
_VERSION = re.compile(r"^2\.[1-8](\.\d+)?$")
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{2}$")


class MessageRejected(InvalidRecord):
    """The whole message cannot be taken.

    ``stage`` is the quarantine stage (``parse`` or ``structure``), ``ack_code`` the
    MSA-1 answer (AR or AE) and ``error_code`` the HL7 table 0357 code for the ERR segment.
    """

    def __init__(self, reason: str, *, stage: str, ack_code: str, error_code: str) -> None:
        super().__init__(reason)
        self.reason, self.stage, self.ack_code, self.error_code = reason, stage, ack_code, error_code


@dataclass(frozen=True)
class Header:
    """MSH, raw fields by MSH number (for echoing into the ACK) plus the values decisions need."""

    fields: tuple[str, ...]
    delimiters: Delimiters

    def raw(self, number: int) -> str:
        return self.fields[number] if number < len(self.fields) else ""

    def component(self, number: int, component: int = 1) -> str:
        parts = self.raw(number).split(self.delimiters.repetition)[0].split(self.delimiters.component)
        value = parts[component - 1] if component <= len(parts) else ""
        return unescape(value.split(self.delimiters.subcomponent)[0], self.delimiters).strip()

    @property
    def message_type(self) -> str:
        return self.component(9, 1)

    @property
    def trigger(self) -> str:
        return self.component(9, 2)

    @property
    def control_id(self) -> str:
        return self.component(10)

    @property
    def timestamp(self) -> str:
        return self.component(7)

    @property
    def version(self) -> str:
        return self.component(12)

    @property
    def sending_application(self) -> str:
        return self.component(3)

    @property
    def sending_facility(self) -> str:
        return self.component(4)

    @property
    def kind(self) -> str:
        """``ADT^A01`` style, for messages and reasons."""
        return f"{self.message_type}^{self.trigger}" if self.trigger else self.message_type


@dataclass(frozen=True)
class ParsedMessage:
    """A message that could be read: its header, every segment id in order, the mapped segments."""

    header: Header
    segment_ids: tuple[str, ...]  # every segment, including unmapped and Z-segments
    segments: tuple[Segment, ...]  # the mapped ones, with their positions in the message
    text: bytes  # the message as received, each segment ended by CR

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]


def read_header(text: bytes) -> Header:
    """The MSH of ``text`` (bytes, any charset); raises :class:`MessageRejected` if there is none."""
    first = text.split(b"\r", 1)[0]
    if not first.startswith(b"MSH"):
        shown = first[:3].decode("latin-1") or "nothing"
        raise MessageRejected(
            f"the message does not start with an MSH segment (it starts with {shown!r})",
            stage="parse",
            ack_code="AR",
            error_code="100",
        )
    if len(first) < 8:
        raise MessageRejected(
            "MSH is too short to declare its field separator and encoding characters",
            stage="parse",
            ack_code="AR",
            error_code="100",
        )
    line = first.decode("latin-1")  # MSH is ASCII up to MSH-18; this only locates fields
    separator = line[3]
    parts = line.split(separator)
    encoding = parts[1]
    if not 2 <= len(encoding) <= 5 or separator in encoding or any(c.isalnum() for c in encoding):
        raise MessageRejected(
            f"MSH-2 {encoding!r} is not a set of encoding characters",
            stage="parse",
            ack_code="AR",
            error_code="100",
        )
    fields = ("MSH", separator, *parts[1:])
    charset_name = (
        fields[18].split(encoding[1] if len(encoding) > 1 else "~")[0].strip() if len(fields) > 18 else ""
    )
    codec = CHARSETS.get(charset_name.upper())
    if codec is None:
        raise MessageRejected(
            f"MSH-18 character set {charset_name!r} is not supported "
            f"(supported: {', '.join(sorted(k for k in CHARSETS if k))} or empty)",
            stage="parse",
            ack_code="AR",
            error_code="203",
        )
    try:
        decoded = first.decode(codec)
    except UnicodeDecodeError as exc:
        raise _undecodable(exc, charset_name) from None
    decoded_parts = decoded.split(separator)
    return Header(("MSH", separator, *decoded_parts[1:]), Delimiters.from_msh(separator, encoding, codec))


def parse_message(
    text: bytes, *, supported: set[tuple[str, str]], truncated: str | None = None
) -> ParsedMessage:
    """Parse one message; raises :class:`MessageRejected` with the reason when it cannot be taken."""
    header = read_header(text)
    if len(header.fields) < 13:
        raise MessageRejected(
            f"MSH has {len(header.fields) - 1} fields but at least 12 (up to MSH-12, the version) are "
            "required: the message is truncated or corrupt",
            stage="parse",
            ack_code="AR",
            error_code="101",
        )
    if not header.message_type or not header.trigger:
        raise MessageRejected(
            f"MSH-9 {header.raw(9)!r} does not give a message type and trigger event",
            stage="parse",
            ack_code="AR",
            error_code="200",
        )
    if (header.message_type, header.trigger) not in supported:
        known = {t for t, _ in supported}
        names = ", ".join(f"{t}^{e}" for t, e in sorted(supported))
        raise MessageRejected(
            f"message type {header.kind} is not processed by this receiver (supported: {names})",
            stage="parse",
            ack_code="AR",
            error_code="201" if header.message_type in known else "200",
        )
    if not _VERSION.match(header.version):
        raise MessageRejected(
            f"MSH-12 version {header.version!r} is not supported (HL7 v2.1 to v2.8.x)",
            stage="parse",
            ack_code="AR",
            error_code="203",
        )
    if not header.control_id:
        raise MessageRejected(
            "MSH-10 (message control id) is empty: the message cannot be acknowledged or de-duplicated",
            stage="structure",
            ack_code="AE",
            error_code="101",
        )
    if truncated:
        raise MessageRejected(truncated, stage="parse", ack_code="AE", error_code="100")
    try:
        decoded = text.decode(header.delimiters.charset)
    except UnicodeDecodeError as exc:
        raise _undecodable(exc, header.component(18)) from None
    lines = decoded.rstrip("\r").split("\r")
    ids = tuple(line[:3] for line in lines)
    for position, line in enumerate(lines, start=1):
        if not _SEGMENT_ID.match(line[:3]) or (len(line) > 3 and line[3] != header.delimiters.field):
            raise MessageRejected(
                f"segment {position} ({line[:20]!r}) does not start with a segment id and a field "
                "separator: the message is truncated or corrupt",
                stage="structure",
                ack_code="AE",
                error_code="100",
            )
        control = CONTROL.search(line)
        if control is not None:
            # MSH-1 is the field separator itself, so MSH's fields count one more
            field = line.count(header.delimiters.field, 0, control.start()) + (line[:3] == "MSH")
            raise MessageRejected(
                f"control character U+{ord(control.group()):04X} in {line[:3]}-{field} (segment "
                f"{position}): HL7 v2 values carry none (a sender encodes them as escapes), so the "
                "message is corrupt",
                stage="parse",
                ack_code="AE",
                error_code="102",
            )
    return ParsedMessage(header, ids, _parse_mapped(lines, header), text)


def _parse_mapped(lines: list[str], header: Header) -> tuple[Segment, ...]:
    positions = [i for i, line in enumerate(lines, start=1) if line[:3] in MAPPED_SEGMENTS]
    try:
        tree = hl7.parse("\r".join(lines[p - 1] for p in positions))
    except Exception as exc:  # python-hl7 raises assorted types for malformed text
        raise MessageRejected(
            f"python-hl7 could not parse the message: {exc}", stage="parse", ack_code="AR", error_code="100"
        ) from None
    segments = []
    for position, parsed in zip(positions, tree, strict=True):
        fields = [parsed] if isinstance(parsed, str) else parsed
        name = str(fields[0]) if not isinstance(parsed, str) else parsed[:3]
        segments.append(Segment(name, position, fields, header.delimiters))
    return tuple(segments)


def _undecodable(exc: UnicodeDecodeError, charset: str) -> MessageRejected:
    declared = f"MSH-18 declares {charset!r}" if charset else "MSH-18 is empty, so UTF-8/ASCII is expected"
    return MessageRejected(
        f"the message is not valid text in its character set ({declared}): byte "
        f"0x{exc.object[exc.start]:02X} at offset {exc.start}",
        stage="parse",
        ack_code="AR",
        error_code="203",
    )
