"""Reading a count series (``date,count``, one row per period) and refusing what is not one.

The algorithms index periods by position and find last year's periods by date, so a series
must be complete and regular: dates strictly increasing, one step apart (7 days for weekly
data, 1 for daily), counts whole and not negative. Anything else is a :class:`SurveilError`
naming the row, never a silently shifted baseline.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from medlake.errors import InputError

#: Days between periods for each frequency the package knows (``sts@freq``).
STEP_DAYS = {52: 7, 365: 1}


class SurveilError(InputError):
    """A series or a setting a surveillance algorithm cannot take; the message says which."""


@dataclass(frozen=True)
class Series:
    """A regular series of counts: ``dates[i]`` starts period ``i``."""

    dates: np.ndarray  # datetime64[D]
    counts: np.ndarray  # float (whole numbers)
    freq: int = 52

    def index_of(self, date: str) -> int:
        """The position of the period that starts on ``date`` (an ISO date)."""
        try:
            day = np.datetime64(date, "D")
        except ValueError:
            raise SurveilError(f"--from {date!r} is not an ISO date (YYYY-MM-DD)") from None
        found = np.flatnonzero(self.dates == day)
        if not len(found):
            raise SurveilError(
                f"no period starts on {date}: the series runs {self.dates[0]} … {self.dates[-1]}"
            )
        return int(found[0])


def parse_series(frame: pd.DataFrame, freq: int = 52) -> Series:
    """Check and convert a ``date,count`` frame (text cells) into a :class:`Series`."""
    if freq not in STEP_DAYS:
        raise SurveilError(f"--freq {freq}: use 52 (weekly) or 365 (daily)")
    missing = {"date", "count"} - set(frame.columns)
    if missing:
        raise SurveilError(f"the input needs columns date and count; missing: {', '.join(sorted(missing))}")
    if frame.empty:
        raise SurveilError("the input has no rows")
    dates = pd.to_datetime(frame["date"].astype(str).str.strip(), format="%Y-%m-%d", errors="coerce")
    bad_date = np.flatnonzero(dates.isna().to_numpy())
    if len(bad_date):
        row = int(bad_date[0])
        raise SurveilError(f"row {row + 2}: date {frame['date'].iloc[row]!r} is not an ISO date (YYYY-MM-DD)")
    counts = pd.to_numeric(frame["count"].astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    bad_count = np.flatnonzero(~np.isfinite(counts) | (counts < 0) | (counts != np.floor(counts)))
    if len(bad_count):
        row = int(bad_count[0])
        raise SurveilError(f"row {row + 2}: count {frame['count'].iloc[row]!r} is not a whole number ≥ 0")
    days = dates.to_numpy().astype("datetime64[D]")
    step = np.diff(days).astype(int)
    wrong = np.flatnonzero(step != STEP_DAYS[freq])
    if len(wrong):
        row = int(wrong[0]) + 1
        raise SurveilError(
            f"row {row + 2}: {days[row]} follows {days[row - 1]}; periods must be consecutive, "
            f"{STEP_DAYS[freq]} day(s) apart (--freq {freq}), with no gaps or repeats"
        )
    return Series(days, counts, freq)


def read_series(path: Path | str, freq: int = 52, text: str | None = None) -> Series:
    """Read a ``date,count`` CSV file (or ``text``) as a :class:`Series`."""
    try:
        source = io.StringIO(text) if text is not None else path
        frame = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise SurveilError(f"no such file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SurveilError(f"{path}: not a CSV file ({exc})") from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return parse_series(frame, freq)
