"""Cori's R_t against EpiEstim: estimate_R's output written by the R script (three
configurations on Flu2009) and the package's own saved snapshot (estimate_R.snapshot.md,
Example 3: parametric serial interval on Flu2009), parsed at test time.

Tolerance 1e-8: the posterior is gamma in closed form and the serial interval the same
formula, so only rounding differs (the fixtures are printed to 15 digits, the snapshot to 8
significant digits, hence 5e-7 there).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from medlake.surveil.rt import RtConfig, estimate_r, serial_interval
from medlake.surveil.series import SurveilError
from tests.conftest import shared_path
from tests.surveil.reference import FIXTURES, max_abs_diff

COLUMNS = ["mean_r", "std_r", "q025_r", "q975_r"]
RT_CASES = pd.read_csv(FIXTURES / "rt_cases.csv")


@pytest.mark.parametrize("case", RT_CASES.to_dict("records"), ids=list(RT_CASES["file"]))
def test_equals_epiestim(case: dict[str, object]) -> None:
    incidence = pd.read_csv(FIXTURES / "flu2009.csv")["count"].to_numpy(dtype=float)
    config = RtConfig(
        float(case["si_mean"]),
        float(case["si_sd"]),
        window=int(case["window"]),
        mean_prior=float(case["mean_prior"]),
        std_prior=float(case["std_prior"]),
    )
    ours = estimate_r(incidence, config)
    theirs = pd.read_csv(FIXTURES / str(case["file"]))
    assert list(ours["t_start"]) == list(theirs["t_start"])
    assert list(ours["t_end"]) == list(theirs["t_end"])
    for column in COLUMNS:
        assert max_abs_diff(ours[column].to_numpy(), theirs[column].to_numpy()) <= 1e-8, column


def _example(number: int) -> str:
    text = shared_path("reference/epiestim/estimate_R.snapshot.md").read_text()
    sections = re.split(r"^# ", text, flags=re.MULTILINE)
    return next(s for s in sections if s.startswith(f"Example {number} "))


def _vector(section: str, name: str) -> list[float]:
    """A printed R vector (``$I``, ``$si_distr``): the numbers after the name, index markers and
    element names dropped."""
    block = section.split(f"${name}\n", 1)[1].split("\n      \n", 1)[0]
    values = []
    for line in block.splitlines():
        tokens = line.split()
        if tokens and tokens[0].startswith("["):
            tokens = tokens[1:]
        if tokens and re.fullmatch(r"t\d+", tokens[0]):
            continue  # a line of names
        values += [float(t) for t in tokens]
    return values


def _r_table(section: str) -> pd.DataFrame:
    """The printed ``$R`` data frame, whose columns R wraps over several blocks."""
    block = section.split("$R\n", 1)[1].split("\n      \n", 1)[0]
    columns: dict[str, list[str]] = {}
    header: list[str] = []
    for line in block.splitlines():
        tokens = line.split()
        if not tokens[0].isdigit():
            header = tokens
            for name in header:
                columns.setdefault(name, [])
            continue
        for name, value in zip(header, tokens[1:], strict=True):
            columns[name].append(value)
    return pd.DataFrame(columns)


def test_equals_epiestims_saved_snapshot() -> None:
    section = _example(3)
    assert '"parametric_si"' in section
    incidence = np.array(_vector(section, "I"))
    # Example 3 is estimate_R(Flu2009$incidence, "parametric_si", mean_si = 2.6, std_si = 1.5);
    # the serial interval it reports proves the configuration:
    printed_si = np.array(_vector(section, "si_distr"))
    assert np.max(np.abs(serial_interval(len(incidence), 2.6, 1.5) - printed_si)) < 5e-7
    ours = estimate_r(incidence, RtConfig(2.6, 1.5))
    theirs = _r_table(section)
    assert list(ours["t_start"]) == [int(v) for v in theirs["t_start"]]
    for ours_column, theirs_column in [
        ("mean_r", "Mean(R)"),
        ("std_r", "Std(R)"),
        ("q025_r", "Quantile.0.025(R)"),
        ("q975_r", "Quantile.0.975(R)"),
    ]:
        expected = theirs[theirs_column].astype(float).to_numpy()
        assert np.max(np.abs(ours[ours_column].to_numpy() - expected)) < 5e-7, ours_column


def test_a_window_ending_before_the_mean_serial_interval_has_no_estimate() -> None:
    frame = estimate_r(np.arange(1.0, 41.0), RtConfig(6.0, 2.0, window=2))
    si = serial_interval(40, 6.0, 2.0)
    mean_si = float(np.sum(si * np.arange(len(si))))
    assert 5.9 < mean_si < 6.1
    assert frame["mean_r"].isna().tolist() == list(frame["t_end"] <= mean_si)
    assert frame["mean_r"].isna().sum() == 3  # windows ending on days 3, 4, 5


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (RtConfig(1.0, 1.0), "greater than 1"),
        (RtConfig(2.6, 0.0), "must be positive"),
        (RtConfig(2.6, 1.5, window=40), "at least 41"),
    ],
)
def test_refuses_settings_epiestim_refuses(config: RtConfig, message: str) -> None:
    with pytest.raises(SurveilError, match=message):
        estimate_r(np.ones(32), config)
