"""What a score is, and the one path every row takes through one.

A score module declares its inputs (type, canonical UCUM unit, validated range), its outputs and
a pure vectorised ``compute``; this module does what every score needs and none should do twice:
find and parse the columns, convert units, refuse what is missing or outside the equation's
validated range, and say for each row whether it was computed and, if not, why. ``compute``
therefore only ever sees clean arrays, and a row it cannot vouch for is never given a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from medlake.errors import InputError
from medlake.warn.scores import units as ucum

Kind = Literal["number", "integer", "boolean", "choice"]

MISSING = frozenset({"", "na", "nan", "null", "none", "n/a"})
TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})
STATUS = "status"
REASON = "reason"
UNIT_SUFFIX = "_unit"


class ScoreError(InputError):
    """The input as a whole cannot be scored (a required column is absent, a name clashes)."""


@dataclass(frozen=True)
class Input:
    """One input column: its type, canonical UCUM unit and the range the equation was validated in."""

    name: str
    description: str
    kind: Kind = "number"
    unit: str | None = None
    analyte: str | None = None  # what is measured, for chemical conversions (units._BY_ANALYTE)
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    required: bool = True
    bounds: Literal["validated", "plausible"] = "validated"  # the equation's range, or a check on units/typos

    def allowed(self) -> str:
        """The values accepted, as ``--list`` and the reasons print them."""
        if self.kind == "boolean":
            return "true|false"
        if self.kind == "choice":
            return "|".join(self.choices)
        unit = f" {self.unit}" if self.unit else ""
        if self.low is not None and self.high is not None:
            return f"{self.low:g}–{self.high:g}{unit}"
        if self.low is not None:
            return f"≥ {self.low:g}{unit}"
        return unit.strip()

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "type": self.kind,
            "unit": self.unit,
            "accepted_units": ucum.accepted(self.unit, self.analyte) if self.unit else [],
            "range": [self.low, self.high] if self.low is not None or self.high is not None else None,
            "values": self.allowed(),
            "required": self.required,
            "bounds": self.bounds,
        }


@dataclass(frozen=True)
class Output:
    name: str
    description: str


@dataclass
class Computed:
    """What ``compute`` returns: one array per output, and rows it found it cannot vouch for.

    ``invalid``: (mask, reason) — rows not computable at all (a cross-field check, e.g. a derived
    BMI outside the validated range). ``partial``: (mask, outputs, reason) — rows for which only
    the named outputs are not computable (PREVENT's 30-year risks above age 59).
    """

    values: dict[str, np.ndarray]
    invalid: list[tuple[np.ndarray, str | np.ndarray]] = field(default_factory=list)
    partial: list[tuple[np.ndarray, tuple[str, ...], str]] = field(default_factory=list)


@dataclass(frozen=True)
class Score:
    name: str
    title: str
    citation: str
    validation: str
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    compute: Callable[[dict[str, np.ndarray]], Computed]
    notes: str = ""

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "inputs": [i.describe() for i in self.inputs],
            "outputs": [{"name": o.name, "description": o.description} for o in self.outputs]
            + [
                {"name": STATUS, "description": "ok, partial or not computable"},
                {"name": REASON, "description": "what is missing or outside the validated range"},
            ],
            "citation": self.citation,
            "validation": self.validation,
            "notes": self.notes,
        }


Problems = list[tuple[np.ndarray, str | np.ndarray]]


def _cells(
    series: pd.Series, read: Callable[[str], object], meaningful: tuple[str, ...] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value per cell, missing, unreadable) of a text-like column, ``read`` applied once per distinct cell.

    Columns repeat a handful of values (true/false, A/C/V/P/U, a unit code), so each distinct text
    is stripped, lower-cased and read once and the result spread back by the factorised codes,
    instead of running string operations over every cell. ``read`` returns None for unreadable
    text; a token such as "none" that is one of ``meaningful`` is a value, not a missing cell.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    tokens = MISSING - {m.lower() for m in meaningful}
    texts = [str(u).strip() for u in uniques]
    empty = np.array([t.lower() in tokens for t in texts] + [True], dtype=bool)
    read_values = np.array(
        [None if e else read(t) for t, e in zip(texts, empty, strict=False)] + [None], dtype=object
    )
    unreadable = np.array([v is None for v in read_values], dtype=bool) & ~empty
    return read_values[codes], empty[codes], unreadable[codes]  # code -1 (NaN) is the last entry


NUMBER = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"


def _numbers(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, missing, unparseable) of a column that should hold numbers.

    Text is parsed by Arrow: cells that look like a decimal number are cast in one vectorised step;
    only the others (empty, a missing token, "n/a", a typo) are looked at one distinct value at a time.
    """
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.astype("float64").to_numpy().copy()
        infinite = np.isinf(values)
        values[infinite] = np.nan
        return values, np.isnan(values) & ~infinite, infinite
    try:
        text = pa.array(series, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed Python objects: read each as text
        text = pa.array([None if pd.isna(v) else str(v) for v in series], type=pa.string())
    trimmed = pc.utf8_trim_whitespace(text)
    looks_numeric = pc.invert(pc.fill_null(pc.equal(trimmed, ""), True))
    try:  # the common case: numbers and empty cells
        cast = pc.cast(pc.if_else(looks_numeric, trimmed, pa.scalar(None, pa.string())), pa.float64())
    except pa.ArrowInvalid:  # some cell is not a number: keep only those that look like one
        looks_numeric = pc.fill_null(pc.match_substring_regex(trimmed, NUMBER), False)
        cast = pc.cast(pc.if_else(looks_numeric, trimmed, pa.scalar(None, pa.string())), pa.float64())
    values = cast.to_numpy(zero_copy_only=False).copy()
    looks_numeric = looks_numeric.to_numpy(zero_copy_only=False) & np.isfinite(values)  # "nan", "inf"
    failed = np.flatnonzero(~looks_numeric)
    missing = np.zeros(len(values), dtype=bool)
    bad = np.zeros(len(values), dtype=bool)
    if len(failed):
        again, gone, unreadable = _cells(series.iloc[failed], _float)
        values[failed] = [np.nan if v is None else v for v in again]
        missing[failed] = gone
        bad[failed] = unreadable
    return values, missing, bad


def _float(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _booleans(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(0/1 as floats, missing, not a boolean) of a true|false column."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        values = series.astype("float64").to_numpy()
        missing = np.isnan(values)
        bad = ~missing & (values != 0) & (values != 1)
        return np.where(bad, np.nan, values), missing, bad
    values, missing, bad = _cells(
        series, lambda t: 1.0 if t.lower() in TRUE else 0.0 if t.lower() in FALSE else None
    )
    return np.where(missing | bad, np.nan, values).astype("float64"), missing, bad


def _choices(series: pd.Series, choices: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(canonical choice or None, missing, not one of the choices); case does not matter."""
    if pd.api.types.is_numeric_dtype(series):
        series = series.map(lambda v: f"{v:g}" if pd.notna(v) else None)
    canonical = {c.lower(): c for c in choices}
    return _cells(series, lambda t: canonical.get(t.lower()), choices)


def _quoted(value: object, limit: int = 40) -> str:
    """A cell as a reason quotes it: stripped, and cut short so one bad cell cannot flood the output."""
    text = str(value).strip()
    return repr(text if len(text) <= limit else text[:limit] + "…")


def row_messages(rows: np.ndarray, texts: list[str]) -> np.ndarray:
    """A per-row message array holding ``texts`` at ``rows`` (a boolean mask), for ``Problems``."""
    out = np.empty(len(rows), dtype=object)
    out[rows] = texts
    return out


def _parse(
    item: Input, series: pd.Series, unit_cells: pd.Series | None, unit: str | None, problems: Problems
) -> np.ndarray:
    """One input column as a clean array (NaN/None where unusable), recording each problem."""
    if item.kind == "choice":
        values, missing, bad = _choices(series, item.choices)
    elif item.kind == "boolean":
        values, missing, bad = _booleans(series)
    else:
        values, missing, bad = _numbers(series)
    if item.required:
        problems.append((missing, f"missing {item.name}"))
    if bad.any():
        raw, allowed = series.to_numpy(dtype=object)[bad], item.allowed()
        problems.append((bad, row_messages(bad, [f"{item.name} {_quoted(v)} is not {allowed}" for v in raw])))
    if item.kind in ("choice", "boolean"):
        return values
    values = values.copy()
    if item.unit is not None:
        values = _to_canonical(item, values, unit_cells, unit, problems)
    if item.kind == "integer":
        fractional = ~np.isnan(values) & (values != np.round(values))
        if fractional.any():
            shown = [f"{item.name} {v:g} is not a whole number" for v in values[fractional]]
            problems.append((fractional, row_messages(fractional, shown)))
            values[fractional] = np.nan
    outside = np.zeros(len(values), dtype=bool)
    if item.low is not None:
        outside |= values < item.low
    if item.high is not None:
        outside |= values > item.high
    if outside.any():
        unit_text = f" {item.unit}" if item.unit else ""
        limits = f"outside the {item.bounds} {item.allowed()}"
        shown = [f"{item.name} {v:g}{unit_text} {limits}" for v in values[outside]]
        problems.append((outside, row_messages(outside, shown)))
        values[outside] = np.nan
    return values


def _to_canonical(
    item: Input, values: np.ndarray, unit_cells: pd.Series | None, unit: str | None, problems: Problems
) -> np.ndarray:
    """Values converted to the input's canonical unit: per row (``<name>_unit``) or per column."""
    assert item.unit is not None
    if unit_cells is None:
        source = unit or item.unit
        try:
            return ucum.convert(values, source, item.unit, item.analyte)
        except ucum.UnitError as exc:
            problems.append((~np.isnan(values), f"{item.name}: {exc}"))
            return np.full(len(values), np.nan)
    given, empty, _ = _cells(unit_cells, lambda t: t)
    codes = np.where(empty, unit or item.unit, given)
    out = np.full(len(values), np.nan)
    for code in pd.unique(codes):
        rows = codes == code
        try:
            out[rows] = ucum.convert(values[rows], str(code), item.unit, item.analyte)
        except ucum.UnitError as exc:
            problems.append((rows & ~np.isnan(values), f"{item.name}: {exc}"))
    return out


def _reasons(n: int, problems: Problems) -> tuple[np.ndarray, np.ndarray]:
    """Per row: any problem at all, and the problems joined with '; '."""
    reasons = np.full(n, "", dtype=object)
    any_problem = np.zeros(n, dtype=bool)
    for mask, message in problems:
        if not mask.any():
            continue
        rows = np.flatnonzero(mask)
        part = message if isinstance(message, str) else message[rows]
        current = reasons[rows]
        reasons[rows] = np.where(current == "", part, current + "; " + part)
        any_problem |= mask
    return any_problem, reasons


def _blank(values: np.ndarray, rows: np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """An output column with ``rows`` emptied; integers stay integers (nullable)."""
    if values.dtype.kind in "iub":
        result = pd.array(values.astype("int64"), dtype="Int64")
        result[rows] = pd.NA
        return result
    if values.dtype.kind == "f":
        return np.where(rows, np.nan, values)
    out = values.astype(object)
    out[rows] = None
    return out


def evaluate(score: Score, frame: pd.DataFrame, units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The score's outputs, ``status`` and ``reason`` for every row of ``frame`` (same index).

    ``units`` gives a column's UCUM unit for the whole column (``{"temperature": "[degF]"}``); a
    ``<input>_unit`` column in ``frame`` gives it per row and wins where it is filled in.
    """
    units = dict(units or {})
    unknown = sorted(set(units) - {i.name for i in score.inputs})
    if unknown:
        raise ScoreError(f"{score.name} has no input {', '.join(unknown)}")
    absent = [i.name for i in score.inputs if i.required and i.name not in frame.columns]
    if absent:
        raise ScoreError(
            f"{score.name} needs the column(s) {', '.join(absent)}; `medlake score --list` shows each input"
        )
    n = len(frame)
    problems: Problems = []
    values: dict[str, np.ndarray] = {}
    for item in score.inputs:
        if item.name not in frame.columns:
            values[item.name] = (
                np.full(n, None, dtype=object) if item.kind == "choice" else np.full(n, np.nan)
            )
            continue
        unit_column = item.name + UNIT_SUFFIX
        unit_cells = frame[unit_column] if unit_column in frame.columns else None
        values[item.name] = _parse(item, frame[item.name], unit_cells, units.get(item.name), problems)
    with np.errstate(all="ignore"):
        computed = score.compute(values)
    problems.extend(computed.invalid)
    not_computable, reasons = _reasons(n, problems)
    partial = np.zeros(n, dtype=bool)
    emptied = {name: not_computable.copy() for name in computed.values}
    for mask, outputs, reason in computed.partial:
        rows = mask & ~not_computable
        for name in outputs:
            emptied[name] |= rows
        partial |= rows
        _, extra = _reasons(n, [(rows, reason)])
        reasons = np.where(rows & (reasons != ""), reasons + "; " + extra, np.where(rows, extra, reasons))
    columns: dict[str, object] = {
        o.name: _blank(np.asarray(computed.values[o.name]), emptied[o.name]) for o in score.outputs
    }
    columns[STATUS] = np.asarray(["ok", "partial", "not computable"], dtype=object)[
        np.where(not_computable, 2, np.where(partial, 1, 0))
    ]
    columns[REASON] = reasons
    # Text outputs stay plain object columns: letting pandas infer its Arrow string type costs
    # more than the score itself at a million rows.
    return pd.DataFrame(
        {
            name: pd.Series(v, index=frame.index, dtype=object if _is_text(v) else None)
            for name, v in columns.items()
        }
    )


def _is_text(values: object) -> bool:
    return isinstance(values, np.ndarray) and values.dtype == object


def score_frame(score: Score, frame: pd.DataFrame, units: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``frame`` with the score's output columns, ``status`` and ``reason`` appended."""
    result = evaluate(score, frame, units)
    clash = [c for c in result.columns if c in frame.columns]
    if clash:
        raise ScoreError(
            f"the input already has column(s) {', '.join(clash)}, which {score.name} writes; rename them"
        )
    return pd.concat([frame, result], axis=1)
