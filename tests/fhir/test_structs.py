"""The msgspec check (``fhir.structs.check``) against today's path, which it must never contradict.

Today's path is what ``ingest.examine`` computed before ``check`` existed: orjson parses the
line, ``validate_references`` decides (its fast check, else the fhirclient model classes),
and the row's values are computed from the parsed dict. Where ``check`` returns a value,
today's path must accept the line and compute the same values; where it returns None, today's
path decides. On real data ``check`` must vouch for everything today's path accepts.
"""

from __future__ import annotations

import copy
import hashlib
import random
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import orjson
import pytest
from fhirclient.models.fhirdate import FHIRDate
from fhirclient.models.fhirdatetime import FHIRDateTime
from fhirclient.models.fhirinstant import FHIRInstant
from fhirclient.models.fhirtime import FHIRTime

from medlake.fhir.reading import read_records
from medlake.fhir.references import iter_references, reference_key
from medlake.fhir.structs import Checked, check, date_pattern, struct_types
from medlake.fhir.validation import certainly_valid, resource_classes
from medlake.ingest.delivery import find_files
from medlake.ingest.examine import Accepted, _Received, examine_parsed
from medlake.synth import generate_region
from tests.conftest import shared_path
from tests.fhir.test_validation import _model_accepts, _model_date_ok, _mutations


def _today(text: bytes) -> Checked | None:
    """What ingest's explaining path (orjson, fast check, model classes) makes of a line: its row's
    values, or None if it rejects the line."""
    outcome = examine_parsed(_Received("test", 1, text, None, "read"))
    return Checked(*outcome[2:]) if isinstance(outcome, Accepted) else None


def _same(checked: Checked, today: Checked) -> None:
    """Every value equal; the resource texts equal as JSON, both with resourceType and id first,
    and each path's content hash that of the text it stores."""
    unhashed = {"resource": "", "content_hash": ""}
    assert checked._replace(**unhashed) == today._replace(**unhashed), today.resource[:200]
    assert orjson.loads(checked.resource) == orjson.loads(today.resource)
    for row in (checked, today):
        assert row.content_hash == hashlib.sha256(row.resource.encode()).hexdigest()
    head = orjson.dumps({"resourceType": today.resource_type, "id": today.resource_id})[:-1] + b","
    assert checked.resource.encode().startswith(head), checked.resource[:200]


def _agree(texts: list[bytes]) -> int:
    """Assert ``check`` and today's path agree on every line; the number ``check`` vouched for."""
    vouched = 0
    for text in texts:
        checked, today = check(text), _today(text)
        if checked is None:
            assert today is None, f"a needless fallback: {text[:300]!r}"
            continue
        assert today is not None, f"check accepted what today's path rejects: {text[:300]!r}"
        _same(checked, today)
        vouched += 1
    return vouched


def _texts(folder: Path) -> list[bytes]:
    return [r.text for file in find_files(folder) for r in read_records(file) if r.error is None]


