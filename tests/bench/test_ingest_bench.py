"""The ingest benchmark's own machinery: measurement, the fhir4ds view adaptation, the doc block.

The benchmark itself (minutes, peers in their own venvs) is not run here; these check the
parts whose mistakes would silently publish wrong figures.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

pytest.importorskip("psutil", reason="bench/_measure.py needs psutil (a dev dependency of the benchmarks)")

from _compare import emptied_columns, expected_counts  # noqa: E402
from _fhir4ds_views import DROPPED, REWRITES, fhir4ds_views  # noqa: E402
from _measure import RunFailed, run_measured  # noqa: E402
from _report import END, START, write_section  # noqa: E402
from medlake.views.library import load_library  # noqa: E402

#: A child that starts a grandchild holding ~150 MB while it itself holds ~100 MB, so only a
#: sampler that sums the whole tree sees ~250 MB; it reports two phases like a real runner.
CHILD = textwrap.dedent(
    """
    import subprocess, sys, time
    sys.path.insert(0, {bench!r})
    from _phases import PhaseClock
    clock = PhaseClock()
    with clock.phase("small"):
        time.sleep(0.3)
    with clock.phase("big"):
        grandchild = subprocess.Popen(
            [sys.executable, "-c", "import time; block = b'x' * (150 * 2**20); time.sleep(1.0)"]
        )
        block = b"x" * (100 * 2**20)  # filled, so its pages are resident
        grandchild.wait()
    clock.write({result!r}, resources=7, tables={{"t": 1}})
    """
)


def test_peak_rss_sums_the_process_tree_and_is_cut_by_phase(tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(bench=str(BENCH), result=str(result)))
    measured = run_measured([sys.executable, str(script)], result, tmp_path / "child.log")
    mb = 2**20
    assert measured.peak_rss > 230 * mb  # 100 MB + 150 MB, only visible when summed
    assert [p.name for p in measured.phases] == ["small", "big"]
    assert measured.phase_peak_rss["small"] < 100 * mb < measured.phase_peak_rss["big"]
    assert measured.result == {"resources": 7, "tables": {"t": 1}}
    assert measured.wall_seconds >= sum(p.seconds for p in measured.phases)
    assert 0 < measured.cpu_seconds < 60


def test_a_failing_child_raises_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(RunFailed, match="boom"):
        run_measured(
            [sys.executable, "-c", "raise SystemExit('boom')"], tmp_path / "r.json", tmp_path / "child.log"
        )


def test_fhir4ds_views_apply_every_adaptation_and_nothing_else() -> None:
    library = load_library()
    adapted = {v["name"]: v for v in fhir4ds_views().views}
    assert set(adapted) == set(library)

    def columns(view: dict) -> dict[str, str]:
        found: dict[str, str] = {}

        def walk(selects: list[dict]) -> None:
            for select in selects:
                found.update({c["name"]: c["path"] for c in select.get("column", [])})
                walk(select.get("select", []))

        walk(view["select"])
        return found

    for name, view in library.items():
        before, after = columns(view), columns(adapted[name])
        for column, path in before.items():
            if (name, column) in DROPPED:
                assert column not in after
            elif (name, column) in REWRITES:
                assert after[column] == REWRITES[(name, column)] != path
            else:
                assert after[column] == path


def test_expected_counts_tell_versions_and_shared_ids_apart(tmp_path: Path) -> None:
    region = tmp_path / "region"
    for institution, lines in {
        "north": [
            {"resourceType": "Patient", "id": "1", "meta": {"versionId": "1"}},
            {"resourceType": "Patient", "id": "1", "meta": {"versionId": "2"}},
            {"resourceType": "Patient", "id": "2"},
        ],
        "south": [{"resourceType": "Patient", "id": "1"}],
    }.items():
        (region / institution).mkdir(parents=True)
        (region / institution / "Patient.ndjson").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert expected_counts(region) == {"Patient": {"lines": 4, "current": 3, "ids": 2}}


def test_emptied_columns_compare_shares_not_counts() -> None:
    medlake = {"observation": {"code": [100, 100], "note": [100, 0], "loinc": [100, 90]}}
    peer = {"observation": {"code": [110, 110], "note": [110, 0], "loinc": [110, 0]}}
    assert emptied_columns(medlake, peer) == [("observation", "loinc", 0.9, 0.0)]


def test_the_doc_block_is_replaced_in_place(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# B\n\n## Ingest\n\n{START}\nold\n{END}\n\n## HL7\n\nkept\n")
    write_section(doc, f"{START}\nnew\n{END}")
    assert doc.read_text() == f"# B\n\n## Ingest\n\n{START}\nnew\n{END}\n\n## HL7\n\nkept\n"
    fresh = tmp_path / "new" / "figures.md"  # --out FILE where FILE does not exist yet
    write_section(fresh, f"{START}\nnew\n{END}")
    assert fresh.read_text() == f"{START}\nnew\n{END}\n"
    write_section(fresh, f"{START}\nnewer\n{END}")
    assert fresh.read_text() == f"{START}\nnewer\n{END}\n"
    (tmp_path / "bare.md").write_text("# no markers\n")
    with pytest.raises(ValueError, match="no generated block"):
        write_section(tmp_path / "bare.md", "x")
