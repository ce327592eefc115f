"""Judging one record: the cheap msgspec path and today's path give the same row."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from medlake.ingest.examine import Accepted, Rejected, _Received, examine


def judged(resource: dict | bytes) -> Accepted | Rejected:
    text = resource if isinstance(resource, bytes) else orjson.dumps(resource)
    return examine(_Received("f.ndjson", 1, text, None, "read"))


def test_a_leap_second_in_last_updated_is_read_as_the_model_classes_read_it() -> None:
    row = judged({"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": "2016-12-31T23:59:60Z"}})
    assert isinstance(row, Accepted)
    assert row.last_updated == datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_a_null_value_takes_the_explaining_path_and_is_refused_there() -> None:
    """msgspec cannot vouch for a null; the model classes would treat it as absent, but R4's JSON
    has no null values (an element is left out instead), so the rules refuse it."""
    row = judged({"resourceType": "Patient", "id": "p1", "gender": None, "active": True})
    assert isinstance(row, Rejected) and row.reason == "gender: null is not a value (leave the element out)"


def test_both_paths_reject_what_is_not_r4_with_a_reason() -> None:
    row = judged({"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-30"})
    assert isinstance(row, Rejected) and row.stage == "validation" and "birthDate" in row.reason
    row = judged(b'{"resourceType": "Patient", "id": ')
    assert isinstance(row, Rejected) and row.stage == "parse"


def test_instants_become_the_timestamps_arrow_itself_would_make() -> None:
    """The raw layer's ``last_updated`` column, built from cached integers, equals Arrow's own
    conversion of the datetimes: before 1970, with microseconds, far ahead, absent."""
    import pyarrow as pa

    from medlake.fhir.instants import utc_instant
    from medlake.ingest.examine import _timestamps
    from medlake.lake.tables import TIMESTAMP

    values = [
        utc_instant(text)
        for text in (
            "2020-07-19T10:04:00Z",
            "1969-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00Z",
            "2015-02-07T13:28:17.239+02:00",
            "9999-12-31T09:59:59.123456-14:00",
        )
    ] + [None]
    assert _timestamps(values).equals(pa.array(values, TIMESTAMP))
    assert _timestamps(values)[1].value == -1


def test_an_instant_beyond_the_calendar_in_utc_is_quarantined_with_its_reason() -> None:
    """Valid R4 text, but 9999-12-31 at 23:59 in UTC-14 is in the year 10000 in UTC: the record
    is rejected with a reason instead of stopping the whole job."""
    for value in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"):
        row = judged({"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": value}})
        assert isinstance(row, Rejected)
        assert row.stage == "validation" and value in row.reason and "UTC" in row.reason
