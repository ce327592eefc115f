"""Fixtures shared by every test package: workspaces, reference data, real servers."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
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


@pytest.fixture(scope="session")
def migrated_catalog(tmp_path_factory) -> Path:
    """A catalog with every migration applied, made once: copying it (a few ms) instead of
    migrating each test's catalog (about half a second) is most of a workspace's cost."""
    template = init_workspace(tmp_path_factory.mktemp("template") / "ws")
    template.catalog.close()
    return template.home / "catalog.db"


@pytest.fixture
def make_workspace(tmp_path: Path, migrated_catalog: Path):
    """A factory of fresh workspaces under tmp_path; settings may be overridden per call.

    Each workspace is made by ``init_workspace`` (settings file, catalog, lake) over a copy of
    the template's catalog, so its migrations find nothing to do; a workspace whose catalog
    is elsewhere (``catalog_url``) is migrated as usual.
    """
    counter = iter(range(1_000))

    def make(**settings: object) -> Workspace:
        settings.setdefault("ingest_workers", 1)
        home = tmp_path / f"ws{next(counter)}"
        if settings.get("catalog_url") is not None:
            return init_workspace(home, **settings)
        home.mkdir(parents=True)
        shutil.copyfile(migrated_catalog, home / "catalog.db")
        return init_workspace(home, **settings)  # finds the schema at head: nothing to migrate

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


_REGIONS: dict[tuple[int, int], Path] = {}


def synthetic_region(target: Path, residents: int, seed: int) -> Path:
    """The synthetic region of ``residents`` and ``seed``, copied to ``target``.

    Generation is deterministic (tests/synth/test_determinism.py), so each region is
    generated once per test session and copied (milliseconds) for every test that asks;
    the copy is the test's own to add files to.
    """
    from medlake.synth import generate_region

    key = (residents, seed)
    if key not in _REGIONS:
        cache = Path(tempfile.mkdtemp(prefix="medlake-test-regions-"))
        atexit.register(shutil.rmtree, cache, ignore_errors=True)
        generate_region(cache / "region", residents, seed)
        _REGIONS[key] = cache / "region"
    shutil.copytree(_REGIONS[key], target)
    return target


def built_region(
    base: Path, residents: int, seed: int, exclude: tuple[str, ...] = ()
) -> tuple[Workspace, Path]:
    """A synthetic region under ``base``: generated, each institution ingested (but ``exclude``), built.

    Returns the workspace and the region's folder (with ``truth/``), for tests that link it.
    """
    from medlake.build.run import build_all
    from medlake.ingest import ingest_path

    region = synthetic_region(base / "region", residents, seed)
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
