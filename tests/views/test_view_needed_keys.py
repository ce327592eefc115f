"""A view whose rows need a ``forEach`` over some element skips resources that never name it.

Which elements count is pinned on :func:`_needed_keys`; that skipping changes no row is
checked against the same view compiled without it, over resources with the element, without
it, with it only inside a text value, as a choice key, and spelled with ``\\u`` escapes.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pyarrow as pa
import pytest

from medlake.engine.duckdb_engine import DuckDBEngine
from medlake.views import compile_view
from medlake.views.compiler import _needed_keys
from medlake.views.definition import parse_view


def _view(*selects: dict[str, Any], resource: str = "Patient") -> dict[str, Any]:
    return {"resource": resource, "select": [{"column": [{"name": "id", "path": "id"}]}, *selects]}


def _names(for_each: dict[str, Any]) -> dict[str, Any]:
    return {**for_each, "column": [{"name": "family", "path": "family"}]}


@pytest.mark.parametrize(
    ("select", "needed"),
    [
        (_names({"forEach": "name"}), ("name",)),
        (_names({"forEach": "name.where(use = 'official')"}), ("name",)),
        (_names({"forEachOrNull": "name"}), ()),  # a resource without names still has a row
        (_names({"forEach": "Patient.name"}), ()),  # a type first: not an element name
        (_names({"forEach": "%resource.name"}), ()),
        (_names({"forEach": "extension('http://x').value"}), ()),  # a function first
        (_names({"forEach": "name | contact.name"}), ()),  # a union: items from elsewhere too
        (_names({"forEach": "name.exists()"}), ()),  # one item (false) without any name
        (_names({"forEach": "name[0].given.first()"}), ("name",)),
        ({"select": [_names({"forEach": "name"})]}, ("name",)),  # in a nested select
        ({"unionAll": [_names({"forEach": "name"}), _names({"forEach": "contact.name"})]}, ()),
    ],
)
def test_which_elements_a_resource_must_name(select: dict[str, Any], needed: tuple[str, ...]) -> None:
    assert _needed_keys(parse_view(_view(select)).root) == needed


RESOURCES = [
    {
        "resourceType": "Observation",
        "id": "with",
        "status": "final",
        "code": {"text": "bp"},
        "component": [
            {"code": {"text": "sys"}, "valueQuantity": {"value": 120}},
            {"code": {"text": "dia"}, "valueString": "80"},
        ],
    },
    {
        "resourceType": "Observation",
        "id": "without",
        "status": "final",
        "code": {"text": "hr"},
        "valueQuantity": {"value": 60},
    },
    {
        "resourceType": "Observation",
        "id": "in-text",
        "status": "final",
        "code": {"text": "component of a panel"},
        "note": [{"text": "component"}],
    },
]
ESCAPED = (
    '{"resourceType":"Observation","id":"escaped","status":"final","code":{"text":"x"},'
    '"\\u0063omponent":[{"code":{"text":"sys"},"valueQuantity":{"value":1}}]}'
)


@pytest.mark.parametrize(
    "for_each",
    [
        {"forEach": "component", "column": [{"name": "code", "path": "code.text"}]},
        {"forEach": "component.value.ofType(Quantity)", "column": [{"name": "v", "path": "value"}]},
        {"forEach": "value.ofType(Quantity)", "column": [{"name": "v", "path": "value"}]},  # a choice key
    ],
)
def test_skipping_changes_no_row(for_each: dict[str, Any]) -> None:
    view = _view(for_each, resource="Observation")
    texts = [json.dumps(r) for r in RESOURCES] + [ESCAPED]
    with DuckDBEngine() as engine:
        engine.register("src", pa.table({"resource": texts}))
        compiled = compile_view(view, engine.dialect)
        assert compiled._needed, "the view skips resources"
        unskipped = dataclasses.replace(compiled, _needed=())
        rows = engine.sql(compiled.sql("src")).to_pylist()
        expected = engine.sql(unskipped.sql("src")).to_pylist()
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert rows, "some resource has rows"
