"""``medlake demo``: the README's first command."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from medlake.cli.options import JsonOutput
from medlake.cli.output import console, errors, print_json, table


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="where the region's exports and workspace go")
    ] = Path("demo-region"),
    residents: Annotated[int, typer.Option(help="residents of the synthetic region")] = 2_000,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same region")] = 42,
    json_output: JsonOutput = False,
) -> None:
    """Synthesise a demo region, ingest every institution, build every layer, print a summary."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from medlake.demo import run_demo

    if json_output or not errors.is_terminal:
        summary = run_demo(directory.resolve(), residents, seed)
    else:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,}"),
            TimeElapsedColumn(),
            console=errors,
            transient=True,
        ) as bar:
            tasks: dict[str, int] = {}

            def advance(label: str, n: int) -> None:
                if label not in tasks:
                    tasks[label] = bar.add_task(label, total=None)
                bar.advance(tasks[label], n)

            summary = run_demo(directory.resolve(), residents, seed, progress=advance)
    if json_output:
        print_json(asdict(summary))
        return
    keys = ["files", "received", "stored", "quarantined", "duplicates", "unresolved_references"]
    rows = [(inst, *(t[k] for k in keys)) for inst, t in summary.institutions.items()]
    console.print(table("ingested per institution", ["institution", *keys], rows))
    for layer in ("raw", "integrated", "warehouse", "marts"):
        if layer in summary.layers:
            console.print(table(f"{layer} layer", ["table", "rows"], sorted(summary.layers[layer].items())))
    quarantined = summary.quarantine
    console.print(
        f"quarantine: {len(quarantined)} records set aside with their reason, none lost "
        "(received = stored + quarantined + duplicates); a few are planted on purpose:"
    )
    for row in quarantined[:6]:
        console.print(f"  {row['institution']} {row['where']}: {row['reason']}", markup=False, soft_wrap=True)
    p = summary.persons
    console.print(
        f"persons: {p['persons']:,} residents from {p['patient_records']:,} patient records "
        f"({p['pairs_for_review']} pairs for clerical review) -> warehouse.person_link"
    )
    console.print(
        f"exports:   {summary.exports}\nworkspace: {summary.workspace} (lake under lake/, catalog.db)"
    )
    console.print("try:")
    for example in summary.examples:
        console.print(f"  {example}", markup=False, soft_wrap=True)
