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


def test_a_null_value_takes_the_explaining_path_and_is_still_judged() -> None:
    """msgspec cannot vouch for a null; the model classes treat it as absent and accept."""
    row = judged({"resourceType": "Patient", "id": "p1", "gender": None, "active": True})
    assert isinstance(row, Accepted) and row.resource_id == "p1"


def test_both_paths_reject_what_is_not_r4_with_a_reason() -> None:
    row = judged({"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-30"})
    assert isinstance(row, Rejected) and row.stage == "validation" and "birthDate" in row.reason
    row = judged(b'{"resourceType": "Patient", "id": ')
    assert isinstance(row, Rejected) and row.stage == "parse"