@pytest.fixture(scope="module")
def region_texts(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Every resource of a synthetic region, as ``medlake synth --residents 200 --seed 5`` makes it."""
    region = tmp_path_factory.mktemp("region")
    generate_region(region, residents=200, seed=5)
    return [t for p in sorted(region.iterdir()) if p.is_dir() and p.name != "truth" for t in _texts(p)]


def test_check_agrees_with_todays_path_on_a_synthetic_region(region_texts) -> None:
    assert len(region_texts) > 10_000
    assert _agree(region_texts) == len(region_texts)


def test_check_agrees_with_todays_path_on_a_synthea_bulk_export() -> None:
    texts = _texts(shared_path("reference/synthea-bulk-10-patients"))
    assert len(texts) > 5_000
    assert _agree(texts) == len(texts)


def test_check_agrees_with_todays_path_on_synthea_bundle_entries() -> None:
    texts = _texts(shared_path("reference/synthea-bundles"))
    assert len(texts) > 5_000
    assert _agree(texts) == len(texts)


def test_check_is_never_more_lenient_on_defective_data(region_texts) -> None:
    """Random defects (wrong types, unknown keys, bad dates, dropped elements, nulls): where check
    vouches for a line, the model classes and today's path accept it, with the same values."""
    rng = random.Random(20261130)
    vouched = rejected = 0
    for text in rng.sample(region_texts, 700):
        for mutated in _mutations(orjson.loads(text), rng):
            line = orjson.dumps(mutated)
            checked = check(line)
            if checked is None:
                rejected += not _model_accepts(mutated)
                continue
            assert _model_accepts(mutated), line[:300]
            today = _today(line)
            assert today is not None, line[:300]
            _same(checked, today)
            vouched += 1
    assert vouched > 300 and rejected > 1_000, "the mutations must produce both valid and invalid resources"


# Hand-made defects ---------------------------------------------------------------------------

_PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"versionId": "3", "lastUpdated": "2024-02-29T23:59:59.5+01:00"},
    "identifier": [{"system": "urn:mrn", "value": "42"}, {"value": "7"}, {"system": "urn:x"}],
    "name": [{"family": "Doe", "given": ["Jo"]}],
    "gender": "female",
    "_gender": {"extension": [{"url": "u", "valueReference": {"reference": "Practitioner/9"}}]},
    "birthDate": "2000-02-29",
    "multipleBirthInteger": 2,
    "generalPractitioner": [{"reference": "Practitioner/1"}],
    "contained": [{"resourceType": "Organization", "id": "o", "partOf": {"reference": "Organization/2"}}],
}
_OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"text": "weight"},
    "effectiveDateTime": "2021-03-01T10:00:00Z",
    "valueQuantity": {"value": 70, "unit": "kg"},
    "subject": {"reference": "Patient/p1"},
}
_MEDICATION_REQUEST = {
    "resourceType": "MedicationRequest",
    "id": "m1",
    "status": "active",
    "intent": "order",
    "medicationCodeableConcept": {"text": "aspirin"},
    "subject": {"reference": "Patient/p1"},
}


def _defect(base: dict, path: list, value: object) -> dict:
    """``base`` with ``value`` at ``path`` (``...`` as value deletes the key)."""
    resource = copy.deepcopy(base)
    node = resource
    for step in path[:-1]:
        node = node[step]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return resource


DEFECTS = {
    "null value": (_PATIENT, ["gender"], None),
    "null in a list": (_PATIENT, ["name", 0, "given"], ["Jo", None]),
    "null primitive extension": (_PATIENT, ["_gender"], None),
    "empty list": (_PATIENT, ["name"], []),
    "empty list inside": (_PATIENT, ["name", 0, "given"], []),
    "unknown key": (_PATIENT, ["nickname"], "JJ"),
    "unknown key inside": (_PATIENT, ["name", 0, "nick"], "JJ"),
    "resourceType inside an element": (_PATIENT, ["name", 0, "resourceType"], "HumanName"),
    "extension beside a complex element": (_PATIENT, ["_name"], {"id": "x"}),
    "bool for int": (_PATIENT, ["multipleBirthInteger"], True),
    "float for int": (_PATIENT, ["multipleBirthInteger"], 2.0),
    "string for int": (_PATIENT, ["multipleBirthInteger"], "2"),
    "int for bool": (_PATIENT, ["multipleBirthBoolean"], 1),
    "string for decimal": (_OBSERVATION, ["valueQuantity", "value"], "70"),
    "bool for decimal": (_OBSERVATION, ["valueQuantity", "value"], True),
    "int for string": (_PATIENT, ["gender"], 1),
    "object for string": (_PATIENT, ["gender"], {"value": "female"}),
    "single item for a list": (_PATIENT, ["name"], {"family": "Doe"}),
    "list for a single item": (_OBSERVATION, ["code"], [{"text": "weight"}]),
    "30 February": (_PATIENT, ["birthDate"], "2021-02-30"),
    "29 February outside a leap year": (_PATIENT, ["birthDate"], "1900-02-29"),
    "31 April in a dateTime": (_OBSERVATION, ["effectiveDateTime"], "2021-04-31T10:00:00Z"),
    "29 February in an instant": (_PATIENT, ["meta", "lastUpdated"], "2023-02-29T10:00:00Z"),
    "dateTime with a time but no zone": (_OBSERVATION, ["effectiveDateTime"], "2021-03-01T10:00:00"),
    "date with a trailing newline": (_PATIENT, ["birthDate"], "2000-02-28\n"),
    "date inside a longer text": (_PATIENT, ["birthDate"], "born 2000-02-28"),
    "month 13": (_PATIENT, ["birthDate"], "2000-13"),
    "year 0000": (_PATIENT, ["birthDate"], "0000"),
    "missing required element": (_OBSERVATION, ["status"], ...),
    "missing required element inside": (_PATIENT, ["extension"], [{"valueString": "no url"}]),
    "missing required choice": (_MEDICATION_REQUEST, ["medicationCodeableConcept"], ...),
    "unknown contained type": (_PATIENT, ["contained"], [{"resourceType": "Foo", "id": "x"}]),
    "abstract contained type": (_PATIENT, ["contained"], [{"resourceType": "DomainResource", "id": "x"}]),
    "contained without a type": (_PATIENT, ["contained"], [{"id": "x"}]),
    "contained not an object": (_PATIENT, ["contained"], ["Organization/2"]),
    "invalid contained resource": (_PATIENT, ["contained", 0, "partOf"], "Organization/2"),
    "unknown resource type": (_PATIENT, ["resourceType"], "Person2"),
    "no id": (_PATIENT, ["id"], ...),
    # valid R4 (the model classes take them), but beyond what check vouches for: today's path decides
    "a decimal from 1e16 up": (_OBSERVATION, ["valueQuantity", "value"], 1e16),
}


