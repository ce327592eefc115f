"""EARS against the package's own test file (test-earsC.R, parsed at test time): the four upper
bounds it expects on salmNewport in 2011, its error cases and its default range."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from medlake.surveil.ears import EarsControl, ears
from medlake.surveil.series import SurveilError
from tests.conftest import shared_path


def _germany() -> tuple[np.ndarray, pd.Series]:
    frame = pd.read_csv(shared_path("reference/surveillance/salmNewport.csv"))
    counts = frame.drop(columns=["week_start", "germany_total"]).sum(axis=1).to_numpy(dtype=float)
    return counts, pd.to_datetime(frame["week_start"])


def _r_test() -> str:
    return shared_path("reference/surveillance/test-earsC.R").read_text()


def test_upperbounds_in_2011_equal_the_packages_test() -> None:
    text = _r_test()
    numbers = re.search(r"surv@upperbound\[1:4\]\s*-\s*c\(([^)]*)\)", text)
    assert numbers, "test-earsC.R no longer has the upperbound expectation"
    expected = [float(v) for v in numbers.group(1).split(",")]
    assert 'method = "C1", alpha = 0.05' in text
    counts, dates = _germany()
    in2011 = np.flatnonzero(dates.dt.isocalendar().year.to_numpy() == 2011)
    result = ears(counts, EarsControl(method="C1", alpha=0.05, start=int(in2011[0])))
    assert np.max(np.abs(result.upperbound[:4] - expected)) < 1e-6


@pytest.mark.parametrize(
    ("control", "message"),
    [
        (EarsControl(baseline=2), "Minimum baseline to use is 3."),
        (EarsControl(min_sigma=-2), "The minimum sigma parameter"),
        (EarsControl(baseline=1500, start=500), "needs 1500 periods"),
    ],
)
def test_refuses_what_the_package_refuses(control: EarsControl, message: str) -> None:
    assert message.split(" (")[0] in _r_test() or message == "needs 1500 periods"
    counts, _ = _germany()
    with pytest.raises(SurveilError, match=re.escape(message)):
        ears(counts, control)


def test_default_range_leaves_out_the_baseline() -> None:
    counts, _ = _germany()
    assert "length(salmNewportGermany@observed) - 10" in _r_test()
    result = ears(counts, EarsControl(method="C1", baseline=10))
    assert len(result.upperbound) == len(counts) - 10
