"""``medlake kg``, ``info``, ``search`` and ``recommend`` end to end over a real workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlake.cli import app
from medlake.cli import knowledge as cli
from medlake.knowledge import build, recommend, search
from tests.cli.test_cli import medlake, runner
from tests.knowledge.articles import ARTICLES, write
from tests.knowledge.test_mediawiki import FIXTURE


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ws"
    monkeypatch.setenv("MEDLAKE_HOME", str(home))
    medlake("init")
    return home


def test_the_cli_defaults_are_the_package_defaults() -> None:
    assert cli.SOURCE_NAMES == build.SOURCE_NAMES
    assert cli.SEARCH_LIMIT == search.DEFAULT_LIMIT
    assert cli.RECOMMEND_LIMIT == recommend.DEFAULT_LIMIT


def test_load_build_search_neighbours_path(home: Path, tmp_path: Path) -> None:
    loaded = json.loads(medlake("info", "load", str(write(tmp_path / "a.jsonl.gz")), "--json"))
    assert loaded["added"] == loaded["articles"] == len(ARTICLES)
    again = json.loads(medlake("info", "load", str(tmp_path / "a.jsonl.gz"), "--json"))
    assert again["unchanged"] == len(ARTICLES) and again["added"] == 0

    built = json.loads(
        medlake(
            "kg",
            "build",
            "--mediawiki",
            str(FIXTURE),
            "--seed",
            "CVA",
            "--max-depth",
            "1",
            "--ontology",
            "articles",
            "--json",
        )
    )
    assert built["seeds"] == {"CVA": "Stroke"}
    assert built["terms_by_source"]["wikipedia"] == built["wiki_pages_kept"] == 7

    near = json.loads(medlake("kg", "neighbours", "stroke", "--depth", "1", "--json"))
    assert all(set(n) >= {"term", "distance", "sources"} for n in near)
    assert near[0]["distance"] == 0 and {n["distance"] for n in near} == {0, 1}
    assert "Transient ischemic attack" in {n["term"] for n in near}
    assert "Warfarin" in medlake("kg", "path", "warfarin", "hypertension")

    hits = json.loads(medlake("search", "my dad had a mini stroke what now", "--limit", "3", "--json"))
    assert [list(h) for h in hits] == [["id", "score", "title", "url", "expanded_with"]] * len(hits)
    assert hits[0]["id"] == "TIA_1" and hits[0]["expanded_with"]
    plain = json.loads(medlake("search", "my dad had a mini stroke what now", "--no-expand", "--json"))
    assert plain[0]["id"] != "TIA_1"
    assert all(e["reason"].startswith("spelling") for h in plain for e in h["expanded_with"])
    assert "Transient" in medlake("search", "mini stroke")


def test_errors_are_clear(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["kg", "neighbours", "stroke"])
    assert result.exit_code == 1 and "medlake kg build" in result.output
    result = runner.invoke(
        app, ["kg", "build", "--mediawiki", str(tmp_path / "none.xml"), "--seed", "Stroke"]
    )
    assert result.exit_code == 1 and "no MediaWiki export" in result.output
    result = runner.invoke(app, ["info", "load", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 1 and "no file" in result.output
    result = runner.invoke(app, ["recommend", "PXXXX"])
    assert result.exit_code == 1 and "medlake info load" in result.output
