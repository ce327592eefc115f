"""Loading articles into the lake and the index, and searching them: spelling, Chinese, expansion."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from sklearn.metrics import ndcg_score

from medlake.knowledge import tables
from medlake.knowledge.analysis import segment, terms
from medlake.knowledge.build import build_graph
from medlake.knowledge.evaluate import ndcg
from medlake.knowledge.search import ArticleSearch, search_folder
from medlake.knowledge.store import load_articles
from medlake.workspace import Workspace
from tests.knowledge.articles import ARTICLES, write
from tests.knowledge.test_mediawiki import FIXTURE

EXAMPLE = "my dad had a mini stroke what now"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    from medlake.workspace import init_workspace

    base = tmp_path_factory.mktemp("search")
    ws = init_workspace(base / "ws")
    load_articles(ws, write(base / "articles.jsonl"))
    build_graph(ws, ontologies=("articles",), mediawiki=FIXTURE, seeds=["Stroke"], max_depth=2)
    return ws


def ids(hits) -> list[str]:
    return [h.id for h in hits]


def test_load_is_idempotent_and_replaces_changed_articles(workspace: Workspace, tmp_path: Path) -> None:
    source = write(tmp_path / "a.jsonl.gz", extra_lines=["{broken"])
    first = load_articles(workspace, source)
    assert (first.added, first.replaced, first.unchanged, first.rejected) == (len(ARTICLES), 0, 0, 1)
    assert first.received == first.loaded + first.rejected + first.duplicates
    version = tables.version(workspace, tables.ARTICLE_TABLE)
    again = load_articles(workspace, source)
    assert (again.added, again.replaced, again.unchanged) == (0, 0, len(ARTICLES))
    assert tables.version(workspace, tables.ARTICLE_TABLE) == version  # nothing changed, nothing written
    assert workspace.table("marts.info_article_rejected").num_rows == 1  # the reject is not repeated
    changed = [dict(a) for a in ARTICLES[:2]]
    changed[0]["answer"] = "A transient ischemic attack needs a doctor today: kaleidoscope."
    other = load_articles(workspace, write(tmp_path / "b.jsonl", changed))
    assert (other.added, other.replaced, other.unchanged, other.articles) == (0, 1, 1, len(ARTICLES))
    assert tables.version(workspace, tables.ARTICLE_TABLE) == version + 1
    assert ids(ArticleSearch(workspace).search("kaleidoscope")) == ["TIA_1"]
    # lineage: both files, as the catalog records every built table
    lineage = {
        (i.input_kind, i.input_name.split(" ")[0]) for i in workspace.catalog.lineage("marts.info_article")
    }
    assert lineage == {("file", str(source)), ("file", str(tmp_path / "b.jsonl"))}
    assert workspace.catalog.dataset("marts.info_article").rows == len(ARTICLES)


def test_the_index_follows_the_lake_after_a_crash(loaded: Workspace) -> None:
    folder = search_folder(loaded)
    shutil.rmtree(folder)  # as if killed between the lake commit and the index commit
    assert ids(ArticleSearch(loaded).search("noonan")) == ["NOONAN_1"]


def test_hits_have_the_fields_the_api_promises(loaded: Workspace) -> None:
    hits = ArticleSearch(loaded).search("stroke treatment", limit=2)
    assert len(hits) == 2
    assert list(hits[0].as_dict()) == ["id", "score", "title", "url", "expanded_with"]
    assert hits[0].id == "STROKE_2" and hits[0].url == "https://example.org/stroke"
    assert hits[0].score >= hits[1].score > 0
    with pytest.raises(ValueError, match="limit"):
        ArticleSearch(loaded).search("stroke", limit=0)


def test_spelling_mistakes_still_find_the_article(loaded: Workspace) -> None:
    search = ArticleSearch(loaded)
    hits = search.search("symtoms of a hart atack", expand_query=False)
    assert hits[0].id == "HEART_1"
    corrections = {c.label for c in search.query("symtoms of a hart atack").clauses if c.reason}
    assert {"symptom", "heart", "attack"} <= corrections
    assert "part" not in corrections  # a correction keeps the first letter


def test_chinese_is_segmented_into_words() -> None:
    assert "高血压" in segment("高血压患者的饮食").split()
    assert "高血压" in terms("我爸爸有高血压")


def test_chinese_search(loaded: Workspace) -> None:
    assert ids(ArticleSearch(loaded).search("高血压饮食")) == ["ZH_1"]
    assert ids(ArticleSearch(loaded).search("饮食 高血压 患者", limit=1)) == ["ZH_1"]


def test_expansion_finds_what_the_user_calls_otherwise(loaded: Workspace) -> None:
    search = ArticleSearch(loaded)
    plain = search.search(EXAMPLE, expand_query=False)
    expanded = search.search(EXAMPLE)
    assert "mini" not in terms(" ".join(a["answer"] for a in ARTICLES if "answer" in a))
    assert plain[0].id != "TIA_1"
    assert expanded[0].id == "TIA_1"
    added = {e["term"]: e for e in expanded[0].expanded_with}
    assert "Transient Ischemic Attack" in added
    assert added["Transient Ischemic Attack"]["reason"].startswith("'mini stroke' is another name for")
    assert all(0 < e["weight"] < 1 for e in expanded[0].expanded_with)  # below the user's own words
    assert plain[0].expanded_with == []


def test_expansion_through_the_wikipedia_graph(loaded: Workspace) -> None:
    clauses = ArticleSearch(loaded).query("warfarin").expansions
    reasons = {c.label: c.reason for c in clauses}
    assert "Stroke" in reasons and "wikipedia:Stroke" in reasons["Stroke"]  # linked from the Stroke page


def test_ndcg_matches_scikit_learn() -> None:
    rng = random.Random(7)
    for _ in range(50):
        docs = [f"d{i}" for i in range(15)]
        gains = {d: float(rng.choice([0, 0, 1, 2, 3])) for d in docs}
        if not any(gains.values()):
            continue
        ranking = rng.sample(docs, len(docs))
        scores = [len(docs) - ranking.index(d) for d in docs]
        expected = ndcg_score([[gains[d] for d in docs]], [scores], k=10)
        assert ndcg(ranking, gains, 10) == pytest.approx(expected)
    assert ndcg(["x"], {"a": 0.0}) == 0.0


def test_a_graph_half_rebuilt_is_refused(loaded: Workspace) -> None:
    from medlake.knowledge.search import GraphError, load_graph

    graph = load_graph(loaded)
    assert graph is not None
    job = loaded.catalog.start_job("kg build")  # a build killed after its first commit
    tables.replace(loaded, tables.TERM_TABLE, graph.term_table(), [], job)
    with pytest.raises(GraphError, match="run `medlake kg build` again"):
        load_graph(loaded)
    build_graph(loaded, ontologies=("articles",), mediawiki=FIXTURE, seeds=["Stroke"], max_depth=2)
    assert load_graph(loaded) is not None
