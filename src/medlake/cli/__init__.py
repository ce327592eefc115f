"""The ``medlake`` command line: one entry point, one module per area.

Every command prints a human summary by default and a machine-readable one with
``--json``; long work shows a progress bar on a terminal (on stderr, so JSON stays clean).

Errors meant for the user (:class:`~medlake.errors.MedlakeError`) are caught in one place, the
top command group below, and printed as one ``error: …`` line with exit status 1; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperGroup, TyperOption

from medlake.cli import (
    configuration,
    conformance,
    data,
    demo,
    devices,
    documents,
    hl7,
    knowledge,
    ledger,
    link,
    person,
    score,
    sources,
    synth,
    tabular,
    workspace_commands,
)
from medlake.cli.output import errors, printable
from medlake.errors import MedlakeError
from medlake.secrets import redact


class MedlakeGroup(TyperGroup):
    """The ``medlake`` group: every command runs inside :meth:`invoke`, the one place that turns a
    :class:`MedlakeError` into its message (passwords in URLs redacted) and exit status 1."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MedlakeError as exc:
            errors.print(Text.assemble(("error:", "red"), " ", printable(redact(str(exc)))), soft_wrap=True)
            raise typer.Exit(1) from None


_display_type_rich = TyperOption.display_type_rich


def _no_type_for_flags(self: TyperOption, ctx: Any) -> str | None:
    """Typer shows ``<bool>`` beside every flag (``--json <bool>``, even ``--help <bool>``), as if
    it took a value; a flag takes none, so its help shows no type."""
    return None if self.is_flag else _display_type_rich(self, ctx)


TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]

app = typer.Typer(
    cls=MedlakeGroup,
    name="medlake",
    help="medlake: a regional health data center on a lakehouse (FHIR in, Delta Lake, SQL-on-FHIR views).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from medlake import __version__

        typer.echo(f"medlake {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print medlake's version and exit"
        ),
    ] = False,
) -> None:
    """medlake: a regional health data center on a lakehouse (FHIR in, Delta Lake, SQL-on-FHIR views)."""


workspace_commands.register(app)
configuration.register(app)
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
score.register(app)
ledger.register(app)
knowledge.register(app)
app.add_typer(conformance.app, name="conformance", help="Run conformance suites against medlake's engines.")


def main() -> None:
    app()