@pytest.mark.parametrize("base", [_PATIENT, _OBSERVATION, _MEDICATION_REQUEST], ids=lambda r: r["id"])
def test_the_hand_made_resources_are_valid(base: dict) -> None:
    """The defects below are made from these: each is valid, so a None there is the defect's doing."""
    line = orjson.dumps(base)
    checked, today = check(line), _today(line)
    assert checked is not None and today is not None
    _same(checked, today)


@pytest.mark.parametrize("name", DEFECTS)
def test_check_does_not_vouch_for_a_defect(name: str) -> None:
    base, path, value = DEFECTS[name]
    resource = _defect(base, path, value)
    assert check(orjson.dumps(resource)) is None


def test_a_null_primitive_extension_is_invalid_for_both_checks() -> None:
    """fhirclient calls a null ``_x`` a superfluous entry; the fast check used to take it."""
    resource = _defect(_PATIENT, ["_gender"], None)
    assert not _model_accepts(resource)
    assert not certainly_valid(resource, resource_classes()["Patient"])
    assert check(orjson.dumps(resource)) is None


def test_an_integer_beyond_64_bits_is_left_to_todays_path() -> None:
    """orjson reads it as a float (so the two paths would store different values); R4 integers are 32-bit."""
    field = b'"multipleBirthInteger":2'
    line = orjson.dumps(_PATIENT).replace(field, field + b"0" * 20)
    assert line != orjson.dumps(_PATIENT)
    assert check(line) is None


def test_a_leap_second_elsewhere_is_accepted_as_the_model_classes_accept_it() -> None:
    line = orjson.dumps(_defect(_OBSERVATION, ["effectiveDateTime"], "2016-12-31T23:59:60Z"))
    checked, today = check(line), _today(line)
    assert checked is not None and today is not None
    _same(checked, today)


def test_a_leap_second_in_last_updated_is_read_as_the_model_classes_read_it() -> None:
    line = orjson.dumps(_defect(_PATIENT, ["meta", "lastUpdated"], "2016-12-31T23:59:60Z"))
    checked, today = check(line), _today(line)
    assert checked is not None and today is not None
    _same(checked, today)
    assert checked.last_updated == datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_malformed_json_is_left_to_todays_path() -> None:
    valid = orjson.dumps(_OBSERVATION)
    for text in [
        valid[:-1],
        valid + b"x",
        b"\xef\xbb\xbf" + valid,
        valid.replace(b'"final"', b'"fin\xffal"'),
        valid.replace(b'"final"', b'"fin\x01al"'),
        valid.replace(b'"final"', b'"fin\\ud800al"'),
        valid.replace(b"70", b"1e400"),
        valid.replace(b"70", b"070"),
        valid.replace(b"70", b"NaN"),
        valid[:-1] + b",}",
        b"[" + valid + b"]",
        b'"Observation"',
        b"",
    ]:
        assert check(text) is None, text
        assert _today(text) is None, text


