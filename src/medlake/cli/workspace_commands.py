"""``medlake init`` and ``medlake catalog``."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from medlake.cli.options import Home, JsonOutput
from medlake.cli.output import console, fail, print_json, table, workspace_or_exit

#: The lake's layers (``medlake.lake.Layer``; a test keeps the two equal), spelt out here so
#: that ``--help`` and the check of ``--layer`` need not load the lake.
LayerName = Literal["raw", "integrated", "warehouse", "marts"]


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("catalog")(catalog)


def init(
    home: Home = None,
    catalog_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL of the catalog (default: SQLite in the workspace)")
    ] = None,
    lake_uri: Annotated[str | None, typer.Option(help="root of the lake (default: <home>/lake)")] = None,
    json_output: JsonOutput = False,
) -> None:
    """Create a workspace: settings file, catalog (migrated to the newest schema) and lake."""
    from medlake.workspace import init_workspace

    ws = init_workspace(home, catalog_url=catalog_url, lake_uri=lake_uri)
    summary = {
        "home": str(ws.home),
        "settings": str(ws.home / "medlake.toml"),
        "catalog": _safe_url(ws.settings.resolved_catalog_url),
        "lake": ws.settings.resolved_lake_uri,
    }
    if json_output:
        print_json(summary)
    else:
        for key, value in summary.items():
            console.print(f"{key:>8}: {value}")


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def catalog(
    name: Annotated[str | None, typer.Argument(help="one dataset, e.g. warehouse.patient")] = None,
    layer: Annotated[LayerName | None, typer.Option(help="only this layer")] = None,
    home: Home = None,
    json_output: JsonOutput = False,
) -> None:
    """Every dataset: layer, version, rows per institution, schema, lineage and last build."""
    ws = workspace_or_exit(home)
    datasets = ws.catalog.datasets(layer)
    if name:
        datasets = [d for d in datasets if d.name == name]
        if not datasets:
            raise fail(f"no dataset {name!r}")
    entries = []
    for d in datasets:
        lineage = ws.catalog.lineage(d.name)
        moved = ws.catalog.stale_inputs(d.name)
        entries.append(
            {
                "name": d.name,
                "layer": d.layer,
                "location": d.location,
                "uri": ws.lake.resolve(d.location),
                "version": d.version,
                "rows": d.rows,
                "rows_by_institution": d.rows_by_institution,
                "schema": d.schema_json,
                "description": d.description,
                "last_build_at": d.last_build_at,
                "job_id": d.job_id,
                "stale": [{"input": i, "shows": shown, "now": now} for i, shown, now in moved],
                "lineage": {
                    "datasets": [
                        {"name": i.input_name, "version": i.input_version}
                        for i in lineage
                        if i.input_kind == "dataset"
                    ],
                    "batches": [i.input_name for i in lineage if i.input_kind == "batch"],
                },
            }
        )
    if json_output:
        print_json(entries)
        return
    from medlake.person.freshness import SERVING_STORE, stale_person_tables

    store = [s for s in stale_person_tables(ws) if s.name == SERVING_STORE] if not name else []
    rows = []
    for e in entries:
        inputs = ", ".join(f"{i['name']}@v{i['version']}" for i in e["lineage"]["datasets"])
        batches = len(e["lineage"]["batches"])
        lineage_text = inputs + (f" + {batches} batches" if batches else "")
        institutions = ", ".join(f"{k}:{v}" for k, v in (e["rows_by_institution"] or {}).items())
        rows.append(
            (
                e["name"],
                e["version"],
                e["rows"],
                institutions,
                lineage_text,
                f"{e['last_build_at']:%Y-%m-%d %H:%M:%S}",
                ", ".join(f"{m['input']} v{m['shows']}->v{m['now']}" for m in e["stale"]) or "",
            )
        )
    console.print(
        table(
            "catalog",
            ["dataset", "version", "rows", "rows by institution", "lineage", "built", "stale (input moved)"],
            rows,
        )
    )
    if store:
        console.print(f"stale: {store[0]}", markup=False, soft_wrap=True)
    if name and entries:
        schema_rows = [(c["name"], c["type"], c["nullable"]) for c in entries[0]["schema"] or []]
        console.print(table("schema", ["column", "type", "nullable"], schema_rows))
        console.print(f"job: {entries[0]['job_id']}  uri: {entries[0]['uri']}")
