"""Export files like the region's smaller systems send: a patients list and lab results.

The regional laboratory exports results as semicolon-separated CSV with decimal commas
and day-first dates (``region-lab-results`` mapping); a practice system exports its
patient list as comma-separated CSV with quoted fields and a yes/no "Deceased" column
(``region-patients`` mapping). ``write_demo_workbook`` writes the same data as an Excel
workbook with typed cells, which the same mappings read. Rows come from the demo HIS
generator, so they are seeded and deterministic.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime
from pathlib import Path
from typing import Any

from medlake.synth.his.generator import Counters, HisGenerator, Rows

PATIENT_HEADER = [
    "Patient No", "Family Name", "Given Name", "Sex", "Date of Birth",
    "Street", "Postcode", "Town", "Phone", "Deceased",
]  # fmt: skip
LAB_HEADER = [
    "patient_no", "order_no", "test", "result", "unit", "reference_range", "flag", "sampled_at", "status",
]  # fmt: skip
SEX_LETTERS = {"M": "m", "F": "f", "U": "u"}


def demo_rows(patients: int, seed: int) -> Rows:
    generator = HisGenerator(random.Random(seed), Counters())
    rows = Rows()
    for _ in range(patients):
        generator.patient(rows)
    return rows


def patient_cells(row: dict[str, Any], typed: bool) -> list[Any]:
    birth = row["birth_date"] if typed else row["birth_date"].strftime("%d/%m/%Y")
    return [
        f"P{row['patient_id']:06d}",
        row["last_name"],
        row["first_name"],
        SEX_LETTERS[row["sex"]],
        birth,
        row["street"],
        row["postal_code"],
        row["city"],
        row["phone"] or "",
        "yes" if row["deceased_date"] else "no",
    ]


def lab_cells(row: dict[str, Any], typed: bool) -> list[Any]:
    value = row["result_value"]
    sampled: datetime = row["collected_at"]
    status = {"P": "prelim", "F": "final", "C": "corrected"}[row["result_status"]]
    if typed:
        number: Any = value if value.startswith("<") else float(value)
        return [
            f"P{row['patient_id']:06d}", row["order_no"], row["test_code"], number, row["unit"],
            row["ref_range"], row["abnormal_flag"], sampled, status,
        ]  # fmt: skip
    return [
        f"P{row['patient_id']:06d}", row["order_no"], row["test_code"], value.replace(".", ","), row["unit"],
        row["ref_range"].replace(".", ","), row["abnormal_flag"], sampled.strftime("%d.%m.%Y %H:%M"), status,
    ]  # fmt: skip


def write_demo_exports(folder: Path, patients: int = 50, seed: int = 1) -> dict[str, Path]:
    """Write ``patients.csv`` and ``lab-results.csv`` into ``folder``; returns them by mapping name."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = demo_rows(patients, seed)
    patients_path = folder / "patients.csv"
    with patients_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
        writer.writerow(PATIENT_HEADER)
        for row in rows.tables["patient"]:
            writer.writerow(patient_cells(row, typed=False))
    labs_path = folder / "lab-results.csv"
    with labs_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\n")
        writer.writerow(LAB_HEADER)
        for row in rows.tables["lab_result"]:
            writer.writerow(lab_cells(row, typed=False))
    return {"region-patients": patients_path, "region-lab-results": labs_path}


def write_demo_workbook(path: Path, patients: int = 50, seed: int = 1) -> Path:
    """The same exports as one ``.xlsx`` workbook (sheets "Patients" and "Lab results"), typed cells."""
    from openpyxl import Workbook

    rows = demo_rows(patients, seed)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Patients")
    sheet.append(PATIENT_HEADER)
    for row in rows.tables["patient"]:
        sheet.append(patient_cells(row, typed=True))
    sheet = workbook.create_sheet("Lab results")
    sheet.append(LAB_HEADER)
    for row in rows.tables["lab_result"]:
        sheet.append(lab_cells(row, typed=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path
