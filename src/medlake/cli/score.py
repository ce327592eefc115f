"""``medlake score``: a clinical score over every row of a CSV file, and ``--list`` of the scores.

The output is the input's columns, untouched (read as text), followed by the score's outputs,
``status`` and ``reason``; a row that cannot be scored keeps its place and says why. ``--out``
is written to a temporary file beside it and renamed, so an interrupted run leaves no half file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from medlake.cli.options import JsonOutput
from medlake.cli.output import console, errors, fail, print_json, table

if TYPE_CHECKING:
    import pandas as pd

    from medlake.warn.scores.registry import Score


def register(app: typer.Typer) -> None:
    app.command("score")(score)


def score(
    name: Annotated[
        str | None,
        typer.Argument(
            help="the score: news2, qsofa, pce, prevent, qrisk3, findrisc, cha2ds2_vasc (see --list)",
            show_default=False,
        ),
    ] = None,
    input_csv: Annotated[
        Path | None,
        typer.Argument(
            metavar="INPUT.csv",
            help="one row per person or reading, columns named as --list shows ('-' reads stdin)",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="write the scored CSV here instead of stdout", show_default=False),
    ] = None,
    unit: Annotated[
        list[str] | None,
        typer.Option(
            "--unit",
            metavar="COLUMN=UCUM",
            help="the UCUM unit of a "
            "whole column, e.g. temperature=\\[degF] (a COLUMN_unit column "
            "sets it per row)",
            show_default=False,
        ),
    ] = None,
    list_scores: Annotated[
        bool, typer.Option("--list", help="each score's inputs, units, ranges, citation")
    ] = False,
    json_output: JsonOutput = False,
) -> None:
    """Score every row of INPUT.csv with a clinical score (NEWS2, PCE, PREVENT, QRISK3, ...)."""
    import pandas as pd

    from medlake.warn.scores import ScoreError, get_score, score_frame

    if list_scores:
        _list(name, json_output)
        return
    if name is None or input_csv is None:
        raise fail("give a score and an input file (medlake score NAME INPUT.csv), or --list")
    try:
        chosen = get_score(name)
        units = _units(unit or [])
        frame = _read(input_csv)
        scored = score_frame(chosen.name, frame, units)
    except (ScoreError, OSError, ValueError, pd.errors.ParserError) as exc:
        raise fail(str(exc)) from None
    summary = _summary(chosen, scored, out)
    if out is None:
        scored.to_csv(sys.stdout, index=False)
        errors.print(_summary_line(summary))
        return
    _write_atomically(scored, out)
    if json_output:
        print_json(summary)
    else:
        console.print(_summary_line(summary))


def _units(pairs: list[str]) -> dict[str, str]:
    from medlake.warn.scores import ScoreError

    units: dict[str, str] = {}
    for pair in pairs:
        column, sep, code = pair.partition("=")
        if not sep or not column or not code:
            raise ScoreError(f"--unit takes COLUMN=UCUM (e.g. temperature=[degF]), not {pair!r}")
        units[column.strip()] = code.strip()
    return units


def _read(path: Path) -> pd.DataFrame:
    """The CSV as text, so every input cell is written back exactly as it came (a byte-order mark is not
    part of the first column's name)."""
    import pandas as pd

    source = sys.stdin if str(path) == "-" else path
    return pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _write_atomically(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "w", newline="") as stream:
            frame.to_csv(stream, index=False)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _summary(chosen: Score, scored: pd.DataFrame, out: Path | None) -> dict[str, object]:
    from medlake.warn.scores.registry import STATUS

    counts = scored[STATUS].value_counts()
    return {
        "score": chosen.name,
        "rows": len(scored),
        "ok": int(counts.get("ok", 0)),
        "partial": int(counts.get("partial", 0)),
        "not_computable": int(counts.get("not computable", 0)),
        "out": str(out) if out else None,
    }


def _summary_line(summary: dict[str, object]) -> str:
    where = f" → {summary['out']}" if summary["out"] else ""
    partial = f", {summary['partial']} partial" if summary["partial"] else ""
    return (
        f"{summary['score']}: {summary['rows']} rows, {summary['ok']} scored{partial}, "
        f"{summary['not_computable']} not computable (see the reason column){where}"
    )


def _list(name: str | None, json_output: bool) -> None:
    from rich.markup import escape

    from medlake.warn.scores import SCORES, ScoreError, get_score
    from medlake.warn.scores import units as ucum

    try:
        chosen = [get_score(name)] if name else list(SCORES.values())
    except ScoreError as exc:
        raise fail(str(exc)) from None
    if json_output:
        print_json([s.describe() for s in chosen])
        return
    for item in chosen:
        rows = [
            [
                escape(str(cell))
                for cell in (
                    i.name,
                    i.kind,
                    i.unit or "",
                    ", ".join(ucum.accepted(i.unit, i.analyte)) if i.unit else "",
                    i.allowed(),
                    "yes" if i.required else "optional",
                    i.description,
                )
            ]
            for i in item.inputs
        ]
        header = ("input", "type", "unit", "accepted units", "values", "required", "meaning")
        console.print(table(escape(f"{item.name} — {item.title}"), header, rows))
        outputs = "; ".join(f"{o.name} ({o.description})" for o in item.outputs)
        for label, text in (
            ("outputs", f"{outputs}; status; reason"),
            ("citation", item.citation),
            ("validated against", item.validation),
            ("notes", item.notes),
        ):
            if text:
                console.print(f"[bold]{label}:[/bold] {escape(text)}")
        console.print()
