"""FHIR R4 resources as msgspec Structs: ingest's cheap check of one NDJSON line.

Ingest parses every line, checks it is valid R4, and fingerprints it. The fast check in
:mod:`medlake.fhir.validation` walks the parsed dicts in Python; here msgspec decodes the
line straight into typed Structs and so does the same checking in C: parsing and checking
cost 4.8 µs a resource instead of 11.8 (orjson + the fast check), and everything ingest
computes for a line 11 µs instead of 17.5 (``bench/fhir_check.py``). The Structs are
generated, once per process, from the same fhirclient element tables the fast check compiles
its plans from, and they check the same rules or stricter ones:

* every key must be an element of its type (``forbid_unknown_fields``), or ``_x`` beside a
  primitive element ``x`` (its id/extensions: any JSON but null, as the model classes take);
  the fast check also takes ``_x`` beside a complex element, which FHIR's JSON never writes;
* JSON types per element: strings, booleans (not 0/1), integers (not 1.0 nor true), decimals
  (integers or floats, kept as sent so ``1`` stays ``1``); null is never a value (a field
  that may be absent defaults to ``UNSET``, which null does not decode to);
* lists are never empty; required elements are present, and a required choice group
  (``medication[x]``) has at least one member (``__post_init__``);
* date, dateTime and instant match the R4 pattern and name a real calendar day (the pattern
  itself says so: see :data:`_REAL_DAY`); time matches the R4 pattern;
* ``contained`` (and ``Bundle.entry.resource``) hold a resource of any concrete R4 type,
  told apart by ``resourceType``;
* R4's own rules for each element (:mod:`medlake.fhir.primitives`, which the explaining path's
  :mod:`medlake.fhir.rules` checks too): strings are never empty, an ``id`` (``oid``,
  ``uuid``, ``base64Binary``) matches its pattern, a code bound *required* is one of its value
  set's codes (a ``Literal``), an ``integer``/``unsignedInt``/``positiveInt`` is in its range;
  what a Struct cannot see (an empty object, a key sent twice, a control character, an
  over-long string, empties and nulls inside ``_x``) is looked for in the texts by
  :func:`check`;
* to keep every value, and the way a number is written, what the explaining path (orjson)
  makes of it, integers must fit in 64 bits and decimals be below 1e16 in magnitude.
  Anything else makes the check say "don't know".

:func:`check` answers None whenever these Structs cannot vouch for a line; ingest then takes
today's path (orjson + :func:`validation.validate_references`), whose model classes decide
and explain. ``tests/fhir/test_structs.py`` checks that both paths agree on real data.
"""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import datetime
from functools import cache
from typing import Annotated, Any, ForwardRef, Literal, NamedTuple, Union

import msgspec
import orjson
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.fhirdatetime import FHIRDateTime
from fhirclient.models.fhirinstant import FHIRInstant

from medlake.fhir.definitions import max_length
from medlake.fhir.instants import utc_instant
from medlake.fhir.primitives import Rule, element_rules
from medlake.fhir.references import reference_key
from medlake.fhir.validation import (
    _ANY_RESOURCE,
    _BOOL,
    _DATE,
    _FLOAT,
    _INT,
    _OBJECT,
    _STR,
    _kind,
    resource_classes,
)

# Element types ------------------------------------------------------------------------------

#: An integer as orjson reads it: outside 64 bits orjson makes it a float, msgspec keeps it an
#: int, and the two paths would store different values. (R4's integers are 32-bit: no valid
#: one is lost.)
_INTEGER = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
#: From 1e16 up, orjson writes ``1e+16`` where msgspec writes ``1e16``; below, they write every
#: double alike (``tests/fhir/test_structs.py`` compares them on millions of values).
_DECIMAL = _INTEGER | Annotated[float, msgspec.Meta(gt=-1e16, lt=1e16)]
#: ``_x`` beside a primitive ``x``: its id and extensions, which neither check looks into
#: (references in them are still found: see :func:`check`). Any JSON but null.
_PRIMITIVE_EXTENSION = dict[str, Any] | list[Any] | str | int | float | bool

_PRIMITIVES: dict[int, Any] = {_STR: str, _BOOL: bool, _INT: _INTEGER, _FLOAT: _DECIMAL}

