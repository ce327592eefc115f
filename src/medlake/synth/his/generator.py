"""Rows of the demo HIS: patients with their visits, diagnoses, lab results and prescriptions.

Everything comes from one seeded ``random.Random`` and a fixed start date, never the wall
clock, so the same seed gives the same rows on every database and every run. The
generator only makes rows; ``filler`` writes them into a database and the ``exports``
module writes them as the CSV and Excel files other systems of the region send.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from medlake.synth.his import catalogue as cat
from medlake.synth.names import FAMILY, FEMALE_GIVEN, MALE_GIVEN

START = datetime(2024, 1, 1, 0, 0, 0)
SPAN = timedelta(days=365)
Row = dict[str, Any]


@dataclass
class Counters:
    """The last id used per table, so new rows continue where the data ends."""

    patient: int = 0
    visit: int = 0
    diagnosis: int = 0
    lab_result: int = 0
    prescription: int = 0
    order: int = 0


@dataclass
class Rows:
    """Rows per table name, in the order they must be inserted."""

    tables: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))

    def add(self, table: str, row: Row) -> None:
        self.tables[table].append(row)

    def count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


class HisGenerator:
    """Makes whole patient histories between ``start`` and ``start + span``."""

    def __init__(
        self,
        rng: random.Random,
        counters: Counters,
        start: datetime = START,
        span: timedelta = SPAN,
        visit_spread_days: float = 60,
    ) -> None:
        self.rng, self.ids, self.start, self.span = rng, counters, start, span
        self.visit_spread_days = visit_spread_days

    def moment(self) -> datetime:
        return _seconds(self.start + self.span * self.rng.random())

    def patient(self, rows: Rows) -> Row:
        rng = self.rng
        self.ids.patient += 1
        pid = self.ids.patient
        sex = rng.choices(cat.SEXES, weights=(49, 50, 1))[0]
        given = rng.choice(
            MALE_GIVEN if sex == "M" else FEMALE_GIVEN if sex == "F" else MALE_GIVEN + FEMALE_GIVEN
        )
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(80 * 365))
        city, postal = rng.choice(cat.CITIES)
        created = self.moment()
        row = {
            "patient_id": pid,
            "mrn": f"H{pid:08d}",
            "last_name": rng.choice(FAMILY),
            "first_name": given,
            "sex": sex,
            "birth_date": birth,
            "street": f"{rng.choice(cat.STREETS)} {rng.randint(1, 120)}",
            "postal_code": postal,
            "city": city,
            "phone": f"0{rng.randint(200, 999)} {rng.randint(100000, 999999)}"
            if rng.random() < 0.85
            else None,
            "national_id": f"{rng.randrange(10**9, 10**10)}" if rng.random() < 0.8 else None,
            "deceased_date": None,
            "created_at": created,
            "modified_at": created,
        }
        rows.add("patient", row)
        last = created
        for _ in range(rng.choices((1, 2, 3), weights=(50, 35, 15))[0]):
            visit = self.visit(rows, row, after=created)
            last = max(last, visit["modified_at"])
        if rng.random() < 0.02:  # died after the last visit; the death is recorded then
            died = _seconds(last + timedelta(days=rng.uniform(1, 30)))
            row["deceased_date"], row["modified_at"] = died.date(), died
        return row

    def visit(self, rows: Rows, patient: Row, after: datetime) -> Row:
        rng = self.rng
        self.ids.visit += 1
        kind = rng.choices(cat.VISIT_TYPES, weights=(50, 35, 15))[0]
        admit = _seconds(
            after + timedelta(days=rng.uniform(0, self.visit_spread_days), minutes=rng.randrange(240))
        )
        stay = {
            "I": timedelta(days=rng.uniform(1, 10)),
            "A": timedelta(hours=rng.uniform(1, 4)),
            "E": timedelta(hours=rng.uniform(2, 12)),
        }[kind]
        status = "X" if rng.random() < 0.02 else "A" if kind == "I" and rng.random() < 0.15 else "D"
        discharge = _seconds(admit + stay) if status == "D" else None
        weight = unit = None
        if kind != "A" and rng.random() < 0.7:
            kilos = max(35.0, rng.gauss(78 if patient["sex"] == "M" else 66, 14))
            unit = "lbs" if rng.random() < 0.2 else "kg"
            weight = round(kilos * (2.20462 if unit == "lbs" else 1), 1)
        row = {
            "visit_id": self.ids.visit,
            "patient_id": patient["patient_id"],
            "visit_type": kind,
            "visit_status": status,
            "ward": "ER" if kind == "E" else rng.choice(cat.WARDS[:-1]),
            "admit_time": admit,
            "discharge_time": discharge,
            "admit_weight": weight,
            "weight_unit": unit,
            "attending": rng.choice(cat.DOCTORS),
            "modified_at": discharge or admit,
        }
        rows.add("visit", row)
        if status == "X":
            return row
        codes = rng.sample(sorted(cat.DIAGNOSES), rng.choices((1, 2, 3), weights=(50, 35, 15))[0])
        for position, code in enumerate(codes):
            self.diagnosis(
                rows, row, code, "A" if position == 0 and kind == "I" else "D" if position == 0 else "S"
            )
        for _ in range(rng.choice((1, 1, 2))):
            self.lab_order(rows, row)
        for code in codes:
            for drug in rng.sample(
                cat.TREATMENTS[code], min(len(cat.TREATMENTS[code]), rng.choice((0, 1, 1, 2)))
            ):
                self.prescription(rows, row, drug)
        return row

    def diagnosis(self, rows: Rows, visit: Row, code: str, kind: str) -> None:
        self.ids.diagnosis += 1
        recorded = _seconds(visit["admit_time"] + timedelta(minutes=self.rng.randrange(30, 600)))
        rows.add(
            "diagnosis",
            {
                "diagnosis_id": self.ids.diagnosis,
                "visit_id": visit["visit_id"],
                "patient_id": visit["patient_id"],
                "diag_code": code,
                "diag_type": kind,
                "recorded_at": recorded,
                "modified_at": recorded,
            },
        )

    def lab_order(self, rows: Rows, visit: Row) -> None:
        rng = self.rng
        self.ids.order += 1
        order_no = f"L{visit['admit_time']:%y}{self.ids.order:07d}"
        collected = _seconds(visit["admit_time"] + timedelta(minutes=rng.randrange(10, 240)))
        for test in rng.sample(cat.LAB_TESTS, rng.randint(3, 6)):
            self.ids.lab_result += 1
            value, unit, ref, flag = self.lab_value(test)
            status = "P" if visit["visit_status"] == "A" and rng.random() < 0.3 else "F"
            rows.add(
                "lab_result",
                {
                    "result_id": self.ids.lab_result,
                    "order_no": order_no,
                    "patient_id": visit["patient_id"],
                    "visit_id": visit["visit_id"],
                    "test_code": test.code,
                    "result_value": value,
                    "unit": unit,
                    "ref_range": ref,
                    "abnormal_flag": flag,
                    "result_status": status,
                    "collected_at": collected,
                    "modified_at": _seconds(collected + timedelta(minutes=rng.randrange(20, 180))),
                },
            )

    def lab_value(self, test: cat.LabTest) -> tuple[str, str, str, str]:
        """A result as the analyser prints it: text value, local unit, range text, flag."""
        rng = self.rng
        which = 0 if len(test.units) == 1 or rng.random() < 0.6 else 1
        mean, sd, low, high, decimals = (
            test.mean[which],
            test.sd[which],
            test.low[which],
            test.high[which],
            test.decimals[which],
        )
        number = abs(rng.gauss(mean, sd)) or mean
        limit = test.detection_limit
        reference = f"<{high:.{decimals}f}" if low == 0 else f"{low:.{decimals}f}-{high:.{decimals}f}"
        if limit is not None and number < limit:
            return f"<{limit:.{decimals}f}", test.units[which], reference, "N"
        text = f"{number:.{decimals}f}"
        flag = "N"
        if number < low:
            flag = "LL" if number < low * 0.7 else "L"
        elif number > high:
            flag = "HH" if number > high * 1.6 else "H"
        return text, test.units[which], reference, flag

    def prescription(self, rows: Rows, visit: Row, drug_code: str) -> None:
        drug = next(d for d in cat.FORMULARY if d.code == drug_code)
        self.ids.prescription += 1
        start = visit["admit_time"].date()
        if visit["visit_status"] == "A":
            end, status = None, "A"
        else:
            days = self.rng.randint(3, 30) if self.rng.random() < 0.5 else 0
            end = (visit["discharge_time"] or visit["admit_time"]).date() + timedelta(days=days)
            status = "S" if self.rng.random() < 0.1 else "C"
        rows.add(
            "prescription",
            {
                "prescription_id": self.ids.prescription,
                "patient_id": visit["patient_id"],
                "visit_id": visit["visit_id"],
                "drug_code": drug.code,
                "dose_value": drug.dose,
                "dose_unit": drug.unit,
                "route": drug.route,
                "frequency_per_day": self.rng.choice(drug.per_day),
                "start_date": start,
                "end_date": end,
                "rx_status": status,
                "prescriber": visit["attending"],
                "modified_at": visit["modified_at"],
            },
        )
