"""The demo hospital's local catalogues: what its HIS stores instead of standard codes.

Like a real hospital information system, the demo HIS keeps its own lab test codes,
diagnosis catalogue, formulary and status letters, and reports results in the units its
analysers print (glucose in mg/dL from one, mmol/L from the other). The shipped mapping
``his-demo.yaml`` holds the code tables that turn these into LOINC, ICD-10, ATC and
SNOMED CT; ``tests/sources/database`` checks that every code here has its entry there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabTest:
    """A test as the laboratory reports it: local code, the units its analysers use, a normal range."""

    code: str
    name: str
    units: tuple[str, ...]  # local unit spellings, the first the most common
    mean: tuple[float, ...]  # per unit
    sd: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    decimals: tuple[int, ...]
    detection_limit: float | None = None  # results below it are reported as "<limit"


LAB_TESTS: tuple[LabTest, ...] = (
    LabTest(
        "GLU", "Glucose", ("mmol/l", "mg/dl"), (6.1, 110.0), (1.6, 29.0), (3.9, 70.0), (5.6, 100.0), (1, 0)
    ),
    LabTest(
        "CHOL",
        "Cholesterol",
        ("mg/dl", "mmol/l"),
        (200.0, 5.2),
        (40.0, 1.0),
        (0.0, 0.0),
        (200.0, 5.2),
        (0, 1),
    ),
    LabTest(
        "CREA",
        "Creatinine",
        ("umol/l", "mg/dl"),
        (90.0, 1.0),
        (30.0, 0.35),
        (60.0, 0.7),
        (110.0, 1.2),
        (0, 2),
    ),
    LabTest("HBA1C", "HbA1c", ("%",), (6.3,), (1.2,), (4.0,), (5.7,), (1,)),
    LabTest("HB", "Haemoglobin", ("g/dl",), (13.5,), (1.8,), (12.0,), (17.0,), (1,)),
    LabTest("K", "Potassium", ("mmol/l",), (4.2,), (0.5,), (3.5,), (5.1,), (1,)),
    LabTest("NA", "Sodium", ("mmol/l",), (139.0,), (3.5,), (135.0,), (145.0,), (0,)),
    LabTest("WBC", "Leukocytes", ("10^9/l",), (8.0,), (3.0,), (4.0,), (10.0,), (1,)),
    LabTest(
        "CRP", "C-reactive protein", ("mg/l",), (18.0,), (30.0,), (0.0,), (5.0,), (0,), detection_limit=5.0
    ),
)

#: local diagnosis catalogue code → (ICD-10 code, text); the mapping's ``diagnoses`` table
DIAGNOSES: dict[str, tuple[str, str]] = {
    "DX0101": ("I10", "Essential (primary) hypertension"),
    "DX0102": ("I21.9", "Acute myocardial infarction, unspecified"),
    "DX0103": ("I50.9", "Heart failure, unspecified"),
    "DX0104": ("I48.9", "Atrial fibrillation and atrial flutter, unspecified"),
    "DX0201": ("E11.9", "Type 2 diabetes mellitus without complications"),
    "DX0301": ("J18.9", "Pneumonia, unspecified"),
    "DX0302": ("J44.9", "Chronic obstructive pulmonary disease, unspecified"),
    "DX0303": ("U07.1", "COVID-19, virus identified"),
    "DX0401": ("N39.0", "Urinary tract infection, site not specified"),
    "DX0402": ("N17.9", "Acute renal failure, unspecified"),
    "DX0501": ("S72.0", "Fracture of neck of femur"),
}


@dataclass(frozen=True)
class Drug:
    code: str
    name: str
    atc: str
    dose: float
    unit: str  # local spelling
    route: str  # local route code
    per_day: tuple[int, ...]


FORMULARY: tuple[Drug, ...] = (
    Drug("MET500", "Metformin 500 mg tablet", "A10BA02", 500, "mg", "PO", (2, 3)),
    Drug("RAM5", "Ramipril 5 mg tablet", "C09AA05", 5, "mg", "PO", (1,)),
    Drug("AML5", "Amlodipine 5 mg tablet", "C08CA01", 5, "mg", "PO", (1,)),
    Drug("ATO20", "Atorvastatin 20 mg tablet", "C10AA05", 20, "mg", "PO", (1,)),
    Drug("FUR40", "Furosemide 40 mg tablet", "C03CA01", 40, "mg", "PO", (1, 2)),
    Drug("AMX1G", "Amoxicillin 1 g tablet", "J01CA04", 1, "g", "PO", (3,)),
    Drug("CTX2G", "Ceftriaxone 2 g infusion", "J01DD04", 2, "g", "IV", (1,)),
    Drug("ENX40", "Enoxaparin 40 mg injection", "B01AB05", 40, "mg", "SC", (1,)),
    Drug("INSGL", "Insulin glargine injection", "A10AE04", 12, "IE", "SC", (1,)),
    Drug("PAR1G", "Paracetamol 1 g tablet", "N02BE01", 1, "g", "PO", (3, 4)),
    Drug("APX5", "Apixaban 5 mg tablet", "B01AF02", 5, "mg", "PO", (2,)),
)

#: diagnoses → drugs that are usually prescribed for them (the demo's plausibility)
TREATMENTS: dict[str, tuple[str, ...]] = {
    "DX0101": ("RAM5", "AML5"),
    "DX0102": ("ATO20", "ENX40"),
    "DX0103": ("FUR40", "RAM5"),
    "DX0104": ("APX5",),
    "DX0201": ("MET500", "INSGL"),
    "DX0301": ("AMX1G", "CTX2G", "PAR1G"),
    "DX0302": ("PAR1G",),
    "DX0303": ("PAR1G", "ENX40"),
    "DX0401": ("AMX1G",),
    "DX0402": ("FUR40",),
    "DX0501": ("ENX40", "PAR1G"),
}

SEXES = ("M", "F", "U")
VISIT_TYPES = ("I", "A", "E")  # inpatient, ambulatory, emergency
VISIT_STATUSES = ("A", "D", "X")  # admitted (open), discharged, cancelled
DIAGNOSIS_TYPES = ("A", "D", "S")  # admission (provisional), discharge, secondary
LAB_STATUSES = ("P", "F", "C")  # preliminary, final, corrected
FLAGS = ("N", "L", "H", "LL", "HH")
PRESCRIPTION_STATUSES = ("A", "S", "C")  # active, stopped, completed
WEIGHT_UNITS = ("kg", "lbs")
WARDS = ("CARD", "MED1", "MED2", "SURG", "ORTH", "PULM", "ER")
CITIES = (
    ("Northbridge", "10115"),
    ("Eastham", "10245"),
    ("Westfield", "10317"),
    ("Southport", "10435"),
    ("Riverton", "10557"),
    ("Hillcrest", "10629"),
)
STREETS = (
    "Main Street", "Church Road", "Station Road", "Mill Lane", "Park Avenue", "High Street",
    "Garden Way", "Lake View", "Oak Drive", "Bridge Street", "Market Square", "School Lane",
)  # fmt: skip
DOCTORS = ("Dr. A. Weber", "Dr. M. Chen", "Dr. S. Okafor", "Dr. L. Rossi", "Dr. K. Nowak", "Dr. P. Singh")
