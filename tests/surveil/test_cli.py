"""``medlake surveil detect`` and ``rt`` end to end: the files they write equal R's output, options
reach the algorithm, and bad input is one clear error line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from medlake.cli import app
from tests.surveil import reference

runner = CliRunner()


def medlake(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture
def agona_csv(tmp_path: Path) -> Path:
    path = tmp_path / "agona.csv"
    reference.dataset("agona").to_csv(path, index=False)
    return path


def _compare(out: Path, fixture: str) -> None:
    ours = pd.read_csv(out, dtype={"alarm": str}, keep_default_na=False, na_values=[""])
    theirs = reference.expected_output(fixture)
    assert list(ours.columns) == ["date", "count", "expected", "upperbound", "alarm"]
    assert list(ours["date"]) == list(theirs["date"])
    assert reference.max_abs_diff(ours["upperbound"], theirs["upperbound"]) <= 1e-8
    assert list(ours["alarm"].fillna("")) == list(theirs["alarm"].fillna(""))


def test_detect_noufaily_writes_rs_result(agona_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "alarms.csv"
    printed = medlake("surveil", "detect", str(agona_csv), "--method", "noufaily", "--out", str(out))
    assert "49 periods evaluated" in printed
    _compare(out, "agona_noufaily.csv")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".alarms.csv.")]  # no temporary left


def test_detect_options_are_rs_controls(agona_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "b3.csv"
    medlake(
        "surveil", "detect", str(agona_csv), "--method", "farrington-flexible",
        "--b", "3", "--w", "2", "--no-trend", "--out", str(out),
    )  # fmt: skip
    _compare(out, "agona_farrington_b3_notrend.csv")
    out = tmp_path / "c1.csv"
    medlake(
        "surveil", "detect", str(agona_csv), "--method", "ears-c1",
        "--alpha", "0.05", "--baseline", "10", "--out", str(out),
    )  # fmt: skip
    _compare(out, "agona_ears_c1_alpha05_baseline10.csv")


def test_detect_from_starts_the_evaluated_range(agona_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "from.csv"
    medlake(
        "surveil", "detect", str(agona_csv), "--method", "ears-c2", "--from", "1995-06-05", "--out", str(out)
    )
    frame = pd.read_csv(out)
    assert frame["date"].iloc[0] == "1995-06-05"
    full = reference.expected_output("agona_ears_c2.csv").set_index("date")
    assert reference.max_abs_diff(frame["upperbound"], full.loc[frame["date"], "upperbound"]) <= 1e-8


def test_detect_json_summary(agona_csv: Path, tmp_path: Path) -> None:
    printed = medlake(
        "surveil", "detect", str(agona_csv), "--method", "ears-c3", "--out", str(tmp_path / "o.csv"), "--json"
    )
    assert '"method": "ears-c3"' in printed and '"periods": 301' in printed


def test_rt_writes_epiestims_result(tmp_path: Path) -> None:
    out = tmp_path / "rt.csv"
    medlake(
        "surveil", "rt", str(reference.FIXTURES / "flu2009.csv"), "--si-mean", "2.6", "--si-sd", "1.5",
        "--window", "14", "--out", str(out),
    )  # fmt: skip
    ours, theirs = pd.read_csv(out), pd.read_csv(reference.FIXTURES / "flu2009_rt_window14.csv")
    assert list(ours.columns) == ["t_start", "t_end", "mean_r", "std_r", "q025_r", "q975_r"]
    for column in ["mean_r", "std_r", "q025_r", "q975_r"]:
        assert reference.max_abs_diff(ours[column], theirs[column]) <= 1e-8


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ("date,count\n2020-01-06,1\n2020-01-20,2\n", [], "periods must be consecutive"),
        ("date,count\n2020-01-06,1\n2020-01-13,-2\n", [], "row 3: count '-2' is not a whole number"),
        ("date,count\n06/01/2020,1\n", [], "row 2: date '06/01/2020' is not an ISO date"),
        ("day,count\n2020-01-06,1\n", [], "missing: date"),
        ("date,count\n2020-01-06,1\n2020-01-13,2\n", ["--baseline", "4"], "--baseline does not apply"),
        (
            "date,count\n2020-01-06,1\n2020-01-13,2\n",
            ["--from", "2021-01-04"],
            "no period starts on 2021-01-04",
        ),
        ("date,count\n2020-01-06,1\n2020-01-13,2\n", [], "nothing to evaluate"),
    ],
)
def test_detect_refuses_bad_input_in_one_line(
    tmp_path: Path, rows: str, args: list[str], message: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_text(rows)
    printed = medlake("surveil", "detect", str(path), "--method", "farrington-flexible", *args, code=1)
    assert printed.startswith("error:") and message in printed
    assert "Traceback" not in printed


def test_detect_refuses_a_start_without_enough_history(agona_csv: Path) -> None:
    printed = medlake(
        "surveil", "detect", str(agona_csv), "--method", "farrington-flexible", "--from", "1991-01-07", code=1
    )
    assert printed.startswith("error:") and "reference time points did not exist" in printed
    printed = medlake(
        "surveil", "detect", str(agona_csv), "--method", "ears-c3", "--from", "1990-01-22", code=1
    )
    assert "needs 11 periods before the first evaluated one" in printed


def test_detect_cusum_to_stdout(agona_csv: Path) -> None:
    printed = medlake("surveil", "detect", str(agona_csv), "--method", "cusum")
    lines = printed.splitlines()
    assert lines[0] == "date,count,expected,upperbound,alarm"
    assert lines[1].startswith("1991-12-30,0,1.94031816098")  # R's mu0 (fixtures/agona_cusum.csv)
    alarms = int((reference.expected_output("agona_cusum.csv")["alarm"] == "true").sum())
    assert f"cusum: 208 periods evaluated, {alarms} alarm(s)" in printed


def test_rt_daily_input_must_be_consecutive_days(tmp_path: Path) -> None:
    path = tmp_path / "weekly.csv"
    path.write_text("date,count\n2020-01-06,1\n2020-01-13,2\n")
    printed = medlake("surveil", "rt", str(path), "--si-mean", "2.6", "--si-sd", "1.5", code=1)
    assert "1 day(s) apart" in printed


def test_help_names_the_methods_and_rs_controls() -> None:
    wide = {"COLUMNS": "200"}  # rich wraps the option table to the terminal
    text = runner.invoke(app, ["surveil", "detect", "--help"], env=wide).output
    names = ("farrington-flexible", "noufaily", "ears-c1", "cusum", "--past-weeks-not-included", "--c-arl")
    for name in names:
        assert name in text
    assert "--si-mean" in runner.invoke(app, ["surveil", "rt", "--help"], env=wide).output


def test_detect_daily_series_with_freq_365(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    days = pd.date_range("2024-02-20", periods=30, freq="D").strftime("%Y-%m-%d")  # crosses 29 February
    counts = [3, 4, 2, 5, 3, 4, 3, 2, 4, 3, 5, 4, 3, 2, 4, 3, 4, 5, 3, 4, 2, 3, 4, 3, 30, 4, 3, 2, 4, 3]
    pd.DataFrame({"date": days, "count": counts}).to_csv(path, index=False)
    out = tmp_path / "c1.csv"
    medlake("surveil", "detect", str(path), "--method", "ears-c1", "--freq", "365", "--out", str(out))
    frame = pd.read_csv(out)
    assert len(frame) == 23 and frame["date"].iloc[0] == "2024-02-27"  # after the 7-day baseline
    assert frame.loc[frame["count"] == 30, "alarm"].tolist() == [True]
    assert frame["alarm"].sum() == 1
    printed = medlake("surveil", "detect", str(path), "--method", "ears-c1", code=1)  # weekly by default
    assert "7 day(s) apart" in printed
