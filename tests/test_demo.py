"""The README's first command, end to end on a small region, and the README's Python example
run against what it built."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from medlake.demo import BAD_RECORDS, BAD_RECORDS_FILE, DemoSummary, run_demo
from medlake.views.library import load_library

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.slow  # the whole demo: a region generated, ingested, built, linked


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, DemoSummary]:
    """The demo region in ``<tmp>/demo-region``, where the README's examples expect it."""
    directory = tmp_path_factory.mktemp("demo") / "demo-region"
    return directory, run_demo(directory, residents=60, seed=3)


def test_demo_builds_every_layer_and_a_second_run_adds_nothing(demo) -> None:
    directory, first = demo
    region = json.loads((directory / "exports" / "region.json").read_text())
    assert set(first.institutions) == {i["id"] for i in region["institutions"]}
    for totals in first.institutions.values():
        assert totals["received"] == totals["stored"] + totals["quarantined"] + totals["duplicates"]
    received = sum(t["received"] for t in first.institutions.values())
    generated = sum(sum(by_type.values()) for by_type in region["counts"].values())
    assert received == generated + len(BAD_RECORDS)
    assert first.layers["raw"]["raw.resources"] == sum(t["stored"] for t in first.institutions.values())
    assert first.layers["warehouse"]["warehouse.patient"] == first.layers["integrated"]["integrated.Patient"]
    assert first.persons["patient_records"] == first.layers["warehouse"]["warehouse.person_link"]
    assert 0 < first.persons["persons"] <= first.persons["patient_records"]

    again = run_demo(directory, residents=60, seed=3)
    assert all(t["stored"] == 0 for t in again.institutions.values())
    assert sum(t["received"] for t in again.institutions.values()) == received
    assert again.layers == first.layers
    assert again.quarantine == first.quarantine, "a second run quarantines nothing twice"


def test_the_planted_records_are_quarantined_with_their_reasons(demo) -> None:
    _, summary = demo
    quarantined = sum(t["quarantined"] for t in summary.institutions.values())
    assert quarantined == len(BAD_RECORDS) == len(summary.quarantine)
    lines = sorted(int(row["where"].rsplit(":", 1)[1]) for row in summary.quarantine)
    assert lines == list(range(1, len(BAD_RECORDS) + 1))
    assert {row["where"].rsplit(":", 1)[0] for row in summary.quarantine} == {BAD_RECORDS_FILE}
    reasons = " ".join(row["reason"] for row in summary.quarantine)
    for hint in ("malformed JSON", "Pateint", "effectiveDateTime", "status"):
        assert hint in reasons, reasons


def test_every_type_of_the_demo_region_has_its_views(demo) -> None:
    _, summary = demo
    integrated, warehouse = summary.layers["integrated"], summary.layers["warehouse"]
    for name, view in load_library().items():
        source = f"integrated.{view['resource']}"
        if source in integrated:
            assert f"warehouse.{name}" in warehouse, name
    for table in ("organization", "practitioner", "claim", "immunization"):
        resource = next(v["resource"] for n, v in load_library().items() if n == table)
        assert warehouse[f"warehouse.{table}"] == integrated[f"integrated.{resource}"] > 0, table


def test_the_readme_python_example_runs(demo, monkeypatch) -> None:
    directory, _ = demo
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "README.md has a Python example"
    monkeypatch.chdir(directory.parent)  # the example names demo-region/… and my-region relative to here
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # the README is ours: run it as a reader would
    mine = namespace["mine"]
    assert "warehouse.patient" in mine.tables()
    assert namespace["ws"].table("warehouse.patient").num_rows > 0
