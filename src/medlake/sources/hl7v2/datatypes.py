"""HL7 v2 data types → FHIR R4 data types, after the IG's data type maps.

CX → Identifier, XPN → HumanName, XAD → Address, XTN → ContactPoint, CWE/CE/CNE →
CodeableConcept, EI → Identifier, XCN → Reference (identifier + display), PL →
Reference (display), DTM → date / dateTime / instant.

Dates are read strictly: python-hl7's ``parse_datetime`` accepts trailing garbage and
forgets the precision, but FHIR keeps precision (``1985`` is not ``1985-01-01``), and a
date that is not one must be reported, not guessed. A time without a UTC offset is read
in the converter's time zone (an IANA name, ``UTC`` by default), because FHIR requires an
offset on every dateTime with a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from medlake.errors import InvalidRecord
from medlake.sources.hl7v2.segments import Composite
from medlake.sources.hl7v2.vocabulary import (
    ADDRESS_TYPE,
    ADDRESS_USE,
    NAME_USE,
    TELECOM_EQUIPMENT,
    TELECOM_USE,
    V2_IDENTIFIER_TYPE,
    coding_system,
)

_DTM = re.compile(
    r"^(?P<year>\d{4})(?P<month>\d{2})?(?P<day>\d{2})?(?P<hour>\d{2})?(?P<minute>\d{2})?"
    r"(?P<second>\d{2})?(?P<fraction>\.\d{1,6})?(?P<offset>[+-]\d{4})?$"
)
_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ConversionError(InvalidRecord):
    """A part of a message that cannot become valid FHIR; the text names the field and why."""


# ---- dates and times --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    """An HL7 DTM with its precision: ``parts`` is how many of Y, M, D, h, m, s were given."""

    value: datetime  # naive unless an offset was given
    parts: int
    fraction: str  # ".4" or ""
    has_offset: bool


def parse_dtm(text: str, field: str) -> Moment:
    """Strictly parse an HL7 DT/DTM/TS value; ``field`` (e.g. ``PID-7``) names it in errors."""
    match = _DTM.match(text.strip())
    if not match or (match["fraction"] and not match["second"]):
        raise ConversionError(
            f"{field} {text!r} is not an HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])"
        )
    names = ("year", "month", "day", "hour", "minute", "second")
    parts = sum(1 for name in names if match[name])
    numbers = [int(match[n]) if match[n] else (1 if n in ("month", "day") else 0) for n in names]
    try:
        value = datetime(*numbers)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConversionError(f"{field} {text!r} is not a valid date/time: {exc}") from None
    if match["offset"]:
        sign = -1 if match["offset"][0] == "-" else 1
        hours, minutes = int(match["offset"][1:3]), int(match["offset"][3:5])
        if hours > 14 or minutes > 59:
            raise ConversionError(f"{field} {text!r} has an impossible UTC offset {match['offset']}")
        value = value.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return Moment(value, parts, match["fraction"] or "", bool(match["offset"]))


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _aware(moment: Moment, tz: str) -> datetime:
    return moment.value if moment.has_offset else moment.value.replace(tzinfo=zone(tz))


def _offset_text(value: datetime) -> str:
    offset = value.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def fhir_date(text: str, field: str) -> str | None:
    """A FHIR ``date`` (keeping year / year-month precision) from a DT/DTM, or None when empty."""
    if not text:
        return None
    moment = parse_dtm(text, field)
    d = moment.value
    return [f"{d.year:04d}", f"{d.year:04d}-{d.month:02d}", d.strftime("%Y-%m-%d")][min(moment.parts, 3) - 1]


def fhir_datetime(text: str, field: str, tz: str) -> str | None:
    """A FHIR ``dateTime``: date precision kept, any time given to the second with an offset."""
    if not text:
        return None
    moment = parse_dtm(text, field)
    if moment.parts <= 3:
        return fhir_date(text, field)
    return _timestamp(moment, tz)


def fhir_instant(text: str, field: str, tz: str) -> str | None:
    """A FHIR ``instant`` (always to the second, with an offset), padding coarser values."""
    if not text:
        return None
    return _timestamp(parse_dtm(text, field), tz)


def _timestamp(moment: Moment, tz: str) -> str:
    value = _aware(moment, tz)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + moment.fraction + _offset_text(value)


def has_time(text: str) -> bool:
    """True when a DTM carries more than a calendar date (so it needs the birthTime extension)."""
    match = _DTM.match(text.strip())
    return bool(match and match["hour"])


def fhir_time(text: str, field: str) -> str | None:
    """An HL7 TM (``HHMM[SS[.S]]``) as a FHIR ``time``."""
    if not text:
        return None
    match = re.match(r"^(\d{2})(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$", text.strip())
    if not match:
        raise ConversionError(f"{field} {text!r} is not an HL7 time (HHMM[SS[.S]])")
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ConversionError(f"{field} {text!r} is not a valid time of day")
    return f"{hour:02d}:{minute:02d}:{second:02d}{match[4] or ''}"


def period(start: str, end: str, field: str, tz: str) -> dict | None:
    out = {}
    if begin := fhir_datetime(start, f"{field} (start)", tz):
        out["start"] = begin
    if finish := fhir_datetime(end, f"{field} (end)", tz):
        out["end"] = finish
    return out or None


# ---- identifiers, names, addresses, telecoms -------------------------------------------------


def hd_system(namespace: str, universal_id: str, universal_type: str) -> str | None:
    """HD → a system URI when the HD carries a universal id FHIR can name (OID, UUID, URI)."""
    kind = universal_type.upper()
    if not universal_id:
        return None
    if kind == "ISO" and _OID.match(universal_id):
        return f"urn:oid:{universal_id}"
    if kind in ("UUID", "GUID") and _UUID.match(universal_id):
        return f"urn:uuid:{universal_id.lower()}"
    if kind in ("URI", "DNS", "URL", "HTTP") and not any(c.isspace() for c in universal_id):
        return universal_id
    return None


def authority_key(namespace: str, universal_id: str, universal_type: str) -> str:
    """What makes an assigning authority itself: its universal id if any, else its namespace."""
    return f"{universal_type.upper()}:{universal_id}" if universal_id else namespace


def identifier(cx: Composite, field: str, tz: str, type_code: str | None = None) -> dict | None:
    """CX (or a bare ID) → Identifier; None when the CX has no value."""
    value = cx.c(1)
    if not value:
        return None
    out: dict = {"value": value}
    namespace, universal_id, universal_type = cx.c(4, 1), cx.c(4, 2), cx.c(4, 3)
    system = hd_system(namespace, universal_id, universal_type)
    if system:
        out["system"] = system
    code = type_code or cx.c(5)
    if code:
        out["type"] = {"coding": [{"system": V2_IDENTIFIER_TYPE, "code": code}]}
    if namespace and not system:
        out["assigner"] = {"display": namespace}
    if valid := period(cx.c(7), cx.c(8), f"{field} (CX-7/CX-8 dates)", tz):
        out["period"] = valid
    return out


def entity_identifier(ei: Composite, type_code: str | None = None) -> dict | None:
    """EI (entity id, namespace, universal id, type) → Identifier."""
    value = ei.c(1)
    if not value:
        return None
    out: dict = {"value": value}
    system = hd_system(ei.c(2), ei.c(3), ei.c(4))
    if system:
        out["system"] = system
    elif ei.c(2):
        out["assigner"] = {"display": ei.c(2)}
    if type_code:
        out["type"] = {"coding": [{"system": V2_IDENTIFIER_TYPE, "code": type_code}]}
    return out


def human_name(xpn: Composite, field: str, tz: str) -> dict | None:
    """XPN → HumanName (family from FN.1; given, middle; prefix; suffix and degree)."""
    out: dict = {}
    if family := xpn.c(1, 1):
        out["family"] = family
    given = [g for g in (xpn.c(2), xpn.c(3)) if g]
    if given:
        out["given"] = given
    if prefix := xpn.c(5):
        out["prefix"] = [prefix]
    suffix = [s for s in (xpn.c(4), xpn.c(6)) if s]
    if suffix:
        out["suffix"] = suffix
    if not out:
        return None
    if use := NAME_USE.get(xpn.c(7).upper()):
        out["use"] = use
    valid = period(xpn.c(10, 1), xpn.c(10, 2), f"{field} (XPN-10)", tz) or period(
        xpn.c(12), xpn.c(13), f"{field} (XPN-12/XPN-13)", tz
    )
    if valid:
        out["period"] = valid
    return out


def address(xad: Composite) -> dict | None:
    """XAD → Address (line from SAD, city, state, postal code, country, county; use/type)."""
    out: dict = {}
    street = xad.c(1, 1) or " ".join(p for p in (xad.c(1, 3), xad.c(1, 2)) if p)
    lines = [p for p in (street, xad.c(2)) if p]
    if lines:
        out["line"] = lines
    for key, component in (("city", 3), ("state", 4), ("postalCode", 5), ("country", 6), ("district", 9)):
        if value := xad.c(component):
            out[key] = value
    if not out:
        return None
    kind = xad.c(7).upper()
    if use := ADDRESS_USE.get(kind):
        out["use"] = use
    if address_type := ADDRESS_TYPE.get(kind):
        out["type"] = address_type
    return out


def contact_point(xtn: Composite, default_use: str | None) -> dict | None:
    """XTN → ContactPoint; the value from the structured parts when given, else XTN-1."""
    equipment = xtn.c(3).upper()
    system, equipment_use = TELECOM_EQUIPMENT.get(equipment, (None, None))
    if system == "email" or (not system and "@" in xtn.c(4)):
        value, system = xtn.c(4) or xtn.c(1), "email"
    else:
        number = xtn.c(12) or "".join(
            part
            for part in (
                f"+{xtn.c(5)} " if xtn.c(5) else "",
                f"({xtn.c(6)}) " if xtn.c(6) else "",
                xtn.c(7),
                f" ext. {xtn.c(8)}" if xtn.c(8) and xtn.c(7) else "",
            )
        )
        value = number.strip() or xtn.c(1)
        if not system and value:
            system = "email" if "@" in value else "phone"
    if not value:
        return None
    out = {"system": system, "value": value}
    use = equipment_use or TELECOM_USE.get(xtn.c(2).upper()) or (default_use if not xtn.c(2) else None)
    if use:
        out["use"] = use
    return out


# ---- codes and references -------------------------------------------------------------------


def coding(code: str, display: str, system_name: str, version: str = "") -> dict | None:
    if not code and not display:
        return None
    out: dict = {}
    if system := coding_system(system_name):
        out["system"] = system
    if version and system:
        out["version"] = version
    if code:
        out["code"] = code
    if display:
        out["display"] = display
    return out if code else None


def codeable_concept(cwe: Composite, default_system: str = "") -> dict | None:
    """CWE/CE/CNE (or a bare code with ``default_system``, an HL7 table) → CodeableConcept."""
    if cwe.empty:
        return None
    codings = [
        c
        for c in (
            coding(cwe.c(1), cwe.c(2), cwe.c(3) or default_system, cwe.c(7)),
            coding(cwe.c(4), cwe.c(5), cwe.c(6), cwe.c(8)),
        )
        if c
    ]
    out: dict = {}
    if codings:
        out["coding"] = codings
    text = cwe.c(9) or cwe.c(2) or cwe.c(5)
    if text:
        out["text"] = text
    return out or None


def practitioner_reference(xcn: Composite) -> dict | None:
    """XCN → a Reference carrying the practitioner's identifier and name, without a resource."""
    name = " ".join(p for p in (xcn.c(6), xcn.c(3), xcn.c(4), xcn.c(2, 1), xcn.c(5)) if p)
    out: dict = {}
    if xcn.c(1):
        ident: dict = {"value": xcn.c(1)}
        if system := hd_system(xcn.c(9, 1), xcn.c(9, 2), xcn.c(9, 3)):
            ident["system"] = system
        out["identifier"] = ident
    if name:
        out["display"] = name
    return out or None


def location_reference(pl: Composite) -> dict | None:
    """PL (point of care, room, bed, facility, …, building, floor) → a Reference by display."""
    parts = [pl.c(1), pl.c(2), pl.c(3), pl.c(4), pl.c(7), pl.c(8)]
    display = ", ".join(p for p in parts if p)
    return {"display": display} if display else None
