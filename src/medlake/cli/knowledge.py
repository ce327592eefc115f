"""``medlake kg``, ``medlake info``, ``medlake search``, ``medlake recommend``: the knowledge layer.

``kg build`` merges the ontologies, the loaded articles' concepts and (with ``--mediawiki``) a
crawl of a Wikipedia export into the knowledge graph; ``kg neighbours`` and ``kg path`` query it;
``info load`` loads health-information articles; ``search`` finds articles, expanding the query
through the graph; ``recommend`` suggests articles to one resident from their own records.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, fail, print_json, table, workspace_or_exit

# The knowledge package (tantivy, networkx, the MediaWiki parsers) is imported by the commands
# that use it, so that every other command starts without it.
SOURCE_NAMES = ("icd10", "hpo", "articles")
SEARCH_LIMIT = 10
RECOMMEND_LIMIT = 5

kg_app = typer.Typer(
    help="The knowledge graph: build it, and ask it for neighbours and paths.", no_args_is_help=True
)
info_app = typer.Typer(help="Health-information articles.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(kg_app, name="kg")
    app.add_typer(info_app, name="info")
    app.command("search")(search)
    app.command("recommend")(recommend)


@kg_app.command("build")
def kg_build(
    mediawiki: Annotated[
        Path | None,
        typer.Option(
            "--mediawiki",
            help="a MediaWiki XML export (.xml or .xml.bz2) to crawl",
        ),
    ] = None,
    seed: Annotated[list[str] | None, typer.Option("--seed", help="a page to start from (repeat)")] = None,
    max_depth: Annotated[int, typer.Option("--max-depth", min=0, help="links to follow from a seed")] = 2,
    ontology: Annotated[
        list[str] | None,
        typer.Option(
            "--ontology", help=f"sources to include (repeat): {', '.join(SOURCE_NAMES)}; default all"
        ),
    ] = None,
    rule: Annotated[
        Path | None,
        typer.Option(
            "--rule",
            help="a TOML file changing the medical-term rule (docs/knowledge.md)",
        ),
    ] = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Build the knowledge graph (marts.kg_term, marts.kg_edge) from ontologies and a Wikipedia export."""
    from medlake.knowledge.build import build_graph
    from medlake.knowledge.medical import MedicalRule

    ws = workspace_or_exit(home)
    medical = MedicalRule.from_file(rule) if rule else None
    _, report = build_graph(
        ws,
        ontologies=tuple(ontology or SOURCE_NAMES),
        mediawiki=mediawiki,
        seeds=seed or (),
        max_depth=max_depth,
        rule=medical,
    )
    if json_output:
        print_json(report.as_dict())
        return
    console.print(
        f"{report.concepts} concepts from {report.terms} terms "
        f"({', '.join(f'{k} {v}' for k, v in report.terms_by_source.items())}), {report.edges} edges"
    )
    if mediawiki is not None:
        console.print(
            f"Wikipedia: {report.wiki_pages_read} articles read, {report.wiki_medical_pages} medical, "
            f"{report.wiki_pages_kept} within {max_depth} links of the seeds"
        )
        for given, page in report.seeds.items():
            if page is None:
                console.print(f"[yellow]seed {given!r} is not a page of the export[/yellow]")


def _ask(home: Path | None, question: Callable[[Any], Any], json_output: bool) -> Any:
    """The graph's answer to ``question`` (printed as JSON with ``--json``), or exit 1 saying why."""
    from medlake.knowledge.search import load_graph

    graph = load_graph(workspace_or_exit(home))
    if graph is None:
        raise fail("no knowledge graph yet: run `medlake kg build` first")
    answer = question(graph)
    if json_output:
        print_json(answer)
    return answer


@kg_app.command("neighbours")
def kg_neighbours(
    term: Annotated[str, typer.Argument(help="a name, synonym or id (icd10:I63, hpo:HP:0001297)")],
    depth: Annotated[int, typer.Option("--depth", min=0, help="steps from the term")] = 1,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """The terms within DEPTH steps of TERM, nearest first."""
    found = _ask(home, lambda graph: graph.neighbours(term, depth), json_output)
    if json_output:
        return
    rows = [(n["distance"], n["term"], ", ".join(n["sources"])) for n in found]
    console.print(table(None, ["distance", "term", "sources"], rows))


@kg_app.command("path")
def kg_path(
    a: Annotated[str, typer.Argument(help="from this term")],
    b: Annotated[str, typer.Argument(help="to this term")],
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """A shortest path between two terms, with the relation and provenance of each step."""
    steps = _ask(home, lambda graph: graph.path(a, b), json_output)
    if json_output:
        return
    if not steps:
        raise fail(f"{a!r} and {b!r} are not connected")
    for step in steps:
        via = step.get("via")
        prefix = f"  -- {'/'.join(via['relations'])} ({', '.join(via['sources'])}) --> " if via else ""
        console.print(f"{prefix}{step['term']} [dim]{step['id']}[/dim]")


@info_app.command("load")
def info_load(
    file: Annotated[Path, typer.Argument(help="articles as JSON Lines (.jsonl or .jsonl.gz)")],
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Load health-information articles; loading again replaces changed ones and adds nothing else."""
    from medlake.knowledge.store import load_articles

    ws = workspace_or_exit(home)
    report = load_articles(ws, file)
    if json_output:
        print_json(report.as_dict())
        return
    console.print(
        f"{report.received} received: {report.added} added, {report.replaced} replaced, "
        f"{report.unchanged} unchanged, {report.rejected} rejected, {report.duplicates} duplicates; "
        f"{report.articles} articles indexed"
    )
    if report.rejected:
        console.print(
            'rejected lines with their reasons: `medlake sql "SELECT * FROM marts.info_article_rejected"`'
        )


def search(
    query: Annotated[str, typer.Argument(help="what to look for, as a person would ask it")],
    expand: Annotated[
        bool, typer.Option("--expand/--no-expand", help="expand the query through the knowledge graph")
    ] = True,
    limit: Annotated[int, typer.Option("--limit", min=1, help="hits to return")] = SEARCH_LIMIT,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Search the health-information articles."""
    from medlake.knowledge.search import ArticleSearch

    ws = workspace_or_exit(home)
    hits = ArticleSearch(ws).search(query, expand_query=expand, limit=limit)
    if json_output:
        print_json([h.as_dict() for h in hits])
        return
    rows = [
        (i, f"{h.score:.2f}", h.title, h.url, "; ".join(e["term"] for e in h.expanded_with))
        for i, h in enumerate(hits, start=1)
    ]
    console.print(table(None, ["#", "score", "title", "url", "expanded with"], rows))


def recommend(
    global_id: Annotated[str, typer.Argument(metavar="GLOBAL_ID", help="a global person id")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="articles to suggest")] = RECOMMEND_LIMIT,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Health information for one resident, from their own records, each with the reason."""
    from medlake.knowledge.recommend import Recommender

    ws = workspace_or_exit(home)
    chosen = Recommender(ws).recommend(global_id, limit)
    if json_output:
        print_json([r.as_dict() for r in chosen])
        return
    if not chosen:
        console.print(
            "nothing to suggest: no diagnosis, prescription or result of this person points to an article"
        )
        return
    for r in chosen:
        console.print(f"[bold]{r.title}[/bold]  {r.url or ''}\n  {r.reason}")
