"""The demo HIS's tables, written with SQLAlchemy Core so one definition fits every database.

Column names follow what hospital systems use (``mrn``, ``visit_status``, ``drug_code``,
``result_value`` stored as text because labs report ``<5``); every table has a
``modified_at`` that the HIS sets on each change, indexed because incremental imports
read by it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
)

metadata = MetaData()

patient = Table(
    "patient",
    metadata,
    Column("patient_id", Integer, primary_key=True, autoincrement=False),
    Column("mrn", String(16), nullable=False, unique=True),
    Column("last_name", String(60), nullable=False),
    Column("first_name", String(60), nullable=False),
    Column("sex", String(1), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("street", String(100)),
    Column("postal_code", String(10)),
    Column("city", String(60)),
    Column("phone", String(30)),
    Column("national_id", String(20)),
    Column("deceased_date", Date),
    Column("created_at", DateTime, nullable=False),
    Column("modified_at", DateTime, nullable=False),
    Index("ix_patient_modified_at", "modified_at"),
)

visit = Table(
    "visit",
    metadata,
    Column("visit_id", Integer, primary_key=True, autoincrement=False),
    Column("patient_id", Integer, ForeignKey("patient.patient_id"), nullable=False),
    Column("visit_type", String(1), nullable=False),
    Column("visit_status", String(1), nullable=False),
    Column("ward", String(10)),
    Column("admit_time", DateTime, nullable=False),
    Column("discharge_time", DateTime),
    Column("admit_weight", Numeric(6, 1)),
    Column("weight_unit", String(5)),
    Column("attending", String(60)),
    Column("modified_at", DateTime, nullable=False),
    Index("ix_visit_modified_at", "modified_at"),
)

diagnosis = Table(
    "diagnosis",
    metadata,
    Column("diagnosis_id", Integer, primary_key=True, autoincrement=False),
    Column("visit_id", Integer, ForeignKey("visit.visit_id"), nullable=False),
    Column("patient_id", Integer, ForeignKey("patient.patient_id"), nullable=False),
    Column("diag_code", String(10), nullable=False),
    Column("diag_type", String(1), nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("modified_at", DateTime, nullable=False),
)

lab_result = Table(
    "lab_result",
    metadata,
    Column("result_id", BigInteger, primary_key=True, autoincrement=False),
    Column("order_no", String(20), nullable=False),
    Column("patient_id", Integer, ForeignKey("patient.patient_id"), nullable=False),
    Column("visit_id", Integer, ForeignKey("visit.visit_id")),
    Column("test_code", String(10), nullable=False),
    Column("result_value", String(20), nullable=False),
    Column("unit", String(12)),
    Column("ref_range", String(30)),
    Column("abnormal_flag", String(2)),
    Column("result_status", String(1), nullable=False),
    Column("collected_at", DateTime, nullable=False),
    Column("modified_at", DateTime, nullable=False),
    Index("ix_lab_result_modified_at", "modified_at"),
)

prescription = Table(
    "prescription",
    metadata,
    Column("prescription_id", Integer, primary_key=True, autoincrement=False),
    Column("patient_id", Integer, ForeignKey("patient.patient_id"), nullable=False),
    Column("visit_id", Integer, ForeignKey("visit.visit_id")),
    Column("drug_code", String(12), nullable=False),
    Column("dose_value", Numeric(8, 2), nullable=False),
    Column("dose_unit", String(8), nullable=False),
    Column("route", String(2), nullable=False),
    Column("frequency_per_day", Integer, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("rx_status", String(1), nullable=False),
    Column("prescriber", String(60)),
    Column("modified_at", DateTime, nullable=False),
    Index("ix_prescription_modified_at", "modified_at"),
)

#: in the order rows must be inserted (references first)
TABLES = (patient, visit, diagnosis, lab_result, prescription)
