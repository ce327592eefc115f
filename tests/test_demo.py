"""The README's first command, end to end on a small region."""

from __future__ import annotations

import json

from medlake.demo import run_demo


def test_demo_builds_every_layer_and_a_second_run_adds_nothing(tmp_path) -> None:
    first = run_demo(tmp_path, residents=60, seed=3)
    region = json.loads((tmp_path / "exports" / "region.json").read_text())
    assert set(first.institutions) == {i["id"] for i in region["institutions"]}
    for totals in first.institutions.values():
        assert totals["received"] == totals["stored"] + totals["quarantined"] + totals["duplicates"]
    received = sum(t["received"] for t in first.institutions.values())
    assert received == sum(sum(by_type.values()) for by_type in region["counts"].values())
    assert first.layers["raw"]["raw.resources"] == sum(t["stored"] for t in first.institutions.values())
    assert first.layers["warehouse"]["warehouse.patient"] == first.layers["integrated"]["integrated.Patient"]
    assert first.persons["patient_records"] == first.layers["warehouse"]["warehouse.person_link"]
    assert 0 < first.persons["persons"] <= first.persons["patient_records"]

    again = run_demo(tmp_path, residents=60, seed=3)
    assert all(t["stored"] == 0 and t["duplicates"] == t["received"] for t in again.institutions.values())
    assert again.layers == first.layers
