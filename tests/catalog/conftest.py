"""The catalog under test, on each backend: SQLite (embedded) and the real PostgreSQL server."""

from __future__ import annotations

import pytest

from medlake.catalog import Catalog


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog(request, tmp_path) -> Catalog:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    cat = Catalog(url)
    cat.migrate()
    yield cat
    cat.close()
