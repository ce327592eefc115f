"""``medlake score``: CSV in, the same CSV plus the score's columns out."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from medlake.cli import app

runner = CliRunner()
HEADER = (
    "patient,respiratory_rate,spo2,spo2_scale,on_oxygen,systolic_bp,heart_rate,consciousness,temperature\n"
)


def write(tmp_path, body: str):
    path = tmp_path / "vitals.csv"
    path.write_text(HEADER + body)
    return path


def test_scores_to_stdout_keeping_the_input_columns(tmp_path):
    path = write(
        tmp_path, "p1,18,97,1,false,125,72,A,36.80\np2,24,90,1,true,95,115,V,38.5\np3,,97,1,false,1,1,A,37\n"
    )
    result = runner.invoke(app, ["score", "news2", str(path)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["patient"] for r in rows] == ["p1", "p2", "p3"]
    assert rows[0]["temperature"] == "36.80"  # input cells are written back as they came
    assert [(r["news2"], r["risk"], r["status"]) for r in rows] == [
        ("0", "low", "ok"),
        ("15", "high", "ok"),
        ("", "", "not computable"),
    ]
    assert rows[2]["reason"] == "missing respiratory_rate"
    assert "3 rows, 2 scored, 1 not computable" in result.stderr


def test_out_file_and_json_summary(tmp_path):
    path = write(tmp_path, "p1,18,97,1,false,125,72,A,36.8\n")
    out = tmp_path / "scored" / "news2.csv"
    result = runner.invoke(app, ["score", "news2", str(path), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "score": "news2", "rows": 1, "ok": 1, "partial": 0, "not_computable": 0, "out": str(out)
    }  # fmt: skip
    assert out.read_text().splitlines()[0].endswith(",news2,risk,monitoring,response,status,reason")
    assert [p.name for p in out.parent.iterdir()] == ["news2.csv"]  # no temporary file left


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "p1,18,97,1,false,125,72,A,36.8\n").encode())
    result = runner.invoke(app, ["score", "news2", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("patient,")


def test_unit_option(tmp_path):
    path = write(tmp_path, "p1,18,97,1,false,125,72,A,98.6\n")
    result = runner.invoke(app, ["score", "news2", str(path), "--unit", "temperature=[degF]"])
    assert result.exit_code == 0
    assert next(csv.DictReader(io.StringIO(result.stdout)))["news2"] == "0"


def test_clear_errors(tmp_path):
    path = write(tmp_path, "p1,18,97,1,false,125,72,A,36.8\n")
    cases = [
        (["score", "pce", str(path)], "pce needs the column(s) age, sex, race"),
        (["score", "news3", str(path)], "no score 'news3'"),
        (["score", "news2", str(tmp_path / "absent.csv")], "absent.csv"),
        (["score", "news2", str(path), "--unit", "temperature"], "--unit takes COLUMN=UCUM"),
        (["score", "news2"], "give a score and an input file"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 1, args
        assert message in " ".join(result.stderr.split()), (args, result.stderr)


def test_list_and_list_json():
    listed = runner.invoke(app, ["score", "--list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0
    for name in ("news2", "qsofa", "pce", "prevent", "qrisk3", "findrisc", "cha2ds2_vasc"):
        assert name in listed.stdout
    assert "[degF]" in listed.stdout  # UCUM brackets are shown, not eaten as markup
    described = json.loads(runner.invoke(app, ["score", "--list", "--json"]).stdout)
    pce = next(s for s in described if s["name"] == "pce")
    age = next(i for i in pce["inputs"] if i["name"] == "age")
    assert (age["unit"], age["range"]) == ("a", [40, 79])
    assert "Goff" in pce["citation"]
