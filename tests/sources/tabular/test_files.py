"""CSV and Excel exports through the real pipeline: the corpus of bad files, streaming, re-delivery."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from openpyxl import Workbook

from medlake.lake.tables import QUARANTINE, Layer
from medlake.sources.tabular.csv_files import read_rows
from medlake.sources.tabular.excel_files import WorkbookError
from medlake.sources.tabular.files import ingest_csv, ingest_excel
from medlake.sources.tabular.mapping import CsvOptions, load_mapping
from medlake.synth.exports import write_demo_exports, write_demo_workbook

CORPUS = Path(__file__).parent / "corpus"
LABS = "region-lab-results"


def quarantine(workspace, source: str) -> list[dict]:
    dataset = workspace.lake.dataset(workspace.lake.uri(Layer.RAW, QUARANTINE))
    if dataset is None:
        return []
    rows = dataset.to_table().to_pylist()
    return sorted((r for r in rows if r["source_file"] == source), key=lambda r: r["line"])


def lines_of(path: Path) -> list[bytes]:
    """The file's physical lines without their line ends, numbered from 1 (index 0 is line 1)."""
    return [line.rstrip(b"\r\n") for line in path.read_bytes().splitlines(keepends=True)]


def ingest_one(workspace, name: str, mapping: str = LABS) -> tuple:
    path = CORPUS / name
    [report] = ingest_csv(workspace, path, mapping, "lab-central")
    assert report.received == report.stored + report.quarantined + report.duplicates
    return report, quarantine(workspace, str(path)), lines_of(path)


def test_broken_quoting_costs_one_line_per_break_and_nothing_else(workspace) -> None:
    report, held, lines = ingest_one(workspace, "broken-quoting.csv")
    assert [q["line"] for q in held] == [3, 5, 7, 10]
    assert (report.stored, report.quarantined) == (4, 4)
    # the unclosed quote of line 3 runs into line 5's "K"x; only line 3 is lost, lines 4 and 5 are re-read
    assert "broken CSV quoting" in held[0]["reason"] and held[0]["raw"].encode() == lines[2]
    assert "must be doubled" in held[1]["reason"] and held[1]["raw"].encode() == lines[4]
    # a properly quoted two-line field parses, then fails as a number, and keeps both lines
    assert "column 'result': '6\\n,1' is not a number" in held[2]["reason"]
    assert held[2]["raw"].encode() == lines[6] + b"\n" + lines[7]
    assert "the file ends inside a quoted field" in held[3]["reason"] and held[3]["raw"].encode() == lines[9]
    assert all(q["stage"] == "convert" for q in held)


def test_wrong_types_are_quarantined_with_column_and_reason(workspace) -> None:
    report, held, lines = ingest_one(workspace, "wrong-types.csv")
    reasons = {q["line"]: q["reason"] for q in held}
    assert report.stored == 1 and set(reasons) == set(range(3, 10))
    assert "column 'result': 'high' is not a number" in reasons[3]
    assert "'4.1' is not a number with decimal separator ','" in reasons[4]
    assert (
        "column 'sampled_at': '31.02.2024 09:00' is not a date and time in format %d.%m.%Y %H:%M"
        in reasons[5]
    )
    assert "column 'sampled_at': '2024-05-17 10:15'" in reasons[6]
    assert "column 'status': empty, but required" in reasons[7]
    assert reasons[8] == "line 8: 10 fields, but the header has 9"
    assert reasons[9] == "line 9: 8 fields, but the header has 9"
    assert [q["raw"].encode() for q in held] == lines[2:9], "the quarantine keeps each row as received"


def test_unknown_codes_and_units(workspace) -> None:
    report, held, _ = ingest_one(workspace, "unknown-codes.csv")
    assert report.stored == 1
    assert [q["reason"] for q in held] == [
        "column 'test': 'TSH' is not in code table 'tests'",
        "column 'flag': 'X' is not in code table 'flags'",
        "column 'status': 'amended' is not in code table 'status'",
    ]
    report, held, _ = ingest_one(workspace, "unknown-units.csv")
    assert report.stored == 1, "MMOL/L matches mmol/L: spellings are matched ignoring case"
    reasons = [q["reason"] for q in held]
    assert "column 'unit': unit 'mg%' is not known" in reasons[0]
    assert "column 'unit': no conversion from mmol/L to g/dL for 'HB'" in reasons[1]
    assert "column 'unit': empty, but required" in reasons[2]


def test_missing_columns_quarantine_every_row_with_the_reason(workspace) -> None:
    report, held, lines = ingest_one(workspace, "missing-columns.csv")
    assert (report.received, report.stored, report.quarantined) == (2, 0, 2)
    assert all("the header lacks 'result', 'reference_range'" in q["reason"] for q in held)
    assert [q["raw"].encode() for q in held] == lines[1:]


def test_patients_encoding_booleans_blank_lines_and_multiline_fields(workspace) -> None:
    report, held, _ = ingest_one(workspace, "patients-mixed.csv", "region-patients")
    reasons = {q["line"]: q["reason"] for q in held}
    assert report.stored == 2 and set(reasons) == {3, 4, 5}, "the blank line 6 is no row"
    assert "line 3 is not valid utf-8-sig" in reasons[3] and held[0]["raw"].encode("utf-8", "replace")
    assert "column 'sex': 'W' is not in code table 'sex'" in reasons[4]
    assert "column 'deceased': 'maybe' is not a boolean" in reasons[4]
    assert "column 'birth_date': '1975-03-01' is not a date in format %d/%m/%Y" in reasons[5]
    stored = workspace.sql("SELECT resource FROM raw.resources WHERE resource_id = 'pat-P000005'").column(0)
    patient = orjson.loads(stored[0].as_py())
    assert patient["address"][0]["line"] == ['High Street "the old one", flat 2\nsecond floor']
    assert patient["gender"] == "female" and patient["deceasedBoolean"] is False
    assert "telecom" not in patient, "Phone is optional: older exports lack the column"


