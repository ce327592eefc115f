"""The reference weeks Farrington flexible builds its baseline from, by date as the package does
(R's values noted beside each case were printed by R 4.2's seq.Date and format(, "%w"))."""

from __future__ import annotations

import numpy as np

from medlake.surveil.farrington import blocks, reference_dates


def test_a_leap_day_goes_back_to_the_first_of_march() -> None:
    # seq(as.Date("2016-02-29"), by = "-1 year", length.out = 3): 2016-02-29 2015-03-01 2014-03-01
    days = reference_dates(np.datetime64("2016-02-29"), 2, weekly=False)
    assert [str(d) for d in days] == ["2016-02-29", "2015-03-01", "2014-03-01"]


def test_weekly_reference_dates_keep_the_weekday_nearest_the_same_date() -> None:
    # 2016-02-29 is a Monday (%w 1); a year back, 2015-03-01 is a Sunday (%w 0): the nearest
    # Monday is 2015-03-02, one day later (not 2015-02-23, six days earlier).
    days = reference_dates(np.datetime64("2016-02-29"), 5, weekly=True)
    assert str(days[1]) == "2015-03-02"
    assert all(((d.astype(int) + 4) % 7) == 1 for d in days)  # all Mondays
    assert all(
        abs((d - np.datetime64(f"{2016 - i}-03-01")).astype(int)) <= 4 for i, d in enumerate(days[1:], 1)
    )


def test_blocks_split_each_year_outside_the_windows_into_periods() -> None:
    # now = 120, reference weeks 68 and 16 (52 apart), w = 3, 10 periods: windows get level 10,
    # the 45 weeks between two windows are split into 9 blocks of 5 (1…9).
    factors = blocks(np.array([120, 68, 16]), 121, 120, 3, 10)
    assert set(factors[117:121]) == {10}
    assert set(factors[65:72]) == {10} and set(factors[13:20]) == {10}
    between = factors[72:117]
    assert list(np.unique(between)) == list(range(1, 10))
    assert all(np.sum(between == level) == 5 for level in range(1, 10))
    assert np.isnan(factors[:13]).all()  # before the oldest window: not used
