"""Incremental ``medlake build``: only what new raw rows change is rewritten, and the result is
row for row the result of a full build from scratch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest

from medlake.build import run as build_module
from medlake.build.changes import INSTITUTIONS
from medlake.build.run import build_all
from medlake.ingest import ingest_path
from medlake.synth import generate_region
from medlake.workspace import Workspace, open_workspace

DELIVERIES = 3


def _split_region(region: Path, out: Path, parts: int) -> list[list[tuple[Path, str]]]:
    """Each institution's files cut into ``parts`` consecutive deliveries (later lines, later
    versions: a later delivery updates resources of an earlier one)."""
    deliveries: list[list[tuple[Path, str]]] = [[] for _ in range(parts)]
    for folder in sorted(p for p in region.iterdir() if p.is_dir() and p.name != "truth"):
        for file in sorted(folder.glob("*.ndjson")):
            lines = file.read_bytes().splitlines(keepends=True)
            step = -(-len(lines) // parts)
            for k in range(parts):
                chunk = lines[k * step : (k + 1) * step]
                if not chunk:
                    continue
                target = out / f"delivery-{k}" / folder.name / file.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(b"".join(chunk))
        for k in range(parts):
            place = out / f"delivery-{k}" / folder.name
            if place.is_dir() and (place, folder.name) not in deliveries[k]:
                deliveries[k].append((place, folder.name))
    return deliveries


def _ndjson(path: Path, resources: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    return path


def _conditional_pair(out: Path) -> tuple[Path, Path]:
    """An encounter whose organisation is named by identifier, and, later, that organisation:
    the second delivery moves the first one's reference target."""
    encounter = {
        "resourceType": "Encounter",
        "id": "cond-enc-1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "serviceProvider": {"reference": "Organization?identifier=https://org.example|42"},
    }
    organisation = {
        "resourceType": "Organization",
        "id": "cond-org-1",
        "identifier": [{"system": "https://org.example", "value": "42"}],
        "name": "Conditional clinic",
    }
    return (
        _ndjson(out / "cond-1" / "Encounter.ndjson", [encounter]),
        _ndjson(out / "cond-2" / "Organization.ndjson", [organisation]),
    )


def snapshot(workspace: Workspace) -> dict[str, list[tuple]]:
    """Every integrated and warehouse table's rows, sorted, as text."""
    root = Path(workspace.settings.resolved_lake_uri)
    tables: dict[str, list[tuple]] = {}
    for layer in ("integrated", "warehouse"):
        for log in sorted((root / layer).glob("*/_delta_log")):
            data = workspace.lake.read(str(log.parent))
            assert data is not None
            names = sorted(data.column_names)
            tables[f"{layer}.{log.parent.name}"] = sorted(
                tuple(str(row[c]) for c in names) for row in data.to_pylist()
            )
    return tables


def versions(workspace: Workspace) -> dict[str, int]:
    root = Path(workspace.settings.resolved_lake_uri)
    found = {}
    for log in sorted(root.glob("*/*/_delta_log")):
        table = workspace.lake.table(str(log.parent))
        assert table is not None
        found[f"{log.parent.parent.name}.{log.parent.name}"] = table.version()
    return found


def from_scratch(workspace: Workspace, tmp_path: Path) -> Workspace:
    """A copy of the workspace with its integrated and warehouse layers deleted, then built."""
    copy = tmp_path / "scratch"
    shutil.copytree(workspace.home, copy)
    lake = Path(open_workspace(copy).settings.resolved_lake_uri)
    for layer in ("integrated", "warehouse"):
        shutil.rmtree(lake / layer, ignore_errors=True)
    scratch = open_workspace(copy)
    build_all(scratch)
    return scratch


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("region")
    generate_region(root / "region", residents=40, seed=3)
    return root


@pytest.mark.slow
def test_incremental_builds_after_each_delivery_equal_a_full_build(region, workspace, tmp_path) -> None:
    deliveries = _split_region(region / "region", tmp_path / "deliveries", DELIVERIES)
    encounter_file, organisation_file = _conditional_pair(tmp_path / "conditional")
    extra = {0: [(encounter_file, "hosp-north")], 1: [(organisation_file, "hosp-north")]}
    for k, delivery in enumerate(deliveries):
        for folder, institution in delivery + extra.get(k, []):
            ingest_path(workspace, folder, institution)
        build_all(workspace)

    incremental = snapshot(workspace)
    assert incremental == snapshot(from_scratch(workspace, tmp_path))
    # it really was incremental: the later builds merged into the tables the first one wrote
    observation = workspace.lake.table(workspace.lake.uri("integrated", "Observation"))
    operations = [c["operation"] for c in observation.history()]
    assert operations.count("MERGE") == DELIVERIES - 1
    # and the conditional reference found its target in the later delivery
    rows = workspace.lake.read(workspace.lake.uri("integrated", "Encounter"), ["id", "resource"]).to_pylist()
    encounters = {r["id"]: json.loads(r["resource"]) for r in rows}
    target = encounters["hosp-north.cond-enc-1"]["serviceProvider"]["reference"]
    assert target == "Organization/hosp-north.cond-org-1"


