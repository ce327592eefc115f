"""SMART v2 scope parsing: the grammar, the v1 forms, and the refusals."""

from __future__ import annotations

import pytest

from medlake.access.errors import IdentityError
from medlake.access.scopes import Scope, granted, narrow, parse


def test_v2_and_v1_forms() -> None:
    assert parse("patient/Observation.rs") == Scope("patient", "Observation", frozenset("rs"))
    assert parse("system/*.read") == Scope("system", "*", frozenset("rs"))
    assert parse("user/*.*").permissions == frozenset("cruds")
    assert parse("user/Condition.write").permissions == frozenset("cud")
    assert parse("patient/Observation.rs?category=laboratory").query == "category=laboratory"
    assert parse("openid") is None and parse("launch/patient") is None


@pytest.mark.parametrize(
    "text",
    [
        "patient/Observation.sr",
        "patient/Observation.rr",
        "admin/*.rs",
        "patient/observation.rs",
        "system/*",
        "",
    ],
)
def test_malformed_scopes_are_refused(text: str) -> None:
    with pytest.raises(IdentityError):
        parse(text)


def test_granted_needs_the_context_type_and_every_letter() -> None:
    assert granted(frozenset({"system/*.rs"}), frozenset({"system"}), "Patient", "export")
    assert not granted(frozenset({"system/*.r"}), frozenset({"system"}), "Patient", "export")
    assert not granted(frozenset({"system/*.rs"}), frozenset({"user"}), "Patient", "read")
    assert not granted(frozenset({"garbage", "user/Patient.r"}), frozenset({"user"}), "Observation", "read")


def test_narrow_keeps_only_what_is_registered() -> None:
    allowed = frozenset({"system/*.rs", "system/Observation.c"})
    assert narrow("system/Patient.rs system/*.cruds system/Observation.c", allowed) == {
        "system/Patient.rs",
        "system/Observation.c",
    }
    assert narrow("user/*.rs", allowed) == frozenset()