# References, numbers, texts ------------------------------------------------------------------


def test_references_are_those_of_a_walk_of_the_parsed_resource() -> None:
    """Escapes, duplicate keys, extensions and contained resources: the same references as
    ``iter_references`` finds in orjson's dict, so the same keys."""
    lines = [
        orjson.dumps(_PATIENT),
        # an escaped slash, a key and a value written with \u escapes
        rb'{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},'
        rb'"subject":{"reference":"Patient\/1"},"performer":[{"refer\u0065nce":"\u0050ractitioner/2"}]}',
        # an escaped quote and backslash in a reference (not a local one: no key)
        rb'{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},'
        rb'"subject":{"reference":"Patient/1\"x\\"},"focus":[{"reference":"Group/3"}]}',
        # a reference inside an extension of a primitive, and a string "reference" of another type
        rb'{"resourceType":"DetectedIssue","id":"d","status":"final","reference":"Library/5",'
        rb'"_status":{"extension":[{"url":"u","valueReference":{"reference":"Patient/7"}}]}}',
        # a reference's text that appears in a narrative does not count
        rb'{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},'
        rb'"text":{"status":"generated","div":"<div>\"reference\":\"Patient/9\"</div>"}}',
    ]
    for line in lines:
        checked = check(line)
        assert checked is not None, line
        resource = orjson.loads(line)
        expected = sorted({key for ref in iter_references(resource) if (key := reference_key(ref))})
        assert checked.refs == expected, line
        today = _today(line)
        assert today is not None
        _same(checked, today)


def test_a_duplicate_key_is_left_to_todays_path_which_refuses_it() -> None:
    """A key sent twice would keep only its last value, unseen: neither path stores that."""
    line = (
        rb'{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},'
        rb'"subject":{"reference":"Patient/1","reference":"Patient/2"}}'
    )
    assert check(line) is None
    outcome = examine_parsed(_Received("test", 1, line, None, "read"))
    assert outcome.stage == "parse" and "duplicate JSON key 'subject.reference'" in outcome.reason


def test_untyped_extension_values_keep_their_values() -> None:
    """Inside ``_x`` numbers are untyped: a float from 1e16 up is vouched for (the same value,
    written msgspec's way), and an integer beyond 64 bits (orjson makes it a float) is left to
    today's path."""
    big_float = _defect(_PATIENT, ["_gender"], {"extension": [{"url": "u", "valueDecimal": 1.5e20}]})
    line = orjson.dumps(big_float)
    checked, today = check(line), _today(line)
    assert checked is not None and today is not None
    _same(checked, today)
    big_int = orjson.dumps(_PATIENT).replace(b'"url":"u"', b'"url":"u","x":123456789012345678901234')
    assert check(big_int) is None


def test_content_hash_is_the_contents_whatever_the_order_and_spacing_sent() -> None:
    """Keys in another order (also inside an untyped ``_x`` value) and other spacing are the
    same content, stored as the same text; another value is another content."""
    extension = {"extension": [{"url": "u", "valueString": "x"}]}
    resource = _PATIENT | {"_gender": extension}
    reordered = {k: resource[k] for k in reversed(resource)} | {
        "_gender": {"extension": [{"valueString": "x", "url": "u"}]}
    }
    first, second = check(orjson.dumps(resource)), check(orjson.dumps(reordered, option=orjson.OPT_INDENT_2))
    assert first is not None and second is not None
    assert (first.content_hash, first.resource) == (second.content_hash, second.resource)
    changed = check(orjson.dumps(resource | {"gender": "other"}))
    assert changed is not None and changed.content_hash != first.content_hash


