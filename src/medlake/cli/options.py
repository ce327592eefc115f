"""Options shared by many commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Home = Annotated[
    Path | None,
    typer.Option(
        "--home", help="workspace directory (default: $MEDLAKE_HOME or ./.medlake)", show_default=False
    ),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="print a machine-readable JSON summary")]
