"""The ``medlake`` command line: one entry point, one module per area.

Every command prints a human summary by default and a machine-readable one with
``--json``; long work shows a progress bar on a terminal (on stderr, so JSON stays clean).
"""

from __future__ import annotations

import typer

from medlake.cli import (
    conformance,
    data,
    demo,
    devices,
    documents,
    hl7,
    knowledge,
    link,
    person,
    sources,
    synth,
    tabular,
    workspace_commands,
)

app = typer.Typer(
    name="medlake",
    help="medlake: a regional health data center on a lakehouse (FHIR in, Delta Lake, SQL-on-FHIR views).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

workspace_commands.register(app)
data.register(app)
synth.register(app)
synth.synth_app.command("devices")(devices.synth_devices)
synth.synth_app.command("his")(tabular.synth_his)
synth.synth_app.command("exports")(tabular.synth_exports)
demo.register(app)
sources.register(app)
documents.register(app, data.ingest_app)
hl7.register(app, data.ingest_app)
tabular.register(app, data.ingest_app)
devices.register(app, data.ingest_app)
app.add_typer(
    link.app, name="link", help="The master patient index: link records of one person across institutions."
)
person.register(app)
knowledge.register(app)
app.add_typer(conformance.app, name="conformance", help="Run conformance suites against medlake's engines.")


def main() -> None:
    app()
