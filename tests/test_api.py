"""The public Python API: the README's example runs as written, and the workspace covers the whole job."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import medlake
from medlake.demo import run_demo
from medlake.workspace import Workspace as Floor

PROJECT = Path(__file__).resolve().parents[1]


def _readme_python() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (PROJECT / "README.md").read_text(), flags=re.DOTALL)
    assert blocks, "the README shows the Python API"
    return "\n".join(blocks)


@pytest.mark.slow
def test_the_readme_python_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_demo(tmp_path / "demo-region", residents=60, seed=3)  # what `make demo` leaves, smaller
    scope: dict[str, object] = {}
    exec(compile(_readme_python(), "README.md", "exec"), scope)  # exactly the README's lines
    ws, mine = scope["ws"], scope["mine"]
    assert isinstance(ws, medlake.Workspace) and isinstance(mine, medlake.Workspace)
    means = ws.sql("SELECT code, avg(value_quantity) AS mean FROM warehouse.observation GROUP BY code")
    assert means.num_rows > 0 and means.column("mean").null_count < means.num_rows
    assert set(mine.tables()) == set(ws.tables()), "the whole job gives the demo's tables"
    assert mine.table("warehouse.person_link").num_rows == ws.table("warehouse.person_link").num_rows
    assert not scope["ws"].person(scope["someone"]).timeline.empty  # type: ignore[attr-defined]


def test_the_public_workspace_sits_on_the_floor_and_the_floor_knows_nothing_above(tmp_path: Path) -> None:
    ws = medlake.init_workspace(tmp_path / "ws")
    assert isinstance(ws, Floor) and isinstance(medlake.open_workspace(tmp_path / "ws"), medlake.Workspace)
    assert not hasattr(Floor, "person") and not hasattr(Floor, "ingest")
    with pytest.raises(medlake.MissingInput, match="no such file or folder"):
        ws.ingest(tmp_path / "nowhere", "hosp-a")
    with pytest.raises(medlake.InputError, match="landing zone"):
        ws.ingest(tmp_path / "ws")  # a folder without institution folders of FHIR files
    with pytest.raises(medlake.NotReady, match="medlake build"):
        ws.link()


def test_the_package_is_typed() -> None:
    settings = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    assert "py.typed" in settings["tool"]["setuptools"]["package-data"]["medlake"]
    assert (Path(medlake.__file__).parent / "py.typed").is_file()
