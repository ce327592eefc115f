"""Secrets stay out of the catalog, and out of every message.

``sources add … --location 'postgresql+psycopg://u:pw@h/db'`` (or ``?password=``) was accepted:
the password was stored in clear and printed by ``sources list``; an unencoded ``@`` in a
password leaked the part after it in an error message.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from medlake import secrets
from medlake.cli import app
from medlake.sources.database.connection import DatabaseUrlError, display_url

runner = CliRunner()
PASSWORD = "hunter2"

LITERAL = [
    f"postgresql+psycopg://reader:{PASSWORD}@db.example/his",
    f"postgresql+psycopg://reader@db.example/his?password={PASSWORD}",
    f"postgresql+psycopg://db.example/his?sslmode=require&PASSWORD={PASSWORD}",
    f"mysql+pymysql://reader:{PASSWORD}@x@db.example/his",  # an unencoded @ in the password
    f"mysql+pymysql://reader:p/a{PASSWORD}@db.example/his",  # and a slash
    f"host=db.example dbname=his user=reader password={PASSWORD}",  # libpq key=value
    f"https://search.example/articles?api_key={PASSWORD}",
]


@pytest.mark.parametrize("location", LITERAL)
def test_a_location_with_a_password_in_clear_is_refused_and_never_stored(workspace, location) -> None:
    with pytest.raises(secrets.LiteralSecret, match=r"\$\{VAR\}") as refused:
        workspace.catalog.add_source("his", "hosp-a", "sql", location)
    assert PASSWORD not in str(refused.value)
    with workspace.catalog.engine.connect() as con:
        assert con.execute(text("SELECT COUNT(*) FROM sources")).scalar() == 0


@pytest.mark.parametrize("location", LITERAL)
def test_every_url_form_is_redacted(location) -> None:
    redacted = secrets.redact(f"could not connect to {location!r}: timeout")
    assert PASSWORD not in redacted and "***" in redacted
    assert "x@db.example" not in redacted, "nothing of the password after an unencoded @"


def test_placeholders_pass_and_are_shown(workspace) -> None:
    for location in (
        "postgresql+psycopg://reader:${HIS_PASSWORD}@db.example/his",
        "postgresql+psycopg://reader@db.example/his?password=${HIS_PASSWORD}",
        "postgresql+psycopg://reader@db.example:5432/his",
    ):
        workspace.catalog.add_source("his", "hosp-a", "sql", location)
        [source] = workspace.catalog.sources()
        assert source.location == location


def test_the_cli_refuses_a_password_in_a_location_or_an_option(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MEDLAKE_HOME", str(tmp_path / "ws"))
    assert runner.invoke(app, ["init"]).exit_code == 0
    add = ["sources", "add", "his", "-i", "hosp-a", "--kind", "sql"]
    for arguments in (
        ["--location", f"postgresql+psycopg://u:{PASSWORD}@h/db"],
        ["--location", f"postgresql+psycopg://u@h/db?password={PASSWORD}"],
        ["--location", "postgresql+psycopg://u@h/db", "--option", f"password={PASSWORD}"],
    ):
        result = runner.invoke(app, [*add, *arguments])
        assert result.exit_code == 1
        assert "${VAR}" in result.output and PASSWORD not in result.output
    listed = runner.invoke(app, ["sources", "list", "--json"])
    assert listed.exit_code == 0 and listed.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "url",
    [
        f"mysql+pymysql://reader:{PASSWORD}@x@db.example/his",  # SQLAlchemy took 'x@db.example' for the host
        f"postgresql+psycopg//reader:{PASSWORD}@db.example/his",  # not a URL at all
    ],
)
def test_an_error_about_a_database_url_leaks_nothing_of_the_password(url) -> None:
    with pytest.raises(DatabaseUrlError) as error:
        display_url(url)
    assert PASSWORD not in str(error.value) and "x@db" not in str(error.value)