#: R4's day of the month, as fhirclient's patterns write it.
_R4_DAY = "(0[1-9]|[1-2][0-9]|3[0-1])"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
#: R4's day, narrowed to a day the month has: the one thing, beyond the R4 pattern, that the
#: model classes' ``datetime.fromisoformat`` rejects in a date, dateTime or instant (see
#: ``validation._date_ok``). Days 29 to 31 look back at the month (and for 29 February at the
#: year: a leap year is divisible by 4, its last two digits being so and not 00, or by 400,
#: they being 00 and the first two divisible by 4), so the common days cost nothing more.
_REAL_DAY = (
    r"(?:0[1-9]|1[0-9]|2[0-8]"
    rf"|29(?:(?<!02-29)|(?<={_LEAP_YEAR}-02-29))"
    r"|30(?<!02-30)"
    r"|31(?<=(?:0[13578]|1[02])-31))"
)
_CALENDAR_TYPES = (FHIRDate, FHIRDateTime, FHIRInstant)
#: An opening parenthesis of a capturing group.
_CAPTURING = re.compile(r"(?<!\\)\((?!\?)")


def date_pattern(typ: type) -> str:
    """The whole-string pattern for a date/time type: R4's, with a real day for dates.

    It is fhirclient's pattern with its groups made non-capturing (faster: msgspec
    only asks whether it matches) and, for date, dateTime and instant, :data:`_REAL_DAY` in
    place of the day. msgspec *searches* for a pattern, as ``re.search`` does, so it is
    anchored, with ``\\Z`` rather than ``$``, which would let a trailing newline through.
    """
    pattern = typ._REGEX.pattern  # type: ignore[attr-defined]
    if typ in _CALENDAR_TYPES:
        if pattern.count(_R4_DAY) != 1:
            raise NotImplementedError(f"{typ.__name__}'s pattern has no single R4 day")
        pattern = pattern.replace(_R4_DAY, _REAL_DAY)
    return rf"\A(?:{_CAPTURING.sub('(?:', pattern)})\Z"


# Generating the Structs ---------------------------------------------------------------------
# msgspec reads a Struct's annotations when a decoder is first built for it, resolving names in
# the Struct's module; the types refer to each other in cycles (Extension ↔ Reference), so each
# refers to another by name (a ForwardRef) and every generated Struct is bound in this module's
# namespace under its fhirclient class name (``structs.Patient``, ``structs.FHIRReference``,
# ``structs.PatientContact``); :data:`ANY_RESOURCE` names the union of the resource Structs.

ANY_RESOURCE = "AnyResource"


def _require_one_of(groups: tuple[tuple[str, ...], ...]) -> Any:
    """A ``__post_init__`` for a type with required choice groups: at least one member each."""
    unset = msgspec.UNSET

    def __post_init__(self: msgspec.Struct) -> None:
        for group in groups:
            for name in group:
                if getattr(self, name) is not unset:
                    break
            else:
                raise ValueError(f"one of {', '.join(group)} is required")

    return __post_init__


class _Collected(threading.local):
    """The reference strings of the resource being decoded in this thread (see :func:`check`)."""

    def __init__(self) -> None:
        self.references: list[str] = []


_COLLECTED = _Collected()


def _collect_reference(self: Any) -> None:
    """``__post_init__`` of a type with a string ``reference`` (FHIRReference and three more):
    note it, sparing :func:`check` a search of its output for it."""
    reference = self.reference
    if reference is not msgspec.UNSET:
        _COLLECTED.references.append(reference)


def _item_type(kind: int, arg: Any, rule: Rule | None) -> Any:
    if kind == _STR:  # never empty; a pattern, a length limit or a required binding's codes
        if rule is not None and rule.codes is not None:  # checked in C
            return Literal[tuple(sorted(rule.codes))]
        # a length limit (1 MiB for a string) is checked on the whole text instead (see check):
        # msgspec's own check costs a tenth of the decoding
        pattern = rule.pattern if rule is not None else None
        anchored = rf"\A(?:{pattern.pattern})\Z" if pattern is not None else None
        return Annotated[str, msgspec.Meta(min_length=1, pattern=anchored)]
    if rule is not None and kind == _INT and rule.bounds is not None:
        return Annotated[int, msgspec.Meta(ge=rule.bounds[0], le=rule.bounds[1])]
    if kind in _PRIMITIVES:
        return _PRIMITIVES[kind]
    if kind == _DATE:
        return Annotated[str, msgspec.Meta(pattern=date_pattern(arg))]
    if kind == _OBJECT:
        return ForwardRef(arg.__name__)
    if kind == _ANY_RESOURCE:
        return ForwardRef(ANY_RESOURCE)
    # validation._kind's _RESOURCE (an element of one resource type): R4 has none
    raise NotImplementedError(f"element type {arg} has no Struct")


