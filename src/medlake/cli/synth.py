"""``medlake synth``: write a deterministic synthetic region, the data every demo, test and benchmark uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medlake.cli.options import JsonOutput
from medlake.cli.output import console, print_json, progress_bar, table

synth_app = typer.Typer(
    help="Synthesise a region (the default), or streams and systems to feed it (subcommands).",
    invoke_without_command=True,
)


def register(parent: typer.Typer) -> None:
    """Add ``synth`` (a region; with subcommands for other synthetic sources) to ``medlake``."""
    parent.add_typer(synth_app, name="synth")


@synth_app.callback()
def synth(
    ctx: typer.Context,
    residents: Annotated[int, typer.Option(help="residents of the region (about 70 resources each)")] = 100,
    seed: Annotated[
        int, typer.Option(help="random seed; the same seed and size give byte-identical files")
    ] = 1,
    out: Annotated[
        Path, typer.Option(help="output folder (previous region files in it are replaced)")
    ] = Path("demo-region"),
    gzip: Annotated[bool, typer.Option("--gzip", help="write .ndjson.gz instead of .ndjson")] = False,
    json_output: JsonOutput = False,
) -> None:
    """Synthesise a region: FHIR R4 NDJSON per institution, plus truth/ and region.json."""
    from medlake.synth import estimate_resources, generate_region

    if ctx.invoked_subcommand is not None:
        return
    with progress_bar("synthesising residents", residents, enabled=not json_output) as advance:
        summary = generate_region(out, residents=residents, seed=seed, gzip=gzip, progress=advance)
    if json_output:
        print_json(
            {
                **summary.as_json(),
                "out_dir": str(summary.out_dir),
                "seconds": round(summary.seconds, 3),
                "resources_per_second": round(summary.resources_per_second),
            }
        )
        return
    institutions = list(summary.counts)
    types = sorted({name for by_type in summary.counts.values() for name in by_type})
    rows = [(name, *(f"{summary.counts[inst].get(name, 0):,}" for inst in institutions)) for name in types]
    rows.append(("total", *(f"{sum(summary.counts[inst].values()):,}" for inst in institutions)))
    title = f"region (seed {seed}, {residents:,} residents): resources per institution"
    console.print(table(title, ["type", *institutions], rows))
    console.print(
        f"{summary.total_resources:,} resources (estimate {estimate_resources(residents):,}) "
        f"in {summary.seconds:.1f} s ({summary.resources_per_second:,.0f}/s) -> {summary.out_dir}",
        markup=False,
    )
    console.print(
        f"ground truth: {summary.out_dir / 'truth'} (persons.csv, outbreaks.csv, ...)", markup=False
    )
