"""Fixtures shared by every test package: workspaces, reference data, real servers."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest

from medlake.workspace import Workspace, init_workspace

PROJECT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEDLAKE_SHARED", PROJECT.parent / "shared"))


def shared_path(relative: str) -> Path:
    """A path under ../shared/, or skip the test with the reason: users' clones have no shared/."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"reference material {path} is not present (it lives in ../shared/ beside the project)")
    return path


def server_up(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@pytest.fixture
def make_workspace(tmp_path: Path):
    """A factory of fresh workspaces under tmp_path; settings may be overridden per call."""
    counter = iter(range(1_000))

    def make(**settings: object) -> Workspace:
        settings.setdefault("ingest_workers", 1)
        home = tmp_path / f"ws{next(counter)}"
        return init_workspace(home, **settings)

    return make


@pytest.fixture
def workspace(make_workspace) -> Workspace:
    return make_workspace()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards."""
    if not server_up(5432):
        pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
    import psycopg

    name = f"medlake_test_{uuid.uuid4().hex[:10]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def built_region(
    base: Path, residents: int, seed: int, exclude: tuple[str, ...] = ()
) -> tuple[Workspace, Path]:
    """A synthetic region under ``base``: generated, each institution ingested (but ``exclude``), built.

    Returns the workspace and the region's folder (with ``truth/``), for tests that link it.
    """
    from medlake.build.run import build_all
    from medlake.ingest import ingest_path
    from medlake.synth import generate_region

    region = base / "region"
    generate_region(region, residents, seed)
    ws = init_workspace(base / "ws", ingest_workers=1)
    for folder in sorted(p for p in region.iterdir() if p.is_dir() and p.name != "truth"):
        if folder.name not in exclude:
            ingest_path(ws, folder, folder.name)
    build_all(ws)
    return ws, region


def pairs_of(groups: pd.Series) -> set[tuple[str, str]]:
    """Every unordered pair of ids that share a group label (``groups`` is indexed by id).

    Linkage tests count pairs with this plain set construction rather than with
    ``medlake.link.evaluate``, so that the code under test does not grade itself.
    """
    return {pair for _, ids in groups.groupby(groups) for pair in combinations(sorted(ids.index), 2)}