def _define(cls: type, todo: list[type]) -> type[msgspec.Struct]:
    """The Struct for one fhirclient class; classes it refers to are appended to ``todo``."""
    elements = cls().elementProperties()
    rules = element_rules(cls)
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    rename: dict[str, str] = {}
    plain_required = {jsname for _n, jsname, _t, _l, group, needed in elements if needed and not group}
    # a group is required when any member is (as in the fast check); its members are all of them
    required_groups = sorted({group for _n, _j, _t, _l, group, needed in elements if needed and group})
    for name, jsname, typ, is_list, _group, _needed in elements:
        kind, arg = _kind(typ)
        if kind == _OBJECT:
            todo.append(arg)
        item = _item_type(kind, arg, rules.get(jsname))
        value = Annotated[list[item], msgspec.Meta(min_length=1)] if is_list else item  # type: ignore[valid-type]
        if jsname in plain_required:
            fields.append((name, value))
        else:
            # Union: a ForwardRef has no ``|``
            fields.append((name, Union[value, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
        if name != jsname:
            rename[name] = jsname
        if kind in _PRIMITIVES or kind == _DATE:
            fields.append((f"{name}_ext", _PRIMITIVE_EXTENSION | msgspec.UnsetType, msgspec.UNSET))
            rename[f"{name}_ext"] = f"_{jsname}"
    if plain_required.intersection(required_groups):
        raise NotImplementedError(f"{cls.__name__}: a required element shares its name with a choice group")
    groups = tuple(
        tuple(name for name, _j, _t, _l, group, _n in elements if group == key) for key in required_groups
    )
    has_reference = any(
        name == jsname == "reference" and _kind(typ)[0] == _STR for name, jsname, typ, *_ in elements
    )
    resource_type = getattr(cls, "resource_type", None)
    is_resource = resource_type is not None and resource_classes().get(resource_type) is cls
    if is_resource and fields[0][0] != "id":
        raise NotImplementedError(f"{cls.__name__}: id is not its first element")
    return msgspec.defstruct(
        cls.__name__,
        fields,
        namespace=_namespace(groups, has_reference),
        module=__name__,
        kw_only=True,
        forbid_unknown_fields=True,
        rename=rename or None,
        tag_field="resourceType" if is_resource else None,
        tag=resource_type if is_resource else None,
        # decoded trees have no cycles, so the garbage collector need not track them: a few
        # per cent faster alone, twice as fast with many decoded resources alive at once
        gc=False,
    )


def _namespace(groups: tuple[tuple[str, ...], ...], has_reference: bool) -> dict[str, Any] | None:
    """The ``__post_init__`` of a type, if it needs one."""
    if has_reference and groups:
        require = _require_one_of(groups)

        def __post_init__(self: msgspec.Struct) -> None:
            _collect_reference(self)
            require(self)

        return {"__post_init__": __post_init__}
    if has_reference:
        return {"__post_init__": _collect_reference}
    return {"__post_init__": _require_one_of(groups)} if groups else None


_STRUCTS: dict[str, type[msgspec.Struct]] = {}
_BUILDING = threading.Lock()


def struct_types() -> dict[str, type[msgspec.Struct]]:
    """fhirclient class name → its Struct, for every type reachable from an R4 resource.

    Built once per process (a third of a second, with the decoder) and bound in this module's
    namespace, where msgspec resolves the Structs' references to each other.
    """
    if not _STRUCTS:
        with _BUILDING:  # two threads must not both build (and bind) them
            if not _STRUCTS:
                _STRUCTS.update(_build())
    return _STRUCTS


def _build() -> dict[str, type[msgspec.Struct]]:
    namespace = globals()
    structs: dict[str, type[msgspec.Struct]] = {}
    todo: list[type] = list(resource_classes().values())
    while todo:
        cls = todo.pop()
        if cls.__name__ in structs:
            continue
        if cls.__name__ in namespace:
            raise NotImplementedError(f"the R4 type {cls.__name__} would shadow a name of {__name__}")
        structs[cls.__name__] = _define(cls, todo)
    namespace.update(structs)
    resources = tuple(structs[cls.__name__] for cls in resource_classes().values())
    namespace[ANY_RESOURCE] = Union[resources]  # noqa: UP007 (a union of many, built at run time)
    return structs


@cache
def decoder() -> msgspec.json.Decoder:
    """Decodes one resource of any R4 type, or raises ``msgspec.ValidationError``/``DecodeError``."""
    struct_types()
    return msgspec.json.Decoder(globals()[ANY_RESOURCE])


# The check ingest calls ---------------------------------------------------------------------


class Checked(NamedTuple):
    """What ingest keeps of an accepted resource (``examine.Accepted``'s fields, without the source)."""

    resource_type: str
    resource_id: str
    version_id: str | None
    last_updated: datetime | None
    content_hash: str  # sha256 of ``resource``, the text as stored (hex)
    refs: list[str]  # sorted unique reference_key of every reference string
    identifiers: list[str]  # references.identifier_keys
    resource: str  # the resource as compact JSON, resourceType and id first


#: Struct fields in their defined order, dict keys (only in untyped ``_x`` values) sorted: one
#: text for one content, whatever order its keys were sent in.
_ENCODER = msgspec.json.Encoder(order="deterministic")
_UNSET = msgspec.UNSET
#: A reference string in msgspec's output, up to its end or its first escape. Inside a JSON
#: string every ``"`` is escaped, so ``"reference":"`` occurs only where a key ``reference``
#: has a string value: exactly what ``references.iter_references`` yields, found in the value
#: msgspec decoded (duplicate keys resolved, the last one winning as in orjson; keys written
#: with escapes unescaped). msgspec escapes only ``"``, ``\`` and control characters, so a
#: value without ``\`` is its own text. (A plain character class: sre scans it in one loop.)
_REFERENCE = re.compile(rb'"reference":"([^"\\]*)(["\\])')
_REFERENCE_KEY = b'"reference":"'
#: The same, for a text where some value has escapes: the whole string, escapes and all.
_ESCAPED_REFERENCE = re.compile(rb'"reference":"((?:[^"\\]|\\.)*)"')
#: A control character as msgspec writes it (it escapes nothing else with ``\u`` nor ``\b``,
#: ``\f``); an escaped backslash followed by one of those letters also matches, and falls back.
_CONTROL_ESCAPE = re.compile(rb"\\[ubf]")
#: A text no longer than this cannot hold a string longer than R4's limit for one.
_STRING_LIMIT = max_length("string") or 1 << 20
#: In untyped ``_x`` values: an empty string or array, or a null, in compact JSON.
_UNTYPED_EMPTY = re.compile(rb'""|\[\]|[:,\[]null')
#: A run of digits that may be an integer beyond 64 bits, which orjson reads as a float.
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def check(text: bytes) -> Checked | None:
    """Decode and check one NDJSON line; None when the Structs cannot vouch for it.

    None is not a verdict: the line may be valid (a null ``_x``, a huge number, a form these
    Structs do not model) or not, and today's path
    decides and explains. A value means the line is valid R4 as the model classes see it,
    and carries what ingest computes from it, with the same values.
    """
    collected = _COLLECTED.references
    collected.clear()
    try:
        resource = decoder().decode(text)
    except msgspec.DecodeError:  # and its subclass ValidationError
        return None
    resource_id = resource.id
    if type(resource_id) is not str:
        return None  # ingest rejects it, with its own reason
    # the tag first, then the fields in the Structs' order (id is the first): its hash is the
    # content's, and recognises the content when it is sent again
    body = _ENCODER.encode(resource)
    # ``_x`` values are untyped: the one place a number escapes the bounds of _INTEGER and
    # _DECIMAL, a reference escapes the Structs' notice, and an empty string or array or a null
    # may hide. msgspec writes the key ``"_x"`` unescaped; ``_`` alone is found at memchr speed.
    untyped = b"_" in body and b'"_' in body
    # What the typed Structs do not see, found in the texts at hand with as few passes as
    # possible (each is rare in good data; a string merely looking like one only costs the
    # explaining path): an empty object, a key sent twice (see ``json_keys``: the colons of the
    # text and of its re-encoding), a string over R4's length limit (only in a text longer than
    # it), a control character (only as an escape: a text without a backslash holds none, nor
    # a colon written ``\u003a``).
    if b"{}" in body or text.count(b":") != body.count(b":") or len(body) > _STRING_LIMIT:
        return None
    if b"\\" in text and (b"\\u003" in text or _CONTROL_ESCAPE.search(body) is not None):
        return None
    if untyped and (_LONG_NUMBER.search(body) or _UNTYPED_EMPTY.search(body)):
        return None
    # Every string ``reference`` decoded was collected, including one a later duplicate key
    # replaced; every one in the output is one of them. So when the counts agree the lists do.
    if untyped or (collected and len(collected) != body.count(_REFERENCE_KEY)):
        refs = _reference_keys(body)
    elif collected:
        keys = set(map(_KEYS_OF_TEXT.__getitem__, collected))
        keys.discard(None)
        refs = sorted(keys)  # type: ignore[type-var]
    else:
        refs = []
    version_id = last_updated = None
    meta = resource.meta
    if meta is not _UNSET:
        if meta.versionId is not _UNSET:
            version_id = meta.versionId
        if meta.lastUpdated is not _UNSET:
            try:
                last_updated = utc_instant(meta.lastUpdated)
            except OverflowError:  # beyond year 9999 (or before 1) in UTC: the explaining path rejects it
                return None
    resource_type = _TAGS[type(resource)]
    return _make(
        Checked,
        (
            resource_type,
            resource_id,
            version_id,
            last_updated,
            hashlib.sha256(body).hexdigest(),
            refs,
            _identifier_keys(resource, resource_type),
            body.decode(),
        ),
    )


#: Builds a NamedTuple from a tuple in C, skipping its Python ``__new__`` (as ``examine`` does).
_make = tuple.__new__


class _Tags(dict[type, str]):
    """Struct type → its ``resourceType``, filled on first sight of each."""

    def __missing__(self, struct: type) -> str:
        tag = self[struct] = struct.__struct_config__.tag
        return tag


_TAGS = _Tags()


class _ReferenceKeys(dict[Any, str | None]):
    """``reference_key`` of a reference (its text, or its bytes as msgspec wrote them without
    escapes), filled on first sight. The same references recur across a file (a patient, a
    practitioner), so most lookups are one dict probe in C rather than the key's regexes.
    """

    def __missing__(self, reference: str | bytes) -> str | None:
        if len(self) >= 1 << 16:
            self.clear()
        key = self[reference] = reference_key(reference if type(reference) is str else reference.decode())
        return key


_KEYS_OF_TEXT = _ReferenceKeys()
_KEYS_OF_BYTES = _ReferenceKeys()


def _reference_keys(body: bytes) -> list[str]:
    """What ingest keeps of the references in msgspec's output: sorted unique ``reference_key``s."""
    keys = set()
    for raw, end in _REFERENCE.findall(body):
        if end == b"\\":  # a value with an escape: read them all the slower way
            return _escaped_reference_keys(body)
        keys.add(_KEYS_OF_BYTES[raw])
    keys.discard(None)
    return sorted(keys)  # type: ignore[type-var]


def _escaped_reference_keys(body: bytes) -> list[str]:
    references = (orjson.loads(b'"' + raw + b'"') for raw in _ESCAPED_REFERENCE.findall(body))
    return sorted({key for ref in references if (key := reference_key(ref))})


def _identifier_keys(resource: msgspec.Struct, resource_type: str) -> list[str]:
    """``references.identifier_keys``: ``Type?system|value`` for each of a list of identifiers.

    A resource whose one ``identifier`` is an object (Bundle, Composition, …) has none, as
    that function finds none in a dict.
    """
    identifiers = getattr(resource, "identifier", _UNSET)
    if type(identifiers) is not list:
        return []
    return [
        f"{resource_type}?{ident.system if ident.system is not _UNSET else ''}|{ident.value}"
        for ident in identifiers
        if ident.value is not _UNSET
    ]