def test_resource_text_starts_with_type_and_id_whatever_the_order_sent() -> None:
    resource = {k: _OBSERVATION[k] for k in reversed(_OBSERVATION)}
    checked = check(orjson.dumps(resource))
    assert checked is not None
    assert checked.resource.startswith('{"resourceType":"Observation","id":"o1",')
    assert orjson.loads(checked.resource) == resource


def test_numbers_are_written_as_sent_and_as_orjson_writes_them() -> None:
    """Decimals keep their form (1 stays 1, 1.0 stays 1.0); below 1e16 msgspec and orjson write
    every double alike, so both paths store a number the same way; from 1e16 they differ."""
    for value in (70, 70.0, -0.0, 1e-7, 0.1, 9999999999999998.0, 123456789.123):
        line = orjson.dumps(_defect(_OBSERVATION, ["valueQuantity", "value"], value))
        checked, today = check(line), _today(line)
        assert checked is not None and today is not None
        _same(checked, today)
    rng = random.Random(5)
    compared = 0
    while compared < 200_000:
        if rng.random() < 0.5:
            value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        else:
            value = round(rng.uniform(-1e6, 1e6), rng.randrange(0, 8))
        if not abs(value) < 1e16:  # also drops inf and nan
            continue
        assert msgspec.json.encode(value) == orjson.dumps(value), value
        compared += 1
    assert msgspec.json.encode(1e16) == b"1e16" and orjson.dumps(1e16) == b"1e+16"


def test_strings_are_written_as_orjson_writes_them() -> None:
    text = "".join(chr(i) for i in range(0x110000) if not 0xD800 <= i < 0xE000)
    assert msgspec.json.encode(text) == orjson.dumps(text)


def test_check_gives_the_same_answers_from_many_threads(region_texts) -> None:
    """References are collected per thread while decoding: threads must not mix them up."""
    texts = region_texts[:3_000]
    alone = [check(text) for text in texts]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(check, texts, chunksize=16)) == alone


# Dates ------------------------------------------------------------------------------------


def test_date_patterns_answer_as_the_model_date_classes_do() -> None:
    """Every day of years that matter for leap years, 29 February of every year, times of day."""
    years = [1, 4, 100, 400, 1600, 1700, 1900, 1996, 2000, 2001, 2023, 2024, 2100, 2400, 9996, 9999]
    days = [f"{y:04d}-{m:02d}-{d:02d}" for y in years for m in range(0, 14) for d in range(0, 33)]
    days += [f"{y:04d}-02-29" for y in range(0, 10_000)]
    times = ["T10:00:00Z", "T23:59:60+14:00", "T10:00:00.1234567-13:59", "T24:00:00Z", "T10:00:00", "Z"]
    texts = days + [d + t for d in days[:2_000:7] for t in times]
    texts += ["2021", "2021-02", "0000", "2021-2", "", "2021-02-29x", "2020-02-29\n", " 2020-02-29"]
    texts += [
        f"{h:02d}:{m:02d}:{s:02d}{f}"
        for h in range(25)
        for m in (0, 59, 60)
        for s in (0, 59, 60, 61)
        for f in ("", ".5", ".123456789", ".")
    ]
    for typ in (FHIRDate, FHIRDateTime, FHIRInstant, FHIRTime):
        pattern = re.compile(date_pattern(typ))
        for text in texts:
            assert (pattern.search(text) is not None) == _model_date_ok(typ, text), (typ.__name__, text)
    assert sum(_model_date_ok(FHIRDate, t) for t in days) > 8_000, "the cases must include valid ones"


def test_structs_mirror_the_element_tables() -> None:
    """Spot checks of the generated types: names, JSON names, id first, tags."""
    types = struct_types()
    assert len(types) > 600
    patient = types["Patient"]
    assert patient.__struct_fields__[:2] == ("id", "id_ext")
    assert patient.__struct_encode_fields__[:2] == ("id", "_id")
    assert patient.__struct_config__.tag == "Patient"
    encounter = types["Encounter"]
    assert "class_fhir" in encounter.__struct_fields__ and "class" in encounter.__struct_encode_fields__
    assert types["HumanName"].__struct_config__.tag is None
