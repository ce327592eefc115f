"""Original-mode acknowledgements (ACK with MSA and, on error, ERR).

MSA-1 follows HL7 table 0008: AA when everything was stored; AE when the message was
read but its content is wrong — wholly quarantined, or stored with some resources
quarantined — so the sender must correct it; AR when it could not be read, is of a type
or version this receiver does not process, or could not be stored for reasons unrelated
to its content (then the sender should resend it unchanged later). MSA-3 and the ERR
segment carry the reason; ERR is written the v2.5+ way (ERR-3 code, ERR-4 severity, ERR-8
text) or, for older versions, as the v2.3/2.4 ERR-1 error code and location.

python-hl7's ``Message.create_ack`` needs a message it could parse, but an unparseable
message must be answered too, so the ACK is built here from whatever header was readable.
"""

from __future__ import annotations

from datetime import UTC, datetime

import hl7

from medlake.sources.hl7v2.escapes import Delimiters, escape
from medlake.sources.hl7v2.parsing import Header

#: HL7 table 0357 (message error condition codes) used by this receiver.
ERROR_TEXT = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "203": "Unsupported version id",
    "207": "Application internal error",
}
RECEIVER = "medlake"


def build_ack(
    header: Header | None,
    code: str,
    *,
    reason: str | None = None,
    error_code: str | None = None,
    institution: str = "",
) -> bytes:
    """The ACK message (segments joined by CR, not yet MLLP-framed) answering ``header``."""
    d = header.delimiters if header is not None else Delimiters()
    encoding = header.raw(2) if header is not None else "^~\\&"
    raw = header.raw if header is not None else (lambda _n: "")
    version = raw(12) or "2.5"
    trigger = header.trigger if header is not None else ""
    message_type = d.component.join(["ACK", trigger, "ACK"]) if trigger else "ACK"
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    msh = [
        "MSH",
        encoding,
        raw(5) or RECEIVER,
        raw(6) or escape(institution, d),
        raw(3),
        raw(4),
        now,
        "",
        message_type,
        hl7.generate_message_control_id(),
        raw(11) or "P",
        version,
    ]
    control_id = escape(header.control_id, d) if header is not None else ""
    text = escape(reason, d) if reason else ""
    msa = ["MSA", code, control_id, text] if text else ["MSA", code, control_id]
    segments = [d.field.join(msh), d.field.join(msa)]
    if error_code:
        segments.append(_err(error_code, text, version, d))
    return ("\r".join(segments) + "\r").encode(d.charset if header is not None else "utf-8", errors="replace")


def _err(error_code: str, text: str, version: str, d: Delimiters) -> str:
    label = ERROR_TEXT.get(error_code, "")
    if _at_least(version, 2, 5):
        coded = d.component.join([error_code, label, "HL70357"])
        return d.field.join(["ERR", "", "", coded, "E", "", "", "", text])
    coded = d.subcomponent.join([error_code, label, "HL70357"])
    return d.field.join(["ERR", d.component.join(["", "", "", coded])])


def _at_least(version: str, major: int, minor: int) -> bool:
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (major, minor)
    except (ValueError, IndexError):
        return True