def test_an_unclosed_quote_is_bounded_by_max_row_lines(tmp_path, workspace) -> None:
    header = "patient_no;order_no;test;result;unit;reference_range;flag;sampled_at;status\n"
    good = "P{0:06d};L{0};K;4,{1};mmol/l;3,5-5,1;N;16.05.2024 09:00;final\n"
    body = [good.format(i, i % 10) for i in range(300)]
    body[5] = 'P000005;L5;K;"4,1;mmol/l;3,5-5,1;N;16.05.2024 09:00;final\n'
    path = tmp_path / "long.csv"
    path.write_text(header + "".join(body))
    [report] = ingest_csv(workspace, path, LABS, "lab-central")
    assert (report.stored, report.quarantined) == (299, 1)
    [held] = quarantine(workspace, str(path))
    assert held["line"] == 7 and "not closed within 100 lines" in held["reason"]


class _CountingStream(io.RawIOBase):
    """A large CSV made on the fly, counting how much of it has been read."""

    def __init__(self, rows: int) -> None:
        self.rows, self.made, self.served = rows, 0, 0
        self.pending = b"a,b\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer) and self.made < self.rows:
            self.pending += f"{self.made},{'x' * 90}\n".encode()
            self.made += 1
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        self.served += size
        return size


def test_reading_is_streamed_not_loaded() -> None:
    stream = _CountingStream(rows=200_000)  # about 19 MB
    rows = read_rows(io.BufferedReader(stream), CsvOptions())
    first = [next(rows) for _ in range(1_001)]
    assert first[-1].fields[0] == "999"
    assert stream.served < 1_000_000, f"{stream.served} bytes read for 1,000 rows"


def test_same_file_twice_is_unchanged_and_a_corrected_mapping_reads_it_again(workspace, tmp_path) -> None:
    path = CORPUS / "unknown-codes.csv"
    [first] = ingest_csv(workspace, path, LABS, "lab-central")
    [again] = ingest_csv(workspace, path, LABS, "lab-central")
    assert again.status == "unchanged" and again.stored == 0
    fixed = tmp_path / "labs.yaml"
    text = load_mapping(LABS).path
    fixed.write_text(
        Path(text).read_text().replace("  status:\n    map: {", "  status:\n    map: {amended: amended, ")
    )
    [third] = ingest_csv(workspace, path, fixed, "lab-central")
    assert third.status == "committed" and third.batch_id != first.batch_id
    assert (third.stored, third.quarantined, third.duplicates) == (1, 2, 1), (
        "only the now-mappable row is new"
    )


def test_excel_and_csv_exports_give_the_same_resources(make_workspace, tmp_path) -> None:
    csv_paths = write_demo_exports(tmp_path, patients=8, seed=3)
    workbook = write_demo_workbook(tmp_path / "exports.xlsx", patients=8, seed=3)
    from_csv, from_excel = make_workspace(), make_workspace()
    [csv_report] = ingest_csv(from_csv, csv_paths["region-patients"], "region-patients", "practice")
    [excel_report] = ingest_excel(from_excel, workbook, "region-patients", "practice", sheet="Patients")
    assert csv_report.stored == excel_report.stored == 8 and excel_report.quarantined == 0
    query = "SELECT resource_id, content_hash FROM raw.resources ORDER BY 1"
    assert from_csv.sql(query).to_pylist() == from_excel.sql(query).to_pylist()
    [labs] = ingest_excel(from_excel, workbook, LABS, "lab-central")  # the mapping names the sheet
    [csv_labs] = ingest_csv(from_csv, csv_paths[LABS], LABS, "lab-central")
    assert labs.stored == csv_labs.stored > 0 and labs.quarantined == 0


def test_excel_rows_that_do_not_convert_keep_their_cells(workspace, tmp_path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "List"
    sheet.append(["Patient No", "Family Name", "Given Name", "Sex", "Date of Birth", "Street", "Postcode",
                  "Town", "Deceased"])  # fmt: skip
    sheet.append(["P1", "Ng", "Mai", "f", datetime(1980, 2, 1), "Main Street 1", 10115, "Northbridge", False])
    sheet.append(["P2", "Ito", "Ken", "m", "31/02/1980", "Mill Lane 2", 10245, "Eastham", "no"])
    sheet.append([None] * 9)
    sheet.append(["P3", "Roy", "Ann", "f", "01/01/1990", "Oak Drive 3", 10317, "Westfield", "no", "stray"])
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    [report] = ingest_excel(workspace, path, "region-patients", "practice", sheet="List")
    assert (report.received, report.stored, report.quarantined) == (3, 1, 2)
    held = quarantine(workspace, f"{path}#List")
    assert [q["line"] for q in held] == [3, 5]
    assert "'31/02/1980' is not a date in format %d/%m/%Y" in held[0]["reason"]
    assert orjson.loads(held[0]["raw"])["Date of Birth"] == "31/02/1980"
    assert "values in column(s) [10] beyond the header's 9" in held[1]["reason"]
    stored = orjson.loads(workspace.sql("SELECT resource FROM raw.resources").column(0)[0].as_py())
    assert stored["birthDate"] == "1980-02-01" and stored["address"][0]["postalCode"] == "10115"
    with pytest.raises(WorkbookError, match=r"has no sheet 'Nope' \(sheets: 'List'\)"):
        ingest_excel(workspace, path, "region-patients", "practice", sheet="Nope")
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(WorkbookError, match=r"is not a readable \.xlsx workbook"):
        ingest_excel(workspace, tmp_path / "fake.xlsx", "region-patients", "practice")