def test_a_build_with_nothing_new_writes_nothing(region, workspace) -> None:
    ingest_path(workspace, region / "region" / "chc-west", "chc-west")
    assert build_all(workspace)
    before = versions(workspace)
    jobs = len(workspace.catalog.jobs())
    assert build_all(workspace) == []
    assert versions(workspace) == before, "no table got a new version"
    assert len(workspace.catalog.jobs()) == jobs + 1, "the build is still on record"
    summary = workspace.catalog.jobs()[0].details
    assert summary["tables"] == [] and summary["unchanged"] > 0


def test_only_the_changed_institution_and_type_are_rewritten(region, workspace, tmp_path) -> None:
    for name in ("chc-west", "hosp-north"):
        ingest_path(workspace, region / "region" / name, name)
    build_all(workspace)
    before = versions(workspace)
    observations = [
        orjson.loads(line)
        for line in (region / "region" / "chc-west" / "Observation.ndjson").read_bytes().splitlines()
    ]
    extra = {**observations[0], "id": "late-observation-1"}
    ingest_path(workspace, _ndjson(tmp_path / "late" / "Observation.ndjson", [extra]), "chc-west")

    written = {t.name for t in build_all(workspace)}
    after = versions(workspace)
    changed = {name for name in after if after[name] != before.get(name)}
    assert "integrated.Observation" in written
    assert {n for n in changed if n.startswith("integrated.")} == {"integrated.Observation"}
    views_changed = {n for n in changed if n.startswith("warehouse.")}
    assert views_changed and views_changed == {n for n in written if n.startswith("warehouse.")}
    assert "warehouse.patient" not in changed
    for name in ["integrated.Observation", *views_changed]:
        layer, table = name.split(".", 1)
        last = workspace.lake.table(workspace.lake.uri(layer, table)).history(1)[0]
        assert json.loads(last[INSTITUTIONS]) == ["chc-west"], f"{name} rewrote only chc-west"
    # the views replaced only the new resource's rows, by its id
    last = workspace.lake.table(workspace.lake.uri("warehouse", "observation")).history(1)[0]
    assert "chc-west.late-observation-1" in last["operationParameters"]["predicate"]
    recorded = workspace.catalog.dataset("integrated.Observation")
    assert recorded.version == after["integrated.Observation"]
    assert recorded.rows_by_institution["chc-west"] == len({o["id"] for o in observations}) + 1
    stale = {d.name: workspace.catalog.stale_inputs(d.name) for d in workspace.catalog.datasets()}
    assert {name: moved for name, moved in stale.items() if moved} == {}, "every table shows its inputs"


def test_full_rewrites_every_table(region, workspace) -> None:
    ingest_path(workspace, region / "region" / "chc-west", "chc-west")
    build_all(workspace)
    before = versions(workspace)
    written = build_all(workspace, full=True)
    after = versions(workspace)
    assert {t.name for t in written} == {n for n in after if not n.startswith("raw.")}
    assert all(after[n] == before[n] + 1 for n in after if not n.startswith("raw."))


@pytest.mark.slow
def test_a_build_that_dies_midway_is_finished_by_the_next(region, workspace, tmp_path, monkeypatch) -> None:
    deliveries = _split_region(region / "region", tmp_path / "deliveries", 2)
    for folder, institution in deliveries[0]:
        ingest_path(workspace, folder, institution)
    build_all(workspace)
    for folder, institution in deliveries[1]:
        ingest_path(workspace, folder, institution)
    real_view = build_module.build_view
    done: list[str] = []

    def dying(*args, **kwargs):
        if len(done) == 4:
            raise KeyboardInterrupt  # what a kill between two commits leaves
        table = real_view(*args, **kwargs)
        done.append(args[2])
        return table

    monkeypatch.setattr(build_module, "build_view", dying)
    with pytest.raises(KeyboardInterrupt):
        build_all(workspace)
    monkeypatch.setattr(build_module, "build_view", real_view)
    build_all(workspace)
    assert snapshot(workspace) == snapshot(from_scratch(workspace, tmp_path))
    for dataset in workspace.catalog.datasets():
        table = workspace.lake.table(workspace.lake.resolve(dataset.location))
        assert dataset.version == table.version(), f"the catalog caught up with {dataset.name}"
