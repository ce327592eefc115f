"""Real databases for the SQL import: a fresh MariaDB or PostgreSQL database per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import server_up

MARIADB_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/test"


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, uniquely named MariaDB database, dropped afterwards."""
    if not server_up(3306):
        pytest.fail(
            "MariaDB is not running on 127.0.0.1:3306 "
            "(start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)"
        )
    name = f"medlake_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(MARIADB_ADMIN)
    with admin.begin() as con:
        con.execute(text(f"CREATE DATABASE `{name}`"))
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    finally:
        with admin.begin() as con:
            con.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(params=["mariadb", "postgres"])
def his_url(request) -> str:
    """The same test on both real servers."""
    fixture = "mariadb_url" if request.param == "mariadb" else "postgres_url"
    if request.param == "mariadb":
        request.applymarker(pytest.mark.mariadb)
    else:
        request.applymarker(pytest.mark.postgres)
    return request.getfixturevalue(fixture)


def terminate_others(url: str) -> Callable[[], int]:
    """A function that kills, from another session, every other connection to ``url``'s database."""
    database = url.rsplit("/", 1)[1]
    if url.startswith("postgresql"):
        admin_url = url.rsplit("/", 1)[0] + "/postgres"
        query = text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :db AND pid <> pg_backend_pid()"
        )

        def kill() -> int:
            engine = create_engine(admin_url)
            try:
                with engine.begin() as con:
                    return con.execute(query, {"db": database}).scalar_one()
            finally:
                engine.dispose()

        return kill

    def kill_mysql() -> int:
        engine = create_engine(MARIADB_ADMIN)
        try:
            with engine.begin() as con:
                ids = (
                    con.execute(
                        text(
                            "SELECT id FROM information_schema.processlist "
                            "WHERE db = :db AND id <> CONNECTION_ID()"
                        ),
                        {"db": database},
                    )
                    .scalars()
                    .all()
                )
                for connection_id in ids:
                    con.execute(text(f"KILL {int(connection_id)}"))
                return len(ids)
        finally:
            engine.dispose()

    return kill_mysql
