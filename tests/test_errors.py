"""One exception tree: every user-facing error is a MedlakeError, the CLI prints it as one line,
and anything else (a bug) keeps its traceback."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import medlake
import medlake.errors
from medlake.cli import app
from medlake.errors import MedlakeError
from medlake.workspace import init_workspace

_MARKERS = ("├── ", "└── ")


def _all_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(medlake.__path__, "medlake."):
        if ".migrations" in info.name or info.name == "medlake.__main__":
            continue  # Alembic's env.py runs only under Alembic; __main__ runs the CLI
        names.append(info.name)
    for name in names:
        importlib.import_module(name)
    return names


def _subclasses(root: type) -> set[type]:
    found: set[type] = set()
    for sub in root.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _drawn_tree() -> dict[str, str]:
    """class name -> parent name, as the docstring of medlake.errors draws them."""
    doc = medlake.errors.__doc__ or ""
    parents: dict[str, str] = {}
    stack = ["MedlakeError"]
    for line in doc.splitlines():
        position = min((line.find(m) for m in _MARKERS if m in line), default=-1)
        if position < 0:
            continue
        depth = (position - 4) // 4 + 1  # the tree is indented by four and each level by four more
        name = line[position + 4 :].split()[0]
        del stack[depth:]
        parents[name] = stack[-1]
        stack.append(name)
    return parents


def test_the_drawn_tree_is_the_real_tree() -> None:
    _all_modules()
    real = {}
    for cls in _subclasses(MedlakeError):
        parent = next(base for base in cls.__bases__ if issubclass(base, MedlakeError))
        real[cls.__name__] = parent.__name__
    assert len(real) == len(_subclasses(MedlakeError)), "two error classes share a name"
    assert _drawn_tree() == real


def test_every_public_exception_of_medlake_is_a_medlake_error() -> None:
    outside = []
    for name in _all_modules():
        for attribute, value in vars(sys.modules[name]).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Exception)
                and value.__module__ == name
                and not attribute.startswith("_")
                and not issubclass(value, MedlakeError)
            ):
                outside.append(f"{name}.{attribute}")
    assert outside == []


def test_errors_are_exported_from_the_package_and_keep_their_old_bases() -> None:
    for name in medlake.__all__:
        value = getattr(medlake, name)
        assert value is not None
    assert issubclass(medlake.UnknownPersonError, KeyError), "callers catch a missing person as KeyError"
    assert issubclass(medlake.MappingError, ValueError)
    assert issubclass(medlake.MissingSecret, KeyError)
    assert issubclass(medlake.LakeError, OSError)
    assert str(medlake.NotFound("no person 'P1'")) == "no person 'P1'", "a KeyError would quote it"


def _medlake(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command, in a process of its own (as a user runs it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "MEDLAKE_HOME")}
    return subprocess.run(
        [sys.executable, "-m", "medlake", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _with_setting(home: Path, line: str) -> None:
    settings = home / "medlake.toml"
    settings.write_text(settings.read_text() + line + "\n")


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_an_unknown_engine_is_one_line(tmp_path: Path) -> None:
    home = init_workspace(tmp_path / "ws").home
    _with_setting(home, 'engine = "spork"')
    for command in (["build"], ["sql", "SELECT 1"]):
        line = _one_error_line(_medlake(home, *command))
        assert "unknown engine 'spork'" in line and "duckdb" in line


@pytest.mark.parametrize("where", ["bucket", "file"])
def test_an_unreachable_lake_is_one_line(tmp_path: Path, where: str) -> None:
    home = init_workspace(tmp_path / "ws").home
    if where == "bucket":
        uri = "s3://nonexistent-bucket/x"
    else:
        (tmp_path / "a-file").write_text("not a folder")
        uri = str(tmp_path / "a-file")
    _with_setting(home, f'lake_uri = "{uri}"')
    line = _one_error_line(_medlake(home, "build"))
    assert f"the lake at {uri} cannot be reached" in line


def test_a_bug_keeps_its_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_workspace(tmp_path / "ws")

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug, not the user's doing")

    monkeypatch.setattr("medlake.cli.building.build_all", broken)
    result = CliRunner().invoke(app, ["build", "--home", str(tmp_path / "ws")])
    assert isinstance(result.exception, ValueError), "a ValueError that is no MedlakeError is not tidied"
    assert "error:" not in result.output


def test_a_user_error_is_one_line_through_the_command_group(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws")
    result = CliRunner().invoke(app, ["link", "review", "show", "7", "--home", str(tmp_path / "ws")])
    assert result.exit_code == 1 and result.exception is not None
    assert result.stderr.strip() == "error: no review item 7"
